// The offline bundle: one uncompressed tar (layers are gzipped already) holding everything a
// device needs to verify and install one release without a network:
//   bundle.json                          {schema, channel, version, created, platforms}
//   metadata/<n>.root.json …             every root version, so any device can walk the chain
//   metadata/timestamp.json, metadata/<v>.snapshot.json, metadata/<v>.targets.json
//   targets/<channel>/<sha256>.release.json
//   blobs/sha256/<hex>                   the image index, and per platform manifest, config, layers
// The device never unpacks it: it indexes the tar headers and reads entries in place, so the
// bundle costs its own size on disk, once. Its metadata goes through TUF, its blobs through
// the same digest checks as a download (bundle.json is informational only, never trusted).
import { open } from 'node:fs/promises';
import { createReadStream, type ReadStream } from 'node:fs';
import { LucidError } from '../../../services/common/errors.js';

export const BUNDLE_SCHEMA = 'lucid-bundle/1';
export const BUNDLE_SUFFIX = '.lucid-bundle';

export interface BundleInfo {
  readonly schema: typeof BUNDLE_SCHEMA;
  readonly channel: string;
  readonly version: string;
  readonly created: string;
  readonly platforms: readonly string[];
}

interface Entry { readonly offset: number; readonly size: number }

function bad(file: string, message: string): LucidError {
  return new LucidError('OTA_ERR_BAD_BUNDLE', `${file}: ${message}`);
}

/** A bundle file, indexed: entries are read in place by offset. */
export class BundleReader {
  private constructor(readonly file: string, private readonly entries: ReadonlyMap<string, Entry>) {}

  static async open(file: string, limits: { maxEntries?: number } = {}): Promise<BundleReader> {
    const maxEntries = limits.maxEntries ?? 10_000;
    const entries = new Map<string, Entry>();
    const handle = await open(file, 'r');
    try {
      const { size: total } = await handle.stat();
      const h = Buffer.alloc(512);
      let pos = 0;
      for (;;) {
        if (pos + 512 > total) throw bad(file, 'ends without the end-of-archive marker (truncated upload?)');
        await handle.read(h, 0, 512, pos);
        if (h.every((b) => b === 0)) break;
        let sum = 0;
        for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
        const stored = parseInt(h.subarray(148, 156).toString('ascii').replace(/\0.*$/s, '').trim(), 8);
        if (sum !== stored) throw bad(file, `tar header checksum mismatch at byte ${pos}`);
        const str = (o: number, n: number): string => { const r = h.subarray(o, o + n); const z = r.indexOf(0); return r.subarray(0, z === -1 ? n : z).toString('utf8'); };
        const size = parseInt(str(124, 12).trim() || '0', 8);
        if (!Number.isSafeInteger(size) || size < 0) throw bad(file, `bad entry size at byte ${pos}`);
        const prefix = str(345, 155);
        const name = prefix ? `${prefix}/${str(0, 100)}` : str(0, 100);
        const type = String.fromCharCode(h[156]!);
        const offset = pos + 512;
        pos = offset + Math.ceil(size / 512) * 512;
        if (pos > total) throw bad(file, `entry ${name} runs past the end of the file`);
        if (type === '0' || type === '\0') {
          if (entries.size >= maxEntries) throw bad(file, `more than ${maxEntries} entries`);
          entries.set(name.replace(/^\.\//, ''), { offset, size });
        } else if (type !== '5') {
          throw bad(file, `unexpected entry type ${JSON.stringify(type)} (${name})`);
        }
      }
    } finally {
      await handle.close();
    }
    return new BundleReader(file, entries);
  }

  has(path: string): boolean {
    return this.entries.has(path);
  }

  size(path: string): number | null {
    return this.entries.get(path)?.size ?? null;
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** A (small) entry into memory; OTA_ERR_BAD_BUNDLE when it is larger than `maxBytes`. */
  async read(path: string, maxBytes: number): Promise<Buffer | null> {
    const e = this.entries.get(path);
    if (!e) return null;
    if (e.size > maxBytes) throw new LucidError('OTA_ERR_TOO_LARGE', `${path} in the bundle is ${e.size} bytes (at most ${maxBytes})`);
    const handle = await open(this.file, 'r');
    try {
      const buf = Buffer.alloc(e.size);
      if (e.size > 0) await handle.read(buf, 0, e.size, e.offset);
      return buf;
    } finally {
      await handle.close();
    }
  }

  /** An entry as a stream of its bytes (the caller checks its digest). */
  stream(path: string): ReadStream | null {
    const e = this.entries.get(path);
    if (!e) return null;
    return createReadStream(this.file, e.size === 0 ? { start: 1, end: 0 } : { start: e.offset, end: e.offset + e.size - 1 });
  }

  async info(): Promise<BundleInfo> {
    const raw = await this.read('bundle.json', 64 * 1024);
    if (!raw) throw bad(this.file, 'no bundle.json: not a Lucid bundle');
    const info = JSON.parse(raw.toString('utf8')) as BundleInfo;
    if (info.schema !== BUNDLE_SCHEMA) throw bad(this.file, `schema is not ${BUNDLE_SCHEMA}`);
    return info;
  }
}
