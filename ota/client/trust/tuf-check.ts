// One TUF refresh (tuf-js 5.0.1): a new Updater per cycle (trap T2), the trust time injected into
// its private store (T-clock: there is no option; a test fails if the field moves), the cached
// target looked up before downloading (T5), and tuf-js's wrapped errors turned into our codes
// (T1). Sources: an HTTP repository (LUCID_OTA_URL) or an offline bundle (bundle-fetcher.ts).
import { readFile } from 'node:fs/promises';
import { Updater, BaseFetcher, type TargetFile } from 'tuf-js';
import { LucidError } from '../../../services/common/errors.js';
import { parseReleaseDoc, releaseTargetPath, type ReleaseDoc } from '../../shared/release/release-doc.js';
import { keepGoodCopies, prepareTrust, trustPaths } from './trust-store.js';
import { TimeFloor, trustTimeMs } from './time-floor.js';

export const SIGNED_AT = 'x-lucid-signed-at';

export interface TufSource {
  readonly metadataBaseUrl: string;
  readonly targetBaseUrl: string;
  /** A custom fetcher (bundles); the default fetches over HTTP with global fetch. */
  readonly fetcher?: BaseFetcher;
}

export interface TufCheckOptions {
  /** `<data>/ota/tuf`. */
  readonly dir: string;
  readonly shippedRoot: Buffer;
  readonly floor: TimeFloor;
  readonly channel: string;
  readonly source: TufSource;
  readonly clock?: () => number;
  readonly fetchTimeoutMs?: number;
}

export interface TufResult {
  readonly doc: ReleaseDoc;
  readonly bytes: Buffer;
  readonly trustTime: number;
  readonly floor: number;
  readonly rootVersion: number;
  readonly repaired: readonly string[];
}

interface StoreInternals {
  referenceTime: Date;
  root: { signed: { roles: Record<string, { keyIDs: string[] }> } };
  timestamp?: { signed: { unrecognizedFields: Record<string, unknown>; version: number } };
}

/** tuf-js keeps its reference time in a private field of its store: reach it, or fail loudly. */
export function storeOf(updater: Updater): StoreInternals {
  const store = (updater as unknown as { trustedSet?: StoreInternals }).trustedSet;
  if (!store || !(store.referenceTime instanceof Date)) {
    throw new Error('tuf-js internals changed: Updater.trustedSet.referenceTime is gone (pin tuf-js 5.0.1 or adapt tuf-check.ts)');
  }
  return store;
}

export async function checkRelease(options: TufCheckOptions): Promise<TufResult> {
  const clock = options.clock ?? Date.now;
  const paths = trustPaths(options.dir);
  const { repaired } = await prepareTrust(paths, options.shippedRoot);
  const updater = new Updater({
    metadataDir: paths.metadataDir,
    metadataBaseUrl: options.source.metadataBaseUrl,
    targetDir: paths.targetsDir,
    targetBaseUrl: options.source.targetBaseUrl,
    ...(options.source.fetcher ? { fetcher: options.source.fetcher } : {}),
    config: { fetchTimeout: options.fetchTimeoutMs ?? 30_000, fetchRetries: 1 },
  });
  const store = storeOf(updater);
  const timestampKeys = (): string[] => [...(store.root.signed.roles['timestamp']?.keyIDs ?? [])].sort();
  const floorBefore = await options.floor.effective(timestampKeys());
  const trustTime = trustTimeMs(clock(), floorBefore);
  store.referenceTime = new Date(trustTime);
  let info: TargetFile | undefined;
  try {
    await updater.refresh();
    info = await updater.getTargetInfo(releaseTargetPath(options.channel));
  } catch (err) {
    throw classify(err, { trustTime, clock: clock() });
  }
  // Metadata verified: keep it durably, and let its signing time move the floor forward.
  await keepGoodCopies(paths);
  const signedAt = Date.parse(String(store.timestamp?.signed.unrecognizedFields[SIGNED_AT] ?? ''));
  const floor = Number.isFinite(signedAt) ? await options.floor.advance(signedAt / 1000, timestampKeys()) : floorBefore;
  if (!info) throw new LucidError('OTA_ERR_NO_RELEASE', `the repository has no release for channel ${options.channel}`, { channel: options.channel });
  let path: string;
  try {
    path = (await updater.findCachedTarget(info)) ?? (await updater.downloadTarget(info));
  } catch (err) {
    throw classify(err, { trustTime, clock: clock() });
  }
  const bytes = await readFile(path);
  const doc = parseReleaseDoc(bytes);
  if (doc.channel !== options.channel) throw new LucidError('OTA_ERR_BAD_RELEASE', `the ${options.channel} target names channel ${doc.channel}`);
  return { doc, bytes, trustTime, floor, rootVersion: (store.root as unknown as { signed: { version: number } }).signed.version, repaired };
}

/** tuf-js wraps most failures in RuntimeError with the cause in the message (trap T1). */
export function classify(err: unknown, at: { trustTime: number; clock: number }): LucidError {
  if (err instanceof LucidError) return err;
  const name = err instanceof Error ? err.constructor.name : 'Error';
  const message = err instanceof Error ? err.message : String(err);
  const text = `${name}: ${message}`;
  const details = { tuf: text.slice(0, 500), trustTime: new Date(at.trustTime).toISOString(), clock: new Date(at.clock).toISOString() };
  if (/expired/i.test(text)) {
    return new LucidError('OTA_ERR_METADATA_EXPIRED', 'release metadata expired — check the clock', details);
  }
  if (/BadVersionError|less than current version|Expected version|is less than|version .* rollback/i.test(text)) {
    return new LucidError('OTA_ERR_ROLLBACK', `release metadata older than what this device already trusts (${message.slice(0, 200)})`, details);
  }
  if (/Max length reached|DownloadLengthMismatch/i.test(text)) {
    return new LucidError('OTA_ERR_TOO_LARGE', `release metadata larger than allowed (${message.slice(0, 200)})`, details);
  }
  if (/DownloadHTTPError|fetch failed|ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EHOSTUNREACH|AbortError|TimeoutError|timed? ?out|socket/i.test(text)) {
    return new LucidError('OTA_ERR_UNREACHABLE', `release repository unreachable (${message.slice(0, 200)})`, details);
  }
  return new LucidError('OTA_ERR_UNTRUSTED', `release metadata does not verify (${message.slice(0, 300)})`, details);
}
