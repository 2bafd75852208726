// TUF metadata and targets read out of an offline bundle instead of over HTTP. tuf-js probes
// `<n+1>.root.json` until it gets a 404, and only its own DownloadHTTPError with status 404 ends
// that loop quietly (trap T6) — any other error would abort the refresh — so a missing entry
// throws exactly that. URLs are `bundle:/metadata/<name>` and `bundle:/targets/<path>`.
import { Readable } from 'node:stream';
import { BaseFetcher } from 'tuf-js';
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import type { BundleReader } from '../../shared/release/bundle-format.js';
import type { TufSource } from './tuf-check.js';

export const BUNDLE_BASE = 'bundle:/';

export class BundleFetcher extends BaseFetcher {
  constructor(private readonly bundle: BundleReader) {
    super();
  }

  override async fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    const path = decodeURIComponent(new URL(url).pathname.replace(/^\/+/, ''));
    const stream = this.bundle.stream(path);
    if (!stream) throw new DownloadHTTPError(`${path} is not in the bundle`, 404);
    return Readable.toWeb(stream) as ReadableStream<Uint8Array<ArrayBuffer>>;
  }
}

export function bundleSource(bundle: BundleReader): TufSource {
  return { metadataBaseUrl: `${BUNDLE_BASE}metadata/`, targetBaseUrl: `${BUNDLE_BASE}targets/`, fetcher: new BundleFetcher(bundle) };
}

/** The TUF source of an HTTP repository published by `release publish`. */
export function httpSource(baseUrl: string): TufSource {
  const base = baseUrl.replace(/\/+$/, '');
  return { metadataBaseUrl: `${base}/metadata/`, targetBaseUrl: `${base}/targets/` };
}
