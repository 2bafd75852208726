// Fetching one release's image for this device: its platform's manifest chain and only the blobs
// the store lacks. Everything is checked against the signed release document before use: the
// index must name the signed manifest, the manifest must list exactly the signed config and
// layers, the config must be for this architecture. Free space is checked before the first byte.
import { writeFileAtomic } from '../../../services/common/fs-atomic.js';
import { LucidError } from '../../../services/common/errors.js';
import { MEDIA_TYPE, sha256Digest, verifyDigest, type ImageConfig, type ImageIndex, type ImageManifest } from '../../shared/oci/index.js';
import type { ReleaseDoc, ReleasePlatform } from '../../shared/release/release-doc.js';
import { requireSpace, type BlobStore } from './blob-store.js';
import type { ImageSource } from './sources.js';

export interface FetchProgress {
  /** Bytes of the missing blobs that are on disk now (resumed bytes included). */
  readonly done: number;
  /** Bytes of the blobs that were missing when the fetch planned. */
  readonly total: number;
}

export interface FetchResult {
  /** Bytes received over the source this time (manifests included, resumed bytes not). */
  readonly transferred: number;
  readonly skipped: number;
  readonly config: ImageConfig;
}

function badRelease(message: string): LucidError {
  return new LucidError('OTA_ERR_BAD_RELEASE', message);
}

/** Bytes this platform still needs from the source (what "progress" counts toward). */
export async function missingBytes(store: BlobStore, platform: ReleasePlatform): Promise<{ missing: number; total: number }> {
  let missing = 0;
  for (const b of [platform.config, ...platform.layers]) if (!(await store.has(b.digest, b.size))) missing += b.size;
  return { missing, total: platform.downloadBytes + platform.config.size };
}

async function manifestBlob(store: BlobStore, source: ImageSource, digest: string, size: number, signal?: AbortSignal): Promise<{ bytes: Buffer; fetched: number }> {
  if (await store.has(digest, size)) return { bytes: await store.readVerified(digest, size), fetched: 0 };
  const bytes = await source.manifest(digest, size, signal);
  verifyDigest(digest, sha256Digest(bytes), `manifest ${digest}`);
  if (bytes.length !== size) throw badRelease(`manifest ${digest} is ${bytes.length} bytes, the release says ${size}`);
  await writeFileAtomic(store.path(digest), bytes);
  return { bytes, fetched: bytes.length };
}

export async function fetchImage(
  store: BlobStore, source: ImageSource, doc: ReleaseDoc, platform: ReleasePlatform,
  options: { signal?: AbortSignal; reserveBytes: number; onProgress?: (p: FetchProgress) => void },
): Promise<FetchResult> {
  await store.init();
  let transferred = 0;
  const index = await manifestBlob(store, source, doc.image.digest, doc.image.size, options.signal);
  transferred += index.fetched;
  const indexDoc = JSON.parse(index.bytes.toString('utf8')) as ImageIndex;
  if (indexDoc.mediaType !== MEDIA_TYPE.index || !Array.isArray(indexDoc.manifests)) throw badRelease('the signed image is not an OCI index');
  const named = indexDoc.manifests.find((m) => m.digest === platform.manifest.digest);
  if (!named || named.size !== platform.manifest.size || named.platform?.architecture !== platform.architecture) {
    throw badRelease(`the image index does not name the signed ${platform.architecture} manifest`);
  }
  const manifest = await manifestBlob(store, source, platform.manifest.digest, platform.manifest.size, options.signal);
  transferred += manifest.fetched;
  const m = JSON.parse(manifest.bytes.toString('utf8')) as ImageManifest;
  const same = (a: { digest: string; size: number }, b: { digest: string; size: number }): boolean => a.digest === b.digest && a.size === b.size;
  if (!same(m.config, platform.config) || m.layers.length !== platform.layers.length || m.layers.some((l, i) => !same(l, platform.layers[i]!) || l.mediaType !== platform.layers[i]!.mediaType)) {
    throw badRelease(`manifest ${platform.manifest.digest} differs from the signed release`);
  }

  const blobs = [platform.config, ...platform.layers];
  const missing = [];
  for (const b of blobs) if (!(await store.has(b.digest, b.size))) missing.push(b);
  const total = missing.reduce((s, b) => s + b.size, 0);
  let partial = 0;
  for (const b of missing) partial += await store.partial(b.digest);
  await requireSpace(store.dir, total - partial, options.reserveBytes, 'the download');
  let done = 0;
  options.onProgress?.({ done: 0, total });
  for (const b of missing) {
    const { resumedFrom } = await source.blob(b.digest, b.size, store.path(b.digest), {
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (bytes) => options.onProgress?.({ done: done + bytes, total }),
    });
    transferred += b.size - resumedFrom;
    done += b.size;
    options.onProgress?.({ done, total });
  }
  const config = JSON.parse((await store.readVerified(platform.config.digest, platform.config.size)).toString('utf8')) as ImageConfig;
  if (config.architecture !== platform.architecture || config.os !== platform.os) {
    throw new LucidError('OTA_ERR_NO_PLATFORM', `the ${platform.architecture} image's config says ${config.os}/${config.architecture}`);
  }
  if (config.rootfs?.diff_ids?.length !== platform.layers.length) throw badRelease('the image config\'s diff_ids do not match its layers');
  return { transferred, skipped: blobs.length - missing.length, config };
}
