// `./build.sh deb [--arch amd64|arm64] [--out DIR]`: lucid-appliance_<version>_<arch>.deb for
// both platforms (or one) from the OCI image in out/image/ — `./build.sh deb` builds or refreshes
// the image first (its layer cache makes that seconds when only the app changed).
import { readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildResult } from '../build/image.js';
import type { Arch } from '../build/recipe.js';
import { buildDeb } from './build-deb.js';

const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)));

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let arches: Arch[] = ['amd64', 'arm64'];
  let out = join(repo, 'out/deb');
  let image = join(repo, 'out/image');
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--arch') arches = [argv[++i] as Arch];
    else if (a === '--out') out = resolve(argv[++i] ?? '');
    else if (a === '--image') image = resolve(argv[++i] ?? '');
    else throw new Error(`unknown option ${a} (use --arch amd64|arm64, --out DIR, --image DIR)`);
  }
  const build = JSON.parse(await readFile(join(image, 'build.json'), 'utf8')) as BuildResult;
  const work = join(repo, '.cache/deb/work');
  for (const arch of arches) {
    const started = performance.now();
    const r = await buildDeb({
      repo, layoutDir: build.layoutDir, version: build.version, revision: build.revision,
      sourceDateEpoch: Math.floor(Date.parse(build.created) / 1000), arch, outDir: out, workDir: work,
      ...(process.env['LUCID_DEB_MAINTAINER'] ? { maintainer: process.env['LUCID_DEB_MAINTAINER'] } : {}),
    });
    console.log(`${r.file}  ${(r.size / 1048576).toFixed(1)} MiB  sha256:${r.sha256}  (image ${r.manifest.slice(0, 19)}, ${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
  await rm(work, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(`[deb] failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exit(1);
});
