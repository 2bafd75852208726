// Build-once artifacts of the VM tier under .cache/vm/<name>-<key>/, where the key hashes the
// artifact's recipe: a changed recipe gets a new folder (and the old one of that name is
// removed), an unchanged one is reused by every later run. Test files in parallel workers wait
// on a lock folder while one of them builds; a "done" file marks a finished build, so a build
// killed half-way is redone.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../..', import.meta.url));
export const VM_CACHE = join(REPO, '.cache/vm');

export function recipeKey(...parts: ReadonlyArray<string | Buffer | object>): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(typeof p === 'string' || Buffer.isBuffer(p) ? p : JSON.stringify(p)).update('\0');
  return h.digest('hex').slice(0, 16);
}

export interface Cached<T> {
  readonly dir: string;
  readonly info: T;
  /** True when this call built it (false: found in the cache or built by another worker). */
  readonly built: boolean;
  readonly seconds: number;
}

/** The artifact `name` for `key`, built by `build(dir)` (which returns its info) when missing. */
export async function cached<T>(name: string, key: string, build: (dir: string) => Promise<T>): Promise<Cached<T>> {
  const started = performance.now();
  const dir = join(VM_CACHE, `${name}-${key}`);
  const done = join(dir, 'done.json');
  const lock = `${dir}.lock`;
  await mkdir(VM_CACHE, { recursive: true });
  const seconds = (): number => Math.round((performance.now() - started) / 100) / 10;
  for (;;) {
    if (existsSync(done)) return { dir, info: JSON.parse(await readFile(done, 'utf8')) as T, built: false, seconds: seconds() };
    try {
      await mkdir(lock);
      break;
    } catch {
      const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > 30 * 60_000) await rmdir(lock).catch(() => {});
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const info = await build(dir);
    await writeFile(done, JSON.stringify(info));
    for (const other of await readdir(VM_CACHE)) {
      if (other.startsWith(`${name}-`) && other !== `${name}-${key}` && !other.endsWith('.lock')) await rm(join(VM_CACHE, other), { recursive: true, force: true });
    }
    return { dir, info, built: true, seconds: seconds() };
  } finally {
    await rmdir(lock).catch(() => {});
  }
}
