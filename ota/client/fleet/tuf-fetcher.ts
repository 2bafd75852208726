// The channel's TUF repository as the fleet mirrors it (`/tuf/<channel>/metadata|targets/…`),
// fetched over the fleet's pinned connection. Only transport: tuf-js verifies every file against
// the root the device trusts, exactly as for LUCID_OTA_URL — the fleet cannot sign anything.
// A 404 must be tuf-js's own DownloadHTTPError (it ends the root-version probe; trap T6).
import { Readable } from 'node:stream';
import { BaseFetcher } from 'tuf-js';
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import type { TufSource } from '../trust/tuf-check.js';
import type { FleetHttp } from './fleet-http.js';

class FleetTufFetcher extends BaseFetcher {
  constructor(private readonly http: FleetHttp) {
    super();
  }

  override async fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    const u = new URL(url);
    // tuf-js bounds every file by its own limits; this bound only stops an endless body.
    const { status, bytes } = await this.http.getBytes(`${u.pathname}${u.search}`, 64 * 1024 * 1024);
    if (status !== 200) throw new DownloadHTTPError(`${u.pathname}: HTTP ${status}`, status);
    return Readable.toWeb(Readable.from([bytes])) as ReadableStream<Uint8Array<ArrayBuffer>>;
  }
}

/** `tufPath` as the assignment gives it (e.g. `/tuf/stable/`), relative to the fleet URL. */
export function fleetTufSource(http: FleetHttp, tufPath: string): TufSource {
  const base = new URL(http.baseUrl);
  const root = `${base.origin}${base.pathname.replace(/\/+$/, '')}/${tufPath.replace(/^\/+|\/+$/g, '')}`;
  return { metadataBaseUrl: `${root}/metadata/`, targetBaseUrl: `${root}/targets/`, fetcher: new FleetTufFetcher(http) };
}
