// Bundles the TypeScript sources into runnable ESM files under dist/:
//   dist/entries/<process>.mjs — one file per appliance/entries/*.ts (npm packages stay external;
//                                helpers shared by entries live in appliance/entries/shared/)
//   dist/lib/tronweb.mjs       — tronweb bundled on its own: the payout process imports it only
//                                when it first builds a transaction (inlined into payout.mjs, its
//                                2.3 MB of source cost ~18 MB of RSS before it was ever used)
//   dist/web/                 — the LAN web UI (index.html, app.js, app.css)
// Used by build.sh (run, test, image) and by the vitest global setup, so every path runs the
// same build. Pure JS, no shell; safe to call repeatedly (it takes ~0.3 s).
import { build } from 'esbuild';
import { readFileSync, mkdirSync, readdirSync, existsSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Packages loaded from node_modules at run time (native code, or files read from their folder). */
export const EXTERNAL = ['classic-level', 'onoff', 'epoll', 'lucid-sd-notify', 'usb'];

/** `import('tronweb')` in an entry loads dist/lib/tronweb.mjs (built below) at run time. */
const lazyTronweb = {
  name: 'lazy-tronweb',
  setup(b) {
    b.onResolve({ filter: /^tronweb$/ }, () => ({ path: '../lib/tronweb.mjs', external: true }));
  },
};

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
export async function bundle({ outDir = join(root, 'dist'), minify = false, quiet = false, sourcemap = 'linked', sourceDateEpoch, metafile = false, version, trustRoot, fleet } = {}) {
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
    plugins: [lazyTronweb],
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
  // tronweb changes only with the lock file: rebuilt then (or for the image, which needs its
  // inputs for the SBOM), not on every run (it is most of the bundling time).
  const libStamp = join(outDir, 'lib', '.stamp');
  const libKey = `${createHash('sha256').update(readFileSync(join(root, 'package-lock.json'))).update(String(sourcemap)).update(String(minify)).digest('hex')}\n`;
  const libFresh = !metafile && existsSync(join(outDir, 'lib', 'tronweb.mjs')) && existsSync(libStamp) && readFileSync(libStamp, 'utf8') === libKey;
  const libResult = libFresh ? null : await buildTo({
    entryPoints: { tronweb: join(root, 'services/payout/tron/tronweb-lib.ts') },
    absWorkingDir: root,
    metafile,
    outdir: join(outDir, 'lib'),
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    banner: { js: "import { createRequire as __lucidCreateRequire } from 'node:module'; const require = __lucidCreateRequire(import.meta.url);" },
    sourcemap,
    minify,
    logLevel: quiet ? 'error' : 'warning',
  });
  if (libResult && !metafile) install(libStamp, libKey);
  for (const input of Object.keys(libResult?.metafile?.inputs ?? {})) inputs.add(input);
  const webSrc = join(root, 'services/api/web');
  if (existsSync(join(webSrc, 'main.ts'))) {
    const webResult = await buildTo({
      // app.js is what every visit loads; pages loaded on demand are entries of their own
    // (services/api/web/lazy.ts).
    entryPoints: { app: join(webSrc, 'main.ts'), payouts: join(webSrc, 'pages/payouts-entry.ts'), updates: join(webSrc, 'pages/updates-entry.ts') },
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
  // The fleet server (ota/server, off-device): dist/fleet/server.mjs and its web UI in
  // dist/fleet/web/. Only into the working dist/ (`./build.sh fleet`, the tests), never into an
  // image's or a test release's app layer: the appliance does not run it.
  if (fleet ?? outDir === join(root, 'dist')) await bundleFleet(join(outDir, 'fleet'), { quiet, sourcemap, minify, pkg, builtAt });
  // The OTA trust anchor: the release repository's root.json (ota/trust/root.json), shipped in
  // the image beside the entries as dist/ota/root.json. Test releases pass their own.
  const rootJson = trustRoot ?? join(root, 'ota/trust/root.json');
  if (existsSync(rootJson)) install(join(outDir, 'ota', 'root.json'), readFileSync(rootJson));
  const ms = Math.round(performance.now() - started);
  if (!quiet) console.error(`bundle: ${entryPoints.length} entries + web UI → ${outDir} in ${ms} ms`);
  return { outDir, ms, inputs: [...inputs].sort() };
}

async function bundleFleet(outDir, { quiet, sourcemap, minify, pkg, builtAt }) {
  const result = await buildTo({
    entryPoints: { server: join(root, 'ota/server/main.ts') },
    absWorkingDir: root,
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    // pg (the PostgreSQL client) lands in a chunk of its own, loaded only with LUCID_FLEET_DATABASE_URL.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    external: [...EXTERNAL, 'pg-native'],
    banner: { js: "import { createRequire as __lucidCreateRequire } from 'node:module'; const require = __lucidCreateRequire(import.meta.url);" },
    sourcemap,
    minify,
    logLevel: quiet ? 'error' : 'warning',
    define: { LUCID_BUILD: JSON.stringify({ version: pkg.version, revision: revision(), builtAt }) },
  });
  const chunkDir = join(outDir, 'chunks');
  const produced = new Set(result.outputFiles.map((f) => f.path));
  for (const name of existsSync(chunkDir) ? readdirSync(chunkDir) : []) {
    if (!produced.has(join(chunkDir, name))) rmSync(join(chunkDir, name), { force: true });
  }
  const webSrc = join(root, 'ota/server/web');
  if (existsSync(join(webSrc, 'main.ts'))) {
    await buildTo({
      entryPoints: { app: join(webSrc, 'main.ts') }, absWorkingDir: root, outdir: join(outDir, 'web'), bundle: true, platform: 'browser',
      target: ['chrome110', 'firefox110', 'safari16'], format: 'esm', minify: true, sourcemap: false, logLevel: quiet ? 'error' : 'warning',
    });
    for (const f of readdirSync(webSrc)) {
      if (f.endsWith('.html') || f.endsWith('.css') || f.endsWith('.svg')) install(join(outDir, 'web', f), readFileSync(join(webSrc, f)));
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await bundle({ minify: process.argv.includes('--minify') });
}
