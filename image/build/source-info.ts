// What the repo says about the build: revision, SOURCE_DATE_EPOCH (the commit time unless the
// variable is set), the image's source URL, and a stable epoch per layer. A layer's mtime is the
// time of the last commit that touched its inputs (clamped to SOURCE_DATE_EPOCH), not the
// release's: a release that changes only app code leaves the base, runtime and modules layers
// byte-identical, so devices download only the app layer.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './exec.js';
import type { LayerName } from './recipe.js';

const BUILDER = (files: string[]): string[] => files.map((f) => `image/build/${f}`);
const COMMON = ['recipe.ts', 'tree.ts', 'tar.ts', 'layer.ts'];

/** Repo paths each layer's bytes depend on (besides downloaded inputs, which key the cache). */
export const LAYER_INPUTS: Readonly<Record<LayerName, readonly string[]>> = {
  base: BUILDER([...COMMON, 'base.ts', 'debs.ts']),
  runtime: BUILDER([...COMMON, 'runtime.ts', 'node-runtime.json']),
  modules: ['package.json', 'package-lock.json', 'hal/system/sd-notify/native', ...BUILDER([...COMMON, 'modules.ts'])],
  app: [], // everything else: it takes SOURCE_DATE_EPOCH
};

async function git(repo: string, args: string[]): Promise<string | null> {
  try {
    return (await run('git', args, { cwd: repo })).trim();
  } catch {
    return null;
  }
}

export interface SourceInfo {
  readonly version: string;
  readonly revision: string;
  readonly dirty: boolean;
  readonly sourceDateEpoch: number;
  readonly source: string;
  readonly layerEpochs: Readonly<Record<LayerName, number>>;
}

export async function sourceInfo(repo: string, env: NodeJS.ProcessEnv = process.env): Promise<SourceInfo> {
  const pkg = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as { version: string; repository?: string | { url?: string } };
  const revision = (await git(repo, ['rev-parse', 'HEAD'])) ?? 'unknown';
  const dirty = ((await git(repo, ['status', '--porcelain', '--untracked-files=no'])) ?? '') !== '';
  const headTime = Number((await git(repo, ['log', '-1', '--format=%ct'])) ?? NaN);
  const fromEnv = env['SOURCE_DATE_EPOCH'];
  const sourceDateEpoch = fromEnv !== undefined && /^\d+$/.test(fromEnv) ? Number(fromEnv) : Number.isFinite(headTime) ? headTime : 0;
  const repoUrl = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
  const source = env['LUCID_IMAGE_SOURCE'] ?? (await git(repo, ['config', '--get', 'remote.origin.url'])) ?? repoUrl ?? 'unknown';
  const layerEpochs = {} as Record<LayerName, number>;
  for (const [layer, paths] of Object.entries(LAYER_INPUTS) as Array<[LayerName, readonly string[]]>) {
    const t = paths.length === 0 ? NaN : Number((await git(repo, ['log', '-1', '--format=%ct', '--', ...paths])) || NaN);
    layerEpochs[layer] = Number.isFinite(t) ? Math.min(t, sourceDateEpoch) : sourceDateEpoch;
  }
  return { version: pkg.version, revision, dirty, sourceDateEpoch, source, layerEpochs };
}

export function isoTime(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.000Z$/, 'Z');
}
