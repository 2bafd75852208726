// The .debs of the current sources, built once per image fixture (tests/helpers/image-build.ts)
// into <fixture>/deb/ and shared by the package tests (tests/image/deb.test.ts) and the VM tier
// (tests/vm). Workers in parallel wait on a lock folder while one builds.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildDeb, type DebResult } from '../../image/deb/build-deb.js';
import type { Arch } from '../../image/build/recipe.js';
import { ROOT } from './appliance.js';
import { imageBuild, type ImageFixture } from './image-build.js';

export interface DebFixture {
  readonly image: ImageFixture;
  readonly dir: string;
  readonly debs: Readonly<Record<Arch, DebResult>>;
}

let memo: Promise<DebFixture> | null = null;

export function debBuild(): Promise<DebFixture> {
  memo ??= build();
  return memo;
}

async function build(): Promise<DebFixture> {
  const image = await imageBuild();
  const dir = join(image.dir, 'deb');
  const done = join(dir, 'done.json');
  const lock = `${dir}.lock`;
  for (;;) {
    if (existsSync(done)) return { image, dir, debs: JSON.parse(await readFile(done, 'utf8')) as Record<Arch, DebResult> };
    try {
      await mkdir(lock);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  try {
    const debs = {} as Record<Arch, DebResult>;
    const r = image.result;
    for (const arch of ['amd64', 'arm64'] as const) {
      debs[arch] = await buildDeb({
        repo: ROOT, layoutDir: r.layoutDir, version: r.version, revision: r.revision,
        sourceDateEpoch: Math.floor(Date.parse(r.created) / 1000), arch, outDir: dir, workDir: join(image.dir, 'deb-work'),
      });
    }
    await writeFile(done, JSON.stringify(debs));
    return { image, dir, debs };
  } finally {
    await rmdir(lock).catch(() => {});
  }
}
