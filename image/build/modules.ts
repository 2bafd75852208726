// The production node_modules for one target arch, holding only what dist/ cannot bundle
// (image/bundle.mjs EXTERNAL: native addons and their dependencies). `npm ci --ignore-scripts
// --cpu --os --libc` installs the locked tree for the target without running any host build;
// the addons without a prebuilt binary for it are then compiled (cross-compiled for arm64)
// against the headers of the Node 24 that runs them, and stripped. Every .node file is checked
// to be an ELF for the target machine, so a new native dependency cannot slip in unbuilt.
import { cp, mkdir, open, readFile, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { run } from './exec.js';
import { BINARY_PACKAGE_PREFIX, BUILD_ONLY_PACKAGES, NATIVE_ADDONS, type PlatformRecipe } from './recipe.js';
import type { NodeRuntime } from './runtime.js';
import { Tree, type HostFilter } from './tree.js';

export interface NpmPackage {
  readonly name: string;
  readonly version: string;
  readonly license: string | null;
  /** Lock path, e.g. `node_modules/epoll` (where it sits under /app). */
  readonly path: string;
  readonly native: 'prebuilt' | 'compile' | null;
}

interface LockEntry {
  version?: string; license?: string; link?: boolean; resolved?: string;
  dependencies?: Record<string, string>; optionalDependencies?: Record<string, string>;
}

/** Where Node would resolve `dep` from the package at `from` (both lock paths). */
export function resolveInLock(packages: Record<string, LockEntry>, from: string, dep: string): string | null {
  let base = from;
  for (;;) {
    const candidate = base === '' ? `node_modules/${dep}` : `${base}/node_modules/${dep}`;
    if (packages[candidate]) return candidate;
    if (base === '') return null;
    const idx = base.lastIndexOf('/node_modules/');
    base = idx === -1 ? '' : base.slice(0, idx);
  }
}

/** The lock paths of `roots` and everything they depend on (links followed). */
export function closure(packages: Record<string, LockEntry>, roots: readonly string[]): string[] {
  const seen = new Set<string>();
  const visit = (path: string): void => {
    if (seen.has(path)) return;
    seen.add(path);
    const entry = packages[path]!;
    const real = entry.link && entry.resolved ? entry.resolved : path;
    const deps = { ...packages[real]?.dependencies, ...packages[real]?.optionalDependencies };
    for (const dep of Object.keys(deps)) {
      const found = resolveInLock(packages, path, dep);
      if (found) visit(found);
    }
  };
  for (const root of roots) {
    const found = resolveInLock(packages, '', root);
    if (!found) throw new Error(`${root} (an EXTERNAL of image/bundle.mjs) is not in the production install`);
    visit(found);
  }
  return [...seen].sort();
}

/**
 * The repo's lock cut down to the EXTERNAL packages and their dependencies (same versions, same
 * integrity hashes), with a root that depends on just those: `npm ci` then fetches and unpacks
 * 19 packages instead of the 71 of the whole production tree, most of which dist/ bundles.
 */
export function trimLock(lock: { name: string; version: string; packages: Record<string, LockEntry> }, external: readonly string[]): {
  manifest: Record<string, unknown>; lock: { name: string; version: string; lockfileVersion: 3; requires: true; packages: Record<string, LockEntry> };
} {
  const paths = closure(lock.packages, external);
  const packages: Record<string, LockEntry> = {};
  const root = lock.packages[''] ?? {};
  const pick = (deps: Record<string, string> | undefined): Record<string, string> =>
    Object.fromEntries(Object.entries(deps ?? {}).filter(([name]) => paths.includes(`node_modules/${name}`)));
  const rootEntry = { name: lock.name, version: lock.version, dependencies: pick(root.dependencies), optionalDependencies: pick(root.optionalDependencies) };
  packages[''] = rootEntry;
  for (const path of paths) {
    const entry = lock.packages[path]!;
    packages[path] = entry;
    if (entry.link && entry.resolved) packages[entry.resolved] = lock.packages[entry.resolved]!;
  }
  return { manifest: rootEntry, lock: { name: lock.name, version: lock.version, lockfileVersion: 3, requires: true, packages } };
}

export interface InstalledModules {
  readonly stageDir: string;
  readonly packages: NpmPackage[];
  /** Host folder of each package (links resolved). */
  readonly hostDirs: ReadonlyMap<string, string>;
}

export async function installModules(
  repo: string, p: PlatformRecipe, node: NodeRuntime, external: readonly string[], workDir: string, cacheDir: string,
): Promise<InstalledModules> {
  const stageDir = join(workDir, 'modules');
  await rm(stageDir, { recursive: true, force: true });
  await mkdir(stageDir, { recursive: true });
  const rootLock = JSON.parse(await readFile(join(repo, 'package-lock.json'), 'utf8')) as { name: string; version: string; packages: Record<string, LockEntry> };
  const trimmed = trimLock(rootLock, external);
  await writeFile(join(stageDir, 'package.json'), JSON.stringify(trimmed.manifest, null, 2));
  await writeFile(join(stageDir, 'package-lock.json'), JSON.stringify(trimmed.lock, null, 2));
  // `file:` dependencies (our sd_notify addon) are installed as links to their folder.
  for (const entry of Object.values(trimmed.lock.packages)) {
    if (entry.link && entry.resolved) {
      const from = join(repo, entry.resolved);
      // Sources only: a host build/ (x64, Node 20) must not reach the image.
      await cp(from, join(stageDir, entry.resolved), { recursive: true, filter: (src) => !/\/(build|node_modules)(\/|$)/.test(src.slice(from.length)) });
    }
  }
  await run('npm', [
    'ci', '--omit=dev', '--ignore-scripts', `--cpu=${p.npmCpu}`, '--os=linux', '--libc=glibc',
    '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', '--cache', join(cacheDir, 'npm'),
  ], { cwd: stageDir });
  const hidden = JSON.parse(await readFile(join(stageDir, 'node_modules/.package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const kept = closure(hidden.packages, external).filter((path) => !BUILD_ONLY_PACKAGES.includes(packageName(path)));
  const packages: NpmPackage[] = [];
  const hostDirs = new Map<string, string>();
  for (const path of kept) {
    const dir = await realpath(join(stageDir, path));
    const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { name: string; version: string; license?: unknown };
    const native = NATIVE_ADDONS[pkg.name] ?? null;
    if (native === 'compile') await compileAddon(dir, p, node, workDir);
    packages.push({ name: pkg.name, version: pkg.version, license: typeof pkg.license === 'string' ? pkg.license : null, path, native });
    hostDirs.set(path, dir);
  }
  return { stageDir, packages, hostDirs };
}

function packageName(lockPath: string): string {
  const idx = lockPath.lastIndexOf('node_modules/');
  return lockPath.slice(idx + 'node_modules/'.length);
}

/**
 * node-gyp against the target Node's headers with the target's (cross) compiler. File paths are
 * mapped to fixed prefixes so the binary does not depend on where the repo is checked out.
 */
async function compileAddon(dir: string, p: PlatformRecipe, node: NodeRuntime, workDir: string): Promise<void> {
  const gyp = await nodeGypPath();
  const prefixMaps = `-ffile-prefix-map=${dir}=/build/addon -ffile-prefix-map=${node.dir}=/build/node -ffile-prefix-map=${workDir}=/build`;
  const env = {
    CC: `${p.triplet}-gcc`, CXX: `${p.triplet}-g++`, LINK: `${p.triplet}-g++`, AR: `${p.triplet}-ar`,
    CFLAGS: prefixMaps, CXXFLAGS: prefixMaps,
    // node-gyp would otherwise look for (and maybe download) headers of the host's Node.
    npm_config_nodedir: node.dir,
  };
  await run(process.execPath, [gyp, 'rebuild', `--arch=${p.npmCpu}`, `--nodedir=${node.dir}`, '--release'], { cwd: dir, env });
  const out = join(dir, 'build/Release');
  for (const name of (await readdir(out)).filter((n) => n.endsWith('.node'))) {
    await run(`${p.triplet}-strip`, ['--strip-unneeded', join(out, name)]);
  }
}

let gypPath: string | null = null;
/** npm's own node-gyp (every npm ships one), so the build needs no extra package. */
async function nodeGypPath(): Promise<string> {
  if (gypPath) return gypPath;
  // The npm on PATH may belong to another Node than the one running this build (build.sh runs
  // the pinned runtime with the host's npm), so look beside npm's own files first.
  const npmCli = await realpath((await run('sh', ['-c', 'command -v npm'])).trim()).catch(() => null);
  const globalRoot = (await run('npm', ['root', '-g'])).trim();
  const candidates = [
    ...(npmCli ? [join(dirname(npmCli), '../node_modules/node-gyp/bin/node-gyp.js')] : []),
    join(globalRoot, 'npm/node_modules/node-gyp/bin/node-gyp.js'),
    join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
  ];
  for (const c of candidates) {
    if (await readFile(c).then(() => true, () => false)) return (gypPath = c);
  }
  throw new Error(`node-gyp not found (looked in ${candidates.join(', ')})`);
}

/**
 * What of a package goes into the image: no docs, tests, sources, other platforms' binaries, or
 * command-line tools (`bin` scripts: nothing in the image runs them, and their `#!/usr/bin/env`
 * could not run anyway).
 */
export function moduleFilter(p: PlatformRecipe, native: boolean, bins: ReadonlySet<string> = new Set()): HostFilter {
  return (rel, isDir) => {
    const top = rel.split('/')[0]!;
    if (isDir) {
      if (rel === 'node_modules') return false; // nested packages are added on their own
      if (['test', 'tests', '__tests__', 'integration-test', '.github', 'example', 'examples', 'benchmark', 'benchmarks', 'bench', 'docs', 'coverage'].includes(rel)) return false;
      if (native && (rel === 'deps' || rel === 'src')) return false;
      if (top === 'build') return rel === 'build' || rel === 'build/Release';
      if (top === 'prebuilds') return rel === 'prebuilds' || rel.split('/')[1] === `linux-${p.npmCpu}`;
      return true;
    }
    const base = posix.basename(rel);
    if (bins.has(rel)) return false;
    if (top === 'build') return /^build\/Release\/[^/]+\.node$/.test(rel);
    if (top === 'prebuilds') return !base.includes('.musl.');
    if (/^(LICEN[CS]E|COPYING|NOTICE)/i.test(base)) return true;
    if (/\.(md|markdown|d\.ts|d\.mts|d\.cts|map|tsbuildinfo)$/i.test(base)) return false;
    if (native && /\.(gyp|gypi|cc|cpp|c|h|hpp)$/.test(base)) return false;
    return true;
  };
}

export async function modulesTree(installed: InstalledModules, p: PlatformRecipe, appDir: string): Promise<Tree> {
  const tree = new Tree();
  for (const pkg of installed.packages) {
    const dir = installed.hostDirs.get(pkg.path)!;
    await tree.addHost(dir, `${appDir}/${pkg.path}`, moduleFilter(p, pkg.native !== null, await binScripts(dir)));
  }
  await checkNativeBinaries(tree, p);
  return tree;
}

/** The package's `bin` files (normalised relative paths), unless one is also its `main`. */
async function binScripts(dir: string): Promise<Set<string>> {
  const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { bin?: string | Record<string, string>; main?: string };
  const bins = typeof pkg.bin === 'string' ? [pkg.bin] : Object.values(pkg.bin ?? {});
  const main = posix.normalize(pkg.main ?? 'index.js');
  return new Set(bins.map((b) => posix.normalize(b)).filter((b) => b !== main));
}

/** Every .node file (and only those) must be an ELF shared object for the target machine. */
export async function checkNativeBinaries(tree: Tree, p: PlatformRecipe): Promise<string[]> {
  const found: string[] = [];
  for (const [path, entry] of tree.entries) {
    if (entry.kind !== 'file' || !path.endsWith('.node') || !entry.source) continue;
    const machine = await elfMachine(entry.source);
    if (machine !== p.elfMachine) throw new Error(`${path} is for ELF machine ${machine}, not ${p.arch} (${p.elfMachine})`);
    found.push(path);
  }
  for (const [name, how] of Object.entries(NATIVE_ADDONS)) {
    const where = `/node_modules/${BINARY_PACKAGE_PREFIX[name] ?? `${name}/`}`;
    if (!found.some((f) => f.includes(where))) throw new Error(`no ${p.arch} binary for ${name} (${how})`);
  }
  return found;
}

/** ELF e_machine, or -1 when the file is not a 64-bit little-endian ELF. */
export async function elfMachine(file: string): Promise<number> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(20);
    await handle.read(head, 0, 20, 0);
    if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1) return -1;
    return head.readUInt16LE(18);
  } finally {
    await handle.close();
  }
}
