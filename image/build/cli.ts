// `./build.sh image [--verify] [--no-cache] [--platform amd64|arm64] [--out DIR]`
// Builds the multi-arch OCI image into out/image/ (layout oci/, the .oci.tar archive, SBOMs,
// build.json). --verify builds a second time from scratch (no layer cache, fresh scratch space)
// and fails unless every digest, and so the index digest, is identical.
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImage, type BuildResult } from './image.js';
import type { Arch } from './recipe.js';

const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)));

function parseArgs(argv: readonly string[]): { verify: boolean; cache: boolean; platforms?: Arch[]; out: string } {
  const args = { verify: false, cache: true, platforms: undefined as Arch[] | undefined, out: join(repo, 'out/image') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--verify') args.verify = true;
    else if (a === '--no-cache') args.cache = false;
    else if (a === '--platform') args.platforms = [...(args.platforms ?? []), argv[++i] as Arch];
    else if (a === '--out') args.out = resolve(argv[++i] ?? '');
    else throw new Error(`unknown option ${a} (use --verify, --no-cache, --platform amd64|arm64, --out DIR)`);
  }
  return args;
}

const mib = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;

function summary(r: BuildResult): string {
  const lines = [`image ${r.version} (${r.revision.slice(0, 12)}${r.dirty ? ', dirty tree' : ''}), created ${r.created}, built in ${r.seconds} s`, `index ${r.index.digest}`];
  for (const p of r.platforms) {
    const total = p.layers.reduce((s, l) => s + l.descriptor.size, 0);
    const raw = p.layers.reduce((s, l) => s + l.tarSize, 0);
    lines.push(`  ${p.arch}: manifest ${p.manifest.digest}  ${mib(total)} compressed, ${mib(raw)} uncompressed`);
    for (const l of p.layers) lines.push(`    ${l.name.padEnd(8)} ${l.descriptor.digest.slice(0, 19)}  ${mib(l.descriptor.size).padStart(9)}  ${mib(l.tarSize).padStart(9)}  ${l.files} files${l.cached ? '  (cached)' : ''}`);
    lines.push(`    sbom     ${p.sbomManifest.digest.slice(0, 19)}  (CycloneDX, subject ${p.manifest.digest.slice(0, 19)})`);
  }
  lines.push(`layout  ${r.layoutDir}`);
  if (r.archive) lines.push(`archive ${r.archive}`);
  return lines.join('\n');
}

/** Every blob digest a build produced, by role, for comparing two builds. */
function digests(r: BuildResult): Record<string, string> {
  const out: Record<string, string> = { index: r.index.digest };
  for (const p of r.platforms) {
    out[`${p.arch}/manifest`] = p.manifest.digest;
    out[`${p.arch}/config`] = p.config.digest;
    out[`${p.arch}/sbom`] = p.sbom.digest;
    for (const l of p.layers) out[`${p.arch}/${l.name}`] = l.descriptor.digest;
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const log = (m: string): void => { process.stderr.write(`[image] ${((performance.now() - t0) / 1000).toFixed(1).padStart(5)} s  ${m}\n`); };
  const cacheDir = join(repo, '.cache/image');
  const first = await buildImage({
    repo, outDir: args.out, cacheDir, workDir: join(cacheDir, 'work'), layerCache: args.cache,
    ...(args.platforms ? { platforms: args.platforms } : {}), log,
  });
  console.log(summary(first));
  // Scratch (unpacked Node packages, staged node_modules: ~600 MB) is rebuilt by every build.
  await rm(join(cacheDir, 'work'), { recursive: true, force: true });
  if (!args.verify) return;
  log('verify: building again from scratch (no layer cache, fresh scratch folder)');
  const again = join(cacheDir, 'verify');
  await rm(again, { recursive: true, force: true });
  const second = await buildImage({
    repo, outDir: join(again, 'out'), cacheDir, workDir: join(again, 'work'), layerCache: false, archive: false,
    ...(args.platforms ? { platforms: args.platforms } : {}), log,
  });
  const a = digests(first);
  const b = digests(second);
  const differing = Object.keys(a).filter((k) => a[k] !== b[k]);
  if (differing.length > 0) {
    for (const k of differing) console.error(`  ${k}: ${a[k]} ≠ ${b[k]}`);
    throw new Error(`not reproducible: ${differing.length} digest(s) differ (second build kept in ${again})`);
  }
  await rm(again, { recursive: true, force: true });
  console.log(`verified: a second build from scratch gave the same ${Object.keys(a).length} digests (index ${first.index.digest})`);
}

main().catch((err: unknown) => {
  console.error(`[image] failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exit(1);
});
