// The image, built once per test run and shared by every test file of tests/image (and the
// size benchmark): kept under .cache/image/test/<key>, where the key hashes every input the
// image is made of (sources, lock file, builder) and the commit. Test files in parallel workers
// wait on a lock folder while one of them builds. Downloads and unchanged base/runtime/modules
// layers come from the builder's own cache, so a source change costs a few seconds.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildImage, type BuildResult } from '../../image/build/image.js';
import { ROOT } from './appliance.js';

export const CACHE_DIR = join(ROOT, '.cache/image');
const TEST_DIR = join(CACHE_DIR, 'test');
const INPUT_DIRS = ['appliance', 'services', 'hal', 'ota', 'image', 'package.json', 'package-lock.json'];

export interface ImageFixture {
  readonly key: string;
  readonly dir: string;
  readonly result: BuildResult;
  /** Seconds this call waited for (or spent on) the build. */
  readonly waitedSeconds: number;
}

function inputsKey(): string {
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '--', ...INPUT_DIRS], { cwd: ROOT }).toString().split('\n').filter(Boolean).sort();
  const hash = createHash('sha256');
  hash.update(execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT }).toString());
  hash.update(process.env['SOURCE_DATE_EPOCH'] ?? '');
  for (const f of files) {
    if (!existsSync(join(ROOT, f)) || !statSync(join(ROOT, f)).isFile()) continue;
    hash.update(`${f}\0`).update(readFileSync(join(ROOT, f)));
  }
  return hash.digest('hex').slice(0, 20);
}

async function sleep(ms: number): Promise<void> { await new Promise((r) => setTimeout(r, ms)); }

let memo: Promise<ImageFixture> | null = null;

/** The built image for the current sources (building it if no test run has yet). */
export function imageBuild(): Promise<ImageFixture> {
  memo ??= build();
  return memo;
}

async function build(): Promise<ImageFixture> {
  const started = performance.now();
  const key = inputsKey();
  const dir = join(TEST_DIR, key);
  const done = join(dir, 'done.json');
  const lock = `${dir}.lock`;
  await mkdir(TEST_DIR, { recursive: true });
  for (;;) {
    if (existsSync(done)) {
      const result = JSON.parse(await readFile(done, 'utf8')) as BuildResult;
      return { key, dir, result, waitedSeconds: Math.round((performance.now() - started) / 100) / 10 };
    }
    try {
      await mkdir(lock);
      break;
    } catch {
      // Another worker builds; a lock older than 20 minutes is from a killed run.
      const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > 20 * 60_000) await rmdir(lock).catch(() => {});
      await sleep(500);
    }
  }
  try {
    await rm(dir, { recursive: true, force: true });
    const result = await buildImage({
      repo: ROOT, outDir: join(dir, 'out'), cacheDir: CACHE_DIR, workDir: join(dir, 'work'),
      log: (m) => process.stderr.write(`[image fixture] ${m}\n`),
    });
    await rm(join(dir, 'work'), { recursive: true, force: true });
    await writeFile(done, JSON.stringify(result));
    await pruneOld(key);
    return { key, dir, result, waitedSeconds: Math.round((performance.now() - started) / 100) / 10 };
  } finally {
    await rmdir(lock).catch(() => {});
  }
}

/** Keeps this build and the newest other one (each is ~500 MB with the unpacked root file systems). */
async function pruneOld(current: string): Promise<void> {
  const entries = await Promise.all((await readdir(TEST_DIR)).filter((n) => !n.endsWith('.lock') && n !== current)
    .map(async (n) => ({ n, t: (await stat(join(TEST_DIR, n))).mtimeMs })));
  for (const { n } of entries.sort((a, b) => b.t - a.t).slice(1)) await rm(join(TEST_DIR, n), { recursive: true, force: true });
}

/**
 * The platform's root filesystem unpacked by umoci (an independent reader of our layout), once
 * per build. Read-only use only: tests bind it read-only and give the appliance its own /data.
 */
export async function unpackedRootfs(fixture: ImageFixture, arch: 'amd64' | 'arm64'): Promise<string> {
  const bundle = join(fixture.dir, `bundle-${arch}`);
  const marker = join(fixture.dir, `bundle-${arch}.done`);
  const lock = `${bundle}.lock`;
  for (;;) {
    if (existsSync(marker)) return join(bundle, 'rootfs');
    try {
      await mkdir(lock);
      break;
    } catch {
      await sleep(300);
    }
  }
  try {
    await rm(bundle, { recursive: true, force: true });
    execFileSync('umoci', ['unpack', '--image', `${fixture.result.layoutDir}:${fixture.result.version}-${arch}`, bundle], { stdio: 'pipe' });
    await writeFile(marker, '');
    return join(bundle, 'rootfs');
  } finally {
    await rmdir(lock).catch(() => {});
  }
}
