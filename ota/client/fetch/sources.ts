// Where a release's image bytes come from: an OCI registry (online) or an offline bundle. Both
// hand out blobs by digest only, each checked against its digest and size while it streams, and
// written durably under its digest — the install path after this point is the same for both.
import { open, rename, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LucidError } from '../../../services/common/errors.js';
import { fsyncDir } from '../../../services/common/fs-atomic.js';
import { DigestCounter, RegistryClient, digestHex, verifyDigest } from '../../shared/oci/index.js';
import type { BundleReader } from '../../shared/release/bundle-format.js';
import type { ReleaseSource } from '../../shared/release/release-doc.js';

export interface FetchOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (bytesOnDisk: number) => void;
}

export interface ImageSource {
  readonly describe: string;
  /** A manifest or index by digest, at most `maxBytes`, verified. */
  manifest(digest: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer>;
  /** A blob by digest into `path` (via `<path>.part`, resumable), verified and fsynced. */
  blob(digest: string, size: number, path: string, options?: FetchOptions): Promise<{ resumedFrom: number }>;
}

export function registrySource(source: ReleaseSource, timeoutMs = 30_000): ImageSource {
  const client = new RegistryClient({ registry: source.registry, repository: source.repository, timeoutMs });
  return {
    describe: `${source.registry}/${source.repository}`,
    async manifest(digest, maxBytes, signal) {
      try {
        return (await client.getManifest(digest, { maxBytes, ...(signal ? { signal } : {}) })).bytes;
      } catch (err) {
        throw mapRegistryError(err);
      }
    },
    async blob(digest, size, path, options = {}) {
      try {
        return await client.downloadBlob(digest, size, path, options);
      } catch (err) {
        throw mapRegistryError(err);
      }
    },
  };
}

function mapRegistryError(err: unknown): unknown {
  if (err instanceof LucidError && err.code === 'OCI_ERR_HTTP') {
    return new LucidError('OTA_ERR_UNREACHABLE', err.message, err.details, { cause: err });
  }
  return err;
}

/** Blobs out of an offline bundle, copied into the store with the same checks as a download. */
export function bundleImageSource(bundle: BundleReader): ImageSource {
  const entry = (digest: string): string => `blobs/sha256/${digestHex(digest)}`;
  return {
    describe: bundle.file,
    async manifest(digest, maxBytes) {
      const bytes = await bundle.read(entry(digest), maxBytes);
      if (!bytes) throw new LucidError('OTA_ERR_BAD_BUNDLE', `the bundle lacks ${digest}`, { digest });
      const counter = new DigestCounter();
      counter.update(bytes);
      verifyDigest(digest, counter.digest(), `bundle entry ${digest}`);
      return bytes;
    },
    async blob(digest, size, path, options = {}) {
      const have = bundle.size(entry(digest));
      if (have === null) throw new LucidError('OTA_ERR_BAD_BUNDLE', `the bundle lacks ${digest}`, { digest });
      if (have !== size) throw new LucidError('OTA_ERR_SIZE_MISMATCH' as never, `bundle entry ${digest} is ${have} bytes, the release says ${size}`);
      const part = `${path}.part`;
      const counter = new DigestCounter();
      const handle = await open(part, 'w');
      try {
        for await (const chunk of bundle.stream(entry(digest))!) {
          const buf = chunk as Buffer;
          if (options.signal?.aborted) throw options.signal.reason;
          await handle.write(buf);
          counter.update(buf);
          options.onProgress?.(counter.bytes);
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      const actual = counter.digest();
      if (actual !== digest) {
        await truncate(part, 0);
        verifyDigest(digest, actual, `bundle blob ${digest}`);
      }
      await rename(part, path);
      await fsyncDir(dirname(path));
      return { resumedFrom: 0 };
    },
  };
}
