// Built layers kept between builds under a key of everything their bytes depend on (downloaded
// inputs' hashes, the builder code that makes them, their mtime). A hit copies the stored blob
// into the layout; `./build.sh image --verify` builds without it to prove the layers reproduce.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { OciLayout } from '../../ota/shared/oci/index.js';
import type { BuiltLayer } from './layer.js';

export async function hashFiles(repo: string, paths: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const p of [...paths].sort()) {
    hash.update(`${p}\0`);
    hash.update(await readFile(join(repo, p)).catch(() => Buffer.from('<missing>')));
  }
  return hash.digest('hex');
}

export function cacheKey(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

export class LayerCache {
  constructor(private readonly dir: string, readonly enabled: boolean) {}

  /** The cached layer (copied into the layout) and its metadata, or null. */
  async restore<M>(key: string, layout: OciLayout): Promise<{ layer: BuiltLayer; meta: M } | null> {
    if (!this.enabled) return null;
    let entry: { layer: BuiltLayer; meta: M };
    try {
      entry = JSON.parse(await readFile(join(this.dir, `${key}.json`), 'utf8')) as { layer: BuiltLayer; meta: M };
    } catch {
      return null;
    }
    const digest = entry.layer.descriptor.digest;
    if (!(await layout.hasBlob(digest))) {
      const tmp = `${layout.blobPath(digest)}.${randomBytes(4).toString('hex')}.tmp`;
      try {
        await copyFile(join(this.dir, `${key}.blob`), tmp);
      } catch {
        return null;
      }
      await layout.adoptBlob(tmp, digest);
    }
    // A damaged cache entry must not become a damaged image.
    try {
      await layout.verifyBlobFile(digest);
    } catch {
      return null;
    }
    const now = new Date();
    await utimes(join(this.dir, `${key}.json`), now, now).catch(() => {});
    return entry;
  }

  /** Forgets entries not used for `maxAgeDays` (each runtime layer is ~40 MiB). */
  async prune(maxAgeDays = 14): Promise<void> {
    if (!this.enabled) return;
    const cutoff = Date.now() - maxAgeDays * 86_400_000;
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      if (!name.endsWith('.json')) continue;
      const st = await stat(join(this.dir, name)).catch(() => null);
      if (st && st.mtimeMs < cutoff) {
        const key = name.slice(0, -'.json'.length);
        await rm(join(this.dir, `${key}.json`), { force: true });
        await rm(join(this.dir, `${key}.blob`), { force: true });
      }
    }
  }

  async store<M>(key: string, layout: OciLayout, layer: BuiltLayer, meta: M): Promise<void> {
    if (!this.enabled) return;
    await mkdir(this.dir, { recursive: true });
    const suffix = randomBytes(4).toString('hex');
    await copyFile(layout.blobPath(layer.descriptor.digest), join(this.dir, `${key}.blob.${suffix}`));
    await rename(join(this.dir, `${key}.blob.${suffix}`), join(this.dir, `${key}.blob`));
    await writeFile(join(this.dir, `${key}.json.${suffix}`), JSON.stringify({ layer, meta }));
    await rename(join(this.dir, `${key}.json.${suffix}`), join(this.dir, `${key}.json`));
  }
}
