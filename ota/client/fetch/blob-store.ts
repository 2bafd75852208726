// The content-addressed blob store on the data volume (`<data>/ota/blobs/sha256/<hex>`): layer,
// config and manifest blobs of the installed versions and of a release being fetched. A blob is
// there only once verified (downloads land in `<hex>.part` and are renamed after the digest
// check), so "do I have it" is a stat. Garbage collection keeps what the slots and the current
// job name and removes the rest.
import { mkdir, readdir, rm, stat, statfs } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { LucidError } from '../../../services/common/errors.js';
import { DigestCounter, digestHex, verifyDigest } from '../../shared/oci/digest.js';

export class BlobStore {
  constructor(readonly dir: string) {}

  get blobsDir(): string { return join(this.dir, 'sha256'); }

  async init(): Promise<void> {
    await mkdir(this.blobsDir, { recursive: true });
  }

  path(digest: string): string {
    return join(this.blobsDir, digestHex(digest));
  }

  /** True when the verified blob is present with the expected size. */
  async has(digest: string, size: number): Promise<boolean> {
    return stat(this.path(digest)).then((s) => s.isFile() && s.size === size, () => false);
  }

  /** Bytes of an interrupted download (its `.part` file). */
  async partial(digest: string): Promise<number> {
    return stat(`${this.path(digest)}.part`).then((s) => s.size, () => 0);
  }

  /** Reads a blob and checks it again (blobs we unpack or parse are re-hashed on the way). */
  async readVerified(digest: string, maxBytes: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    const counter = new DigestCounter();
    for await (const chunk of createReadStream(this.path(digest))) {
      counter.update(chunk as Buffer);
      if (counter.bytes > maxBytes) throw new LucidError('OTA_ERR_TOO_LARGE', `blob ${digest} is larger than ${maxBytes} bytes`);
      chunks.push(chunk as Buffer);
    }
    verifyDigest(digest, counter.digest(), `stored blob ${digest}`);
    return Buffer.concat(chunks);
  }

  /** Removes every blob (and partial download) whose digest is not in `keep`. */
  async gc(keep: ReadonlySet<string>): Promise<{ removed: number; bytes: number }> {
    const hexes = new Set([...keep].map((d) => digestHex(d)));
    let removed = 0;
    let bytes = 0;
    for (const name of await readdir(this.blobsDir).catch(() => [] as string[])) {
      const hex = name.replace(/\.part$/, '');
      if (hexes.has(hex)) continue; // kept, or a download of a kept blob to resume
      const p = join(this.blobsDir, name);
      bytes += await stat(p).then((s) => s.size, () => 0);
      await rm(p, { force: true });
      removed++;
    }
    return { removed, bytes };
  }

  async usage(): Promise<number> {
    let total = 0;
    for (const name of await readdir(this.blobsDir).catch(() => [] as string[])) total += await stat(join(this.blobsDir, name)).then((s) => s.size, () => 0);
    return total;
  }
}

/** Free bytes for an unprivileged writer on the file system holding `path`. */
export async function freeBytes(path: string): Promise<number> {
  const s = await statfs(path);
  return s.bavail * s.bsize;
}

/** Throws OTA_ERR_NO_SPACE unless `path`'s file system has `need` bytes plus `reserve` free. */
export async function requireSpace(path: string, need: number, reserve: number, what: string): Promise<void> {
  const free = await freeBytes(path);
  if (free < need + reserve) {
    throw new LucidError('OTA_ERR_NO_SPACE', `${what} needs ${need} bytes (+${reserve} reserve) but ${free} are free on ${path}`, { need, reserve, free, path });
  }
}
