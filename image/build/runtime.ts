// The runtime layer: the official Node binary from npm's `node-linux-<cpu>` package (fetched with
// `npm pack`, checked against the integrity pinned in the recipe), stripped of its debug symbols
// (126 → 108 MB; the dynamic symbols addons link against stay). Its headers (include/node) are
// what the native addons are compiled against.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './exec.js';
import { NODE, type PlatformRecipe } from './recipe.js';
import { Tree } from './tree.js';

export interface NodeRuntime {
  readonly version: string;
  readonly npmPackage: string;
  readonly integrity: string;
  /** Unpacked package: bin/node, include/node, LICENSE. */
  readonly dir: string;
  /** The stripped binary that goes into the image. */
  readonly binary: string;
}

export async function integrityOf(file: string): Promise<string> {
  const hash = createHash('sha512');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return `sha512-${hash.digest('base64')}`;
}

/** The pinned node-linux-<cpu> tarball, from the cache or `npm pack`. */
export async function fetchNodePackage(p: PlatformRecipe, cacheDir: string): Promise<{ file: string; npmPackage: string }> {
  const npmPackage = `node-linux-${p.npmCpu}`;
  const dir = join(cacheDir, 'node');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${npmPackage}-${NODE.version}.tgz`);
  const want = NODE.integrity[p.arch];
  if ((await integrityOf(file).catch(() => null)) === want) return { file, npmPackage };
  const tmp = join(dir, `.pack-${p.arch}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  try {
    await run('npm', ['pack', `${npmPackage}@${NODE.version}`, '--pack-destination', tmp, '--cache', join(cacheDir, 'npm'), '--silent']);
    const [got] = (await readdir(tmp)).filter((n) => n.endsWith('.tgz'));
    if (!got) throw new Error(`npm pack ${npmPackage}@${NODE.version} wrote no tarball`);
    const actual = await integrityOf(join(tmp, got));
    if (actual !== want) throw new Error(`${npmPackage}@${NODE.version}: integrity ${actual} is not the pinned ${want}`);
    await rename(join(tmp, got), file);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return { file, npmPackage };
}

/** Unpacks the package into `workDir/node` and strips the binary into `workDir/node-stripped`. */
export async function prepareNode(p: PlatformRecipe, cacheDir: string, workDir: string): Promise<NodeRuntime> {
  const { file, npmPackage } = await fetchNodePackage(p, cacheDir);
  const dir = join(workDir, 'node');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await run('tar', ['-xzf', file, '-C', dir, '--strip-components=1']);
  const binary = join(workDir, 'node-stripped');
  await rm(binary, { force: true });
  await run(`${p.triplet}-strip`, ['--strip-all', '-o', binary, join(dir, 'bin/node')]);
  return { version: NODE.version, npmPackage, integrity: NODE.integrity[p.arch], dir, binary };
}

export async function runtimeTree(node: NodeRuntime): Promise<Tree> {
  const tree = new Tree();
  const size = (await stat(node.binary)).size;
  tree.hostFile('usr/local/bin/node', node.binary, size, 0o755);
  const license = join(node.dir, 'LICENSE');
  tree.hostFile('usr/local/share/doc/node/LICENSE', license, (await stat(license)).size, 0o644);
  return tree;
}
