// A streaming tar reader: entries one by one from an async byte source (a gunzip stream, a file),
// bodies streamed, never the whole archive in memory. It reads ustar, pax extended headers
// (path, linkpath, size, uid, gid, mtime) and GNU long names, checks every header's checksum and
// bounds every metadata record, so a hostile archive fails with a coded error instead of making
// us allocate or loop without end. What an entry's path may do is the unpacker's business.
import { LucidError } from '../../../services/common/errors.js';

const BLOCK = 512;
/** Bounds for metadata records (pax headers, GNU long names): generous for real archives. */
const MAX_META_BYTES = 1024 * 1024;

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';

export interface TarHeader {
  readonly path: string;
  readonly type: TarEntryType;
  /** The raw typeflag character ('0', '5', '3' …), for messages about `other`. */
  readonly typeflag: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtime: number;
  readonly linkname: string;
}

/** Pulls exact byte counts out of an async iterable of chunks. */
class ByteReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private buffer: Buffer = Buffer.alloc(0);
  private done = false;
  /** Bytes consumed so far (for messages). */
  offset = 0;

  constructor(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
    this.iterator = Symbol.asyncIterator in source
      ? source[Symbol.asyncIterator]()
      : (async function* () { yield* source; })();
  }

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const next = await this.iterator.next();
    if (next.done) {
      this.done = true;
      return false;
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    return true;
  }

  /** Exactly n bytes, or fewer only at the end of the source. */
  async read(n: number): Promise<Buffer> {
    while (this.buffer.length < n && (await this.fill()));
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(out.length);
    this.offset += out.length;
    return out;
  }

  /** The next n bytes as chunks, as they arrive. */
  async *stream(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buffer.length === 0 && !(await this.fill())) throw truncated(this.offset);
      const take = this.buffer.subarray(0, Math.min(left, this.buffer.length));
      this.buffer = this.buffer.subarray(take.length);
      this.offset += take.length;
      left -= take.length;
      yield take;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.stream(n)) { /* discard */ }
  }

  async close(): Promise<void> {
    await this.iterator.return?.();
  }
}

function truncated(offset: number): LucidError {
  return new LucidError('OTA_ERR_BAD_TAR', `tar archive ends in the middle of an entry (at byte ${offset})`);
}

function field(buf: Buffer, offset: number, length: number): string {
  const raw = buf.subarray(offset, offset + length);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul === -1 ? length : nul).toString('utf8');
}

function number(buf: Buffer, offset: number, length: number, what: string): number {
  if ((buf[offset]! & 0x80) !== 0) {
    // GNU base-256; only non-negative values that fit a safe integer.
    let v = 0;
    for (let i = offset + 1; i < offset + length; i++) v = v * 256 + buf[i]!;
    if ((buf[offset]! & 0x40) !== 0 || !Number.isSafeInteger(v)) throw new LucidError('OTA_ERR_BAD_TAR', `tar header: ${what} out of range`);
    return v;
  }
  const s = field(buf, offset, length).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new LucidError('OTA_ERR_BAD_TAR', `tar header: ${what} is not octal: ${JSON.stringify(s.slice(0, 20))}`);
  return parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return sum === number(h, 148, 8, 'checksum');
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    const len = space === -1 ? NaN : Number(data.subarray(pos, space).toString('ascii'));
    if (!Number.isSafeInteger(len) || len <= space - pos || pos + len > data.length) {
      throw new LucidError('OTA_ERR_BAD_TAR', 'malformed pax extended header');
    }
    const record = data.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}

function paxNumber(pax: Record<string, string>, key: string, fallback: number): number {
  const v = pax[key];
  if (v === undefined) return fallback;
  const n = Number(v.split('.')[0]);
  if (!Number.isSafeInteger(n) || n < 0) throw new LucidError('OTA_ERR_BAD_TAR', `pax ${key} is not a non-negative integer`);
  return n;
}

const TYPES: Readonly<Record<string, TarEntryType>> = { '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '5': 'dir' };

export interface TarEntry extends TarHeader {
  /** The entry's bytes; must be consumed (or `skip`ped) before asking for the next entry. */
  body(): AsyncGenerator<Buffer>;
}

/**
 * Entries of a tar stream in order. The body of each must be read (or left alone: it is skipped
 * when the next entry is requested) before the next one.
 */
export async function* readTarEntries(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<TarEntry> {
  const reader = new ByteReader(source);
  let pax: Record<string, string> = {};
  let longName: string | null = null;
  let longLink: string | null = null;
  try {
    for (;;) {
      const h = await reader.read(BLOCK);
      if (h.length === 0) return; // no end-of-archive blocks: tolerated, like GNU tar
      if (h.length < BLOCK) throw truncated(reader.offset);
      if (h.every((b) => b === 0)) return;
      if (!checksumOk(h)) throw new LucidError('OTA_ERR_BAD_TAR', `tar header checksum mismatch at byte ${reader.offset - BLOCK}`);
      const typeflag = String.fromCharCode(h[156]!);
      let size = number(h, 124, 12, 'size');
      const padded = Math.ceil(size / BLOCK) * BLOCK;
      if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
        if (size > MAX_META_BYTES) throw new LucidError('OTA_ERR_BAD_TAR', `tar metadata record of ${size} bytes`);
        const data = await reader.read(padded);
        if (data.length < padded) throw truncated(reader.offset);
        const body = data.subarray(0, size);
        if (typeflag === 'x') pax = { ...pax, ...parsePax(body) };
        else if (typeflag === 'L') longName = field(body, 0, body.length);
        else if (typeflag === 'K') longLink = field(body, 0, body.length);
        continue;
      }
      size = paxNumber(pax, 'size', size);
      const prefix = h.subarray(257, 263).toString('latin1') === 'ustar\0' ? field(h, 345, 155) : '';
      const name = pax['path'] ?? longName ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
      const header: TarHeader = {
        path: name,
        type: TYPES[typeflag] ?? 'other',
        typeflag,
        mode: number(h, 100, 8, 'mode') & 0o7777,
        uid: paxNumber(pax, 'uid', number(h, 108, 8, 'uid')),
        gid: paxNumber(pax, 'gid', number(h, 116, 8, 'gid')),
        size: TYPES[typeflag] === 'file' ? size : 0,
        mtime: paxNumber(pax, 'mtime', number(h, 136, 12, 'mtime')),
        linkname: pax['linkpath'] ?? longLink ?? field(h, 157, 100),
      };
      pax = {};
      longName = null;
      longLink = null;
      // Bodies of links and directories are ignored (they should be empty); a file's is streamed.
      // Whatever the consumer leaves unread is skipped when it asks for the next entry.
      let remaining = Math.ceil(size / BLOCK) * BLOCK;
      let started = false;
      const body = async function* (): AsyncGenerator<Buffer> {
        if (started) throw new Error('tar entry body read twice');
        started = true;
        for await (const chunk of reader.stream(size)) {
          remaining -= chunk.length;
          yield chunk;
        }
      };
      yield { ...header, body };
      await reader.skip(remaining);
    }
  } finally {
    await reader.close();
  }
}
