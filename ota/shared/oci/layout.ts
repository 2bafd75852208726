// An OCI image layout on disk (`oci-layout`, `index.json`, `blobs/sha256/<hex>`): what the image
// builder writes, what skopeo/umoci read, and where a device can keep pulled releases. Blobs are
// written once under their digest (temp file + rename) and verified when read.
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { LucidError } from '../../../services/common/errors.js';
import { DigestCounter, digestHex, sha256Digest, verifyDigest } from './digest.js';
import { MEDIA_TYPE, canonicalJson, type Descriptor, type ImageIndex } from './types.js';

export const LAYOUT_FILE = 'oci-layout';
export const LAYOUT_VERSION = { imageLayoutVersion: '1.0.0' } as const;

export class OciLayout {
  constructor(readonly dir: string) {}

  blobPath(digest: string): string {
    return join(this.dir, 'blobs', 'sha256', digestHex(digest));
  }

  /** Creates the folder, `oci-layout` and an empty index unless they exist. */
  async init(): Promise<void> {
    await mkdir(join(this.dir, 'blobs', 'sha256'), { recursive: true });
    await writeFile(join(this.dir, LAYOUT_FILE), JSON.stringify(LAYOUT_VERSION));
    const exists = await stat(join(this.dir, 'index.json')).then(() => true, () => false);
    if (!exists) await this.writeIndex({ schemaVersion: 2, mediaType: MEDIA_TYPE.index, manifests: [] });
  }

  async hasBlob(digest: string): Promise<boolean> {
    return stat(this.blobPath(digest)).then(() => true, () => false);
  }

  /** Stores bytes under their digest; returns a descriptor of `mediaType`. */
  async writeBlob(bytes: Buffer | string, mediaType: string, extra: Partial<Descriptor> = {}): Promise<Descriptor> {
    const data = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    const digest = sha256Digest(data);
    const path = this.blobPath(digest);
    if (!(await this.hasBlob(digest))) {
      const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(tmp, data);
      await rename(tmp, path);
    }
    return { mediaType, digest, size: data.length, ...extra };
  }

  /** Stores a JSON document in canonical form (sorted keys): same content, same digest. */
  async writeJson(value: unknown, mediaType: string, extra: Partial<Descriptor> = {}): Promise<Descriptor> {
    return this.writeBlob(canonicalJson(value), mediaType, extra);
  }

  /** Moves a finished file (e.g. a gzipped layer written by a stream) into place under `digest`. */
  async adoptBlob(file: string, digest: string): Promise<void> {
    if (await this.hasBlob(digest)) {
      await unlink(file);
      return;
    }
    await rename(file, this.blobPath(digest));
  }

  /** Reads a blob and checks it against its digest. */
  async readBlob(digest: string): Promise<Buffer> {
    const bytes = await readFile(this.blobPath(digest)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new LucidError('OCI_ERR_NOT_FOUND', `blob ${digest} is not in ${this.dir}`);
      throw err;
    });
    verifyDigest(digest, sha256Digest(bytes), `blob ${digest} in ${this.dir}`);
    return bytes;
  }

  async readJson<T>(digest: string): Promise<T> {
    return JSON.parse((await this.readBlob(digest)).toString('utf8')) as T;
  }

  /** Hashes a (possibly large) blob file without holding it in memory. */
  async verifyBlobFile(digest: string): Promise<number> {
    const counter = new DigestCounter();
    for await (const chunk of createReadStream(this.blobPath(digest))) counter.update(chunk as Buffer);
    verifyDigest(digest, counter.digest(), `blob ${digest} in ${this.dir}`);
    return counter.bytes;
  }

  async readIndex(): Promise<ImageIndex> {
    return JSON.parse(await readFile(join(this.dir, 'index.json'), 'utf8')) as ImageIndex;
  }

  async writeIndex(index: ImageIndex): Promise<void> {
    const path = join(this.dir, 'index.json');
    const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(canonicalJson(index));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  }

  /** The descriptor in index.json named `ref` (annotation org.opencontainers.image.ref.name). */
  async resolve(ref: string): Promise<Descriptor> {
    const index = await this.readIndex();
    const found = index.manifests.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === ref || d.digest === ref);
    if (!found) throw new LucidError('OCI_ERR_NOT_FOUND', `no manifest named ${ref} in ${this.dir}`);
    return found;
  }
}
