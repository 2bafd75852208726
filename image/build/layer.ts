// One tree → one gzipped layer blob in an OCI layout, hashing both sides on the way: the
// compressed digest names the blob, the uncompressed one is the config's diff_id. node:zlib at a
// fixed level writes a fixed gzip header (mtime 0, no name, OS unix), so the same tar always gives
// the same bytes on this build of Node.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform } from 'node:stream';
import { createGzip, constants } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { DigestCounter, MEDIA_TYPE, type Descriptor, type OciLayout } from '../../ota/shared/oci/index.js';
import { tarStream } from './tar.js';
import type { Tree } from './tree.js';

export const GZIP_LEVEL = 9;

export interface BuiltLayer {
  readonly name: string;
  readonly descriptor: Descriptor;
  readonly diffId: string;
  /** Bytes of the uncompressed tar. */
  readonly tarSize: number;
  readonly files: number;
}

function tap(counter: DigestCounter): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      counter.update(chunk);
      done(null, chunk);
    },
  });
}

export async function writeLayer(layout: OciLayout, name: string, tree: Tree, mtime: number): Promise<BuiltLayer> {
  const tarCounter = new DigestCounter();
  const gzCounter = new DigestCounter();
  const tmpDir = join(layout.dir, 'blobs', 'sha256');
  await mkdir(tmpDir, { recursive: true });
  const tmp = join(tmpDir, `.layer-${name}-${randomBytes(4).toString('hex')}.tmp`);
  await pipeline(
    Readable.from(tarStream(tree, mtime), { objectMode: false }),
    tap(tarCounter),
    createGzip({ level: GZIP_LEVEL, memLevel: 9, strategy: constants.Z_DEFAULT_STRATEGY }),
    tap(gzCounter),
    createWriteStream(tmp),
  );
  const digest = gzCounter.digest();
  await layout.adoptBlob(tmp, digest);
  let files = 0;
  for (const e of tree.entries.values()) if (e.kind === 'file') files++;
  return {
    name,
    descriptor: { mediaType: MEDIA_TYPE.layerGzip, digest, size: gzCounter.bytes },
    diffId: tarCounter.digest(),
    tarSize: tarCounter.bytes,
    files,
  };
}
