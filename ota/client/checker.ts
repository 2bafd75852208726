// Looking for a release: the online repository (LUCID_OTA_URL) and offline bundles (uploaded, or
// found in LUCID_OTA_BUNDLE_DIR, e.g. a USB stick). Both go through the same TUF check against
// the same trusted metadata, so a bundle cannot roll the device back behind what it saw online.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LucidError } from '../../services/common/errors.js';
import { digestHex } from '../shared/oci/index.js';
import { BUNDLE_SUFFIX, BundleReader } from '../shared/release/bundle-format.js';
import { platformFor, type ReleaseDoc } from '../shared/release/release-doc.js';
import { compareVersions } from '../shared/release/version.js';
import { bundleSource, httpSource } from './trust/bundle-fetcher.js';
import { checkRelease, type TufResult } from './trust/tuf-check.js';
import type { TimeFloor } from './trust/time-floor.js';
import type { Available, JobSource } from './state.js';

export interface CheckerDeps {
  readonly tufDir: string;
  readonly shippedRoot: () => Promise<Buffer>;
  readonly floor: TimeFloor;
  readonly channel: string;
  readonly arch: string;
  readonly now: () => number;
}

export interface CheckOutcome {
  readonly found: Available[];
  readonly errors: LucidError[];
  readonly trust: { clock: number; floor: number } | null;
}

async function tuf(deps: CheckerDeps, source: ReturnType<typeof httpSource>): Promise<TufResult> {
  return checkRelease({ dir: deps.tufDir, shippedRoot: await deps.shippedRoot(), floor: deps.floor, channel: deps.channel, source, clock: deps.now });
}

/** Verifies a bundle file: its metadata through TUF, and that it holds this device's blobs. */
export async function verifyBundle(deps: CheckerDeps, path: string): Promise<{ release: ReleaseDoc; trust: TufResult }> {
  const bundle = await BundleReader.open(path);
  await bundle.info().catch((err: unknown) => { throw err instanceof LucidError ? err : new LucidError('OTA_ERR_BAD_BUNDLE', `${path}: bundle.json unreadable`); });
  const result = await tuf(deps, bundleSource(bundle));
  const platform = platformFor(result.doc, deps.arch);
  const missing = [result.doc.image.digest, platform.manifest.digest, platform.config.digest, ...platform.layers.map((l) => l.digest)]
    .filter((d) => !bundle.has(`blobs/sha256/${digestHex(d)}`));
  if (missing.length > 0) {
    throw new LucidError('OTA_ERR_NO_PLATFORM', `the bundle of ${result.doc.version} lacks ${missing.length} blobs of the linux/${deps.arch} image`, { missing: missing.slice(0, 5) });
  }
  return { release: result.doc, trust: result };
}

async function bundlesIn(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const files = await Promise.all(names.filter((n) => n.endsWith(BUNDLE_SUFFIX)).map(async (n) => ({ p: join(dir, n), t: await stat(join(dir, n)).then((s) => s.mtimeMs, () => 0) })));
  return files.sort((a, b) => b.t - a.t).slice(0, 5).map((f) => f.p);
}

export async function checkAll(deps: CheckerDeps, where: { url: string | null; bundleDir: string | null }): Promise<CheckOutcome> {
  const found: Available[] = [];
  const errors: LucidError[] = [];
  let trust: CheckOutcome['trust'] = null;
  const note = (release: ReleaseDoc, source: JobSource, t: TufResult): void => {
    found.push({ release, source, foundAt: deps.now(), missingBytes: null });
    trust = { clock: deps.now(), floor: t.floor };
  };
  const fail = (err: unknown): void => {
    errors.push(err instanceof LucidError ? err : new LucidError('OTA_ERR_UNTRUSTED', String(err)));
  };
  if (where.url) {
    try {
      const t = await tuf(deps, httpSource(where.url));
      note(t.doc, { kind: 'online' }, t);
    } catch (err) {
      fail(err);
    }
  }
  if (where.bundleDir) {
    for (const path of await bundlesIn(where.bundleDir)) {
      try {
        const v = await verifyBundle(deps, path);
        note(v.release, { kind: 'bundle', path }, v.trust);
      } catch (err) {
        fail(err);
      }
    }
  }
  return { found, errors, trust };
}

/** The release to offer: the newest found, a bundle winning a tie (nothing to download). */
export function best(found: readonly Available[]): Available | null {
  let out: Available | null = null;
  for (const a of found) {
    if (!out) { out = a; continue; }
    const c = compareVersions(a.release.version, out.release.version);
    if (c > 0 || (c === 0 && a.source.kind === 'bundle' && out.source.kind !== 'bundle')) out = a;
  }
  return out;
}
