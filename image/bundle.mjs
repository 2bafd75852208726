// Bundles the TypeScript sources into runnable ESM files under dist/:
//   dist/entries/<process>.mjs — one file per appliance/entries/*.ts (npm packages stay external;
//                                helpers shared by entries live in appliance/entries/shared/)
//   dist/web/                 — the LAN web UI (index.html, app.js, app.css)
// Used by build.sh (run, test, image) and by the vitest global setup, so every path runs the
// same build. Pure JS, no shell; safe to call repeatedly (it takes ~0.3 s).
import { build } from 'esbuild';
import { readFileSync, mkdirSync, readdirSync, existsSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Packages loaded from node_modules at run time (native code, or files read from their folder). */
export const EXTERNAL = ['classic-level', 'onoff', 'epoll', 'lucid-sd-notify', 'usb'];

function revision() {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'unknown';
  }
}

// Outputs replace files atomically (temp + rename) and only when their content changed, so a
// rebuild never hands a half-written entry to a process tree that is running from dist/.
function install(path, contents) {
  if (existsSync(path) && Buffer.compare(readFileSync(path), Buffer.from(contents)) === 0) return;
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, path);
}

async function buildTo(options) {
  const result = await build({ ...options, write: false });
  for (const file of result.outputFiles) install(file.path, file.contents);
  return result;
}

/**
 * Options: `outDir`, `minify`, `quiet`; `version` (default package.json's; test releases set
 * it), `trustRoot` (the TUF root.json to ship, default ota/trust/root.json when it exists);
 * `sourcemap` (default 'linked'; the image builder passes
 * false); `sourceDateEpoch` (seconds; default the SOURCE_DATE_EPOCH variable) fixes `builtAt`;
 * `metafile: true` also returns `inputs`, every source file bundled (repo-relative), from which
 * the image's SBOM learns which npm packages are inside dist/.
 */
export async function bundle({ outDir = join(root, 'dist'), minify = false, quiet = false, sourcemap = 'linked', sourceDateEpoch, metafile = false, version, trustRoot } = {}) {
  const started = performance.now();
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  if (version) pkg.version = version;
  const epoch = sourceDateEpoch ?? process.env.SOURCE_DATE_EPOCH;
  const builtAt = epoch ? new Date(Number(epoch) * 1000).toISOString() : 'dev';
  const inputs = new Set();
  const entriesDir = join(root, 'appliance/entries');
  const entryPoints = readdirSync(entriesDir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(entriesDir, f));
  const entriesResult = await buildTo({
    entryPoints,
    absWorkingDir: root,
    metafile,
    outdir: join(outDir, 'entries'),
    outExtension: { '.js': '.mjs' },
    // Code shared by entries, and code an entry loads with import(), goes into chunks/: the OTA
    // agent idles on its small entry and loads TUF, the registry client and the unpacker only
    // when it checks or installs (its idle RSS is a budget; `./build.sh bench ota`).
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    // Pure-JS packages are bundled (tree-shaken, one file to load: less memory and a faster
    // start on a Pi); native addons and packages that read their own files at run time stay
    // external and come from node_modules.
    external: EXTERNAL,
    banner: { js: "import { createRequire as __lucidCreateRequire } from 'node:module'; const require = __lucidCreateRequire(import.meta.url);" },
    sourcemap,
    minify,
    logLevel: quiet ? 'error' : 'warning',
    define: { LUCID_BUILD: JSON.stringify({ version: pkg.version, revision: revision(), builtAt }) },
  });
  for (const input of Object.keys(entriesResult.metafile?.inputs ?? {})) inputs.add(input);
  // Chunks are named by content: drop the ones no longer produced (a dev dist/ is rebuilt in place).
  const chunkDir = join(outDir, 'entries', 'chunks');
  const produced = new Set(entriesResult.outputFiles.map((f) => f.path));
  for (const name of existsSync(chunkDir) ? readdirSync(chunkDir) : []) {
    if (!produced.has(join(chunkDir, name))) rmSync(join(chunkDir, name), { force: true });
  }
  const webSrc = join(root, 'services/api/web');
  if (existsSync(join(webSrc, 'main.ts'))) {
    const webResult = await buildTo({
      entryPoints: { app: join(webSrc, 'main.ts') },
      absWorkingDir: root,
      metafile,
      outdir: join(outDir, 'web'),
      bundle: true,
      platform: 'browser',
      target: ['chrome110', 'firefox110', 'safari16'],
      format: 'esm',
      minify: true,
      sourcemap: false,
      logLevel: quiet ? 'error' : 'warning',
    });
    for (const input of Object.keys(webResult.metafile?.inputs ?? {})) inputs.add(input);
    for (const f of readdirSync(webSrc)) {
      if (f.endsWith('.html') || f.endsWith('.css') || f.endsWith('.svg')) install(join(outDir, 'web', f), readFileSync(join(webSrc, f)));
    }
  }
  // The OTA trust anchor: the release repository's root.json (ota/trust/root.json), shipped in
  // the image beside the entries as dist/ota/root.json. Test releases pass their own.
  const rootJson = trustRoot ?? join(root, 'ota/trust/root.json');
  if (existsSync(rootJson)) install(join(outDir, 'ota', 'root.json'), readFileSync(rootJson));
  const ms = Math.round(performance.now() - started);
  if (!quiet) console.error(`bundle: ${entryPoints.length} entries + web UI → ${outDir} in ${ms} ms`);
  return { outDir, ms, inputs: [...inputs].sort() };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await bundle({ minify: process.argv.includes('--minify') });
}
