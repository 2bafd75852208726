// A small OCI distribution-spec client on undici@7: enough to publish a release (push blobs,
// manifests and the index) and for a device to fetch one (manifests by digest, blobs with Range
// resume). Measured against Debian's docker-registry 2.8 (notes/ota-trust-and-tron-measured.md §2):
// - uploads are POST then PUT `?digest=` (a single POST with a body is silently dropped);
// - children are pushed before the index that names them (else MANIFEST_BLOB_UNKNOWN);
// - manifest GETs must list the OCI index type in Accept, even by digest;
// - a Range past the end answers 416 with a lying Content-Length, so we never ask for one.
// Every byte fetched by digest is hashed and compared before it is handed out or renamed into place.
import { request, type Dispatcher } from 'undici';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { open, rename, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LucidError } from '../../../services/common/errors.js';
import { fsyncDir } from '../../../services/common/fs-atomic.js';
import { DigestCounter, assertDigest, isDigest, sha256Digest, verifyDigest } from './digest.js';
import { MANIFEST_ACCEPT } from './types.js';

export interface RegistryClientOptions {
  /** Base URL of the registry, e.g. `http://127.0.0.1:5000`. */
  readonly registry: string;
  /** Repository, e.g. `lucid/appliance`. */
  readonly repository: string;
  readonly dispatcher?: Dispatcher;
  /** Sent with every request (e.g. `authorization`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Header and body inactivity timeout per request. Default 30 s. */
  readonly timeoutMs?: number;
}

export interface FetchedManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly bytes: Buffer;
}

export interface DownloadOptions {
  readonly signal?: AbortSignal;
  /** Called with the bytes on disk so far (resumed bytes included). */
  readonly onProgress?: (bytes: number) => void;
}

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH';
type Body = Buffer | Readable | null;
interface SendOptions { headers?: Record<string, string>; body?: Body; expect: readonly number[]; signal?: AbortSignal | undefined }
type Response = Dispatcher.ResponseData;

export class RegistryClient {
  private readonly base: string;

  constructor(private readonly options: RegistryClientOptions) {
    this.base = `${options.registry.replace(/\/+$/, '')}/v2/${options.repository}`;
  }

  /** `GET /v2/`: resolves when the registry speaks the distribution API. */
  async ping(): Promise<void> {
    const res = await this.send('GET', `${this.options.registry.replace(/\/+$/, '')}/v2/`, { expect: [200] });
    await res.body.dump();
  }

  /** Size of a blob in the registry, or null when it is not there (HEAD). */
  async blobSize(digest: string): Promise<number | null> {
    const res = await this.send('HEAD', `${this.base}/blobs/${assertDigest(digest)}`, { expect: [200, 404] });
    await res.body.dump();
    return res.statusCode === 200 ? Number(res.headers['content-length'] ?? -1) : null;
  }

  /**
   * Uploads a blob unless the registry has it: POST a session, then PUT `?digest=` with the whole
   * body (a Buffer, or a file path streamed with its length). With `chunkSize`, the bytes go in
   * PATCH chunks first and the closing PUT is empty — the resumable flavour for big layers.
   */
  async pushBlob(digest: string, source: Buffer | { path: string }, options: { chunkSize?: number } = {}): Promise<'exists' | 'uploaded'> {
    assertDigest(digest);
    if ((await this.blobSize(digest)) !== null) return 'exists';
    const size = Buffer.isBuffer(source) ? source.length : (await stat(source.path)).size;
    const opened = await this.send('POST', `${this.base}/blobs/uploads/`, { expect: [202] });
    await opened.body.dump();
    let location = this.location(opened);
    const chunkSize = options.chunkSize ?? Infinity;
    if (chunkSize < size) {
      for (let start = 0; start < size; start += chunkSize) {
        const end = Math.min(size, start + chunkSize) - 1;
        const body = Buffer.isBuffer(source) ? source.subarray(start, end + 1) : createReadStream(source.path, { start, end });
        const res = await this.send('PATCH', location, {
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(end - start + 1), 'content-range': `${start}-${end}` },
          body,
          expect: [202],
        });
        await res.body.dump();
        location = this.location(res);
      }
    }
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    const whole = chunkSize >= size;
    const body = !whole ? null : Buffer.isBuffer(source) ? source : createReadStream(source.path);
    const res = await this.send('PUT', url.href, {
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(whole ? size : 0) },
      body,
      expect: [201],
    });
    await res.body.dump();
    return 'uploaded';
  }

  /** Cross-repository mount (`?mount=&from=`): true when the registry linked it without an upload. */
  async mountBlob(digest: string, fromRepository: string): Promise<boolean> {
    const url = `${this.base}/blobs/uploads/?mount=${encodeURIComponent(assertDigest(digest))}&from=${encodeURIComponent(fromRepository)}`;
    const res = await this.send('POST', url, { expect: [201, 202] });
    await res.body.dump();
    return res.statusCode === 201;
  }

  /** PUT a manifest or index under a tag or its digest; returns the digest of the bytes sent. */
  async pushManifest(reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    const digest = sha256Digest(bytes);
    if (isDigest(reference)) verifyDigest(reference, digest, 'manifest reference');
    const res = await this.send('PUT', `${this.base}/manifests/${encodeURIComponent(reference)}`, {
      headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
      body: bytes,
      expect: [201],
    });
    await res.body.dump();
    const echoed = res.headers['docker-content-digest'];
    if (typeof echoed === 'string') verifyDigest(digest, echoed, 'registry digest of the pushed manifest');
    return digest;
  }

  /** GET a manifest or index by tag or digest, with the full Accept list; verified against its digest. */
  async getManifest(reference: string, options: { signal?: AbortSignal; maxBytes?: number } = {}): Promise<FetchedManifest> {
    const res = await this.send('GET', `${this.base}/manifests/${encodeURIComponent(reference)}`, {
      headers: { accept: MANIFEST_ACCEPT },
      expect: [200],
      signal: options.signal,
    });
    const bytes = await readLimited(res, options.maxBytes ?? 4 * 1024 * 1024);
    const digest = sha256Digest(bytes);
    if (isDigest(reference)) verifyDigest(reference, digest, `manifest ${reference}`);
    const echoed = res.headers['docker-content-digest'];
    if (typeof echoed === 'string') verifyDigest(digest, echoed, `manifest ${reference} (Docker-Content-Digest)`);
    const mediaType = String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
    return { digest, mediaType, bytes };
  }

  /** A small blob (a config, an SBOM) into memory, verified. */
  async getBlob(digest: string, options: { maxBytes?: number; signal?: AbortSignal } = {}): Promise<Buffer> {
    const res = await this.send('GET', `${this.base}/blobs/${assertDigest(digest)}`, { expect: [200], signal: options.signal });
    const bytes = await readLimited(res, options.maxBytes ?? 16 * 1024 * 1024);
    verifyDigest(digest, sha256Digest(bytes), `blob ${digest}`);
    return bytes;
  }

  /**
   * Downloads a blob to `path` durably. Bytes land in `<path>.part` first; a later call resumes
   * from its length with `Range` + `If-Range` (the blob's ETag is its quoted digest), or starts
   * over when the registry answers 200 instead of 206. The digest and size are checked over the
   * whole file before the rename, so `path` only ever holds verified content.
   */
  async downloadBlob(digest: string, size: number, path: string, options: DownloadOptions = {}): Promise<{ resumedFrom: number }> {
    assertDigest(digest);
    const part = `${path}.part`;
    let have = await stat(part).then((s) => s.size, () => 0);
    if (have > size) { await truncate(part, 0); have = 0; }
    let counter = new DigestCounter();
    if (have > 0) for await (const chunk of createReadStream(part, { end: have - 1 })) counter.update(chunk as Buffer);
    const resumedFrom = have;
    const handle = await open(part, have > 0 ? 'a' : 'w');
    try {
      if (have < size) {
        // Never ask past the end: the registry's 416 comes with a Content-Length it does not send.
        const headers: Record<string, string> = have > 0 ? { range: `bytes=${have}-`, 'if-range': `"${digest}"` } : {};
        const res = await this.send('GET', `${this.base}/blobs/${digest}`, { headers, expect: [200, 206], signal: options.signal });
        if (have > 0 && res.statusCode === 200) {
          // The registry ignored the range (or the ETag changed): start over.
          await handle.truncate(0);
          have = 0;
          counter = new DigestCounter();
        }
        for await (const chunk of res.body) {
          const buf = chunk as Buffer;
          if (counter.bytes + buf.length > size) throw new LucidError('OCI_ERR_SIZE_MISMATCH', `blob ${digest} is longer than ${size} bytes`);
          await handle.write(buf);
          counter.update(buf);
          options.onProgress?.(counter.bytes);
        }
      }
      if (counter.bytes !== size) throw new LucidError('OCI_ERR_SIZE_MISMATCH', `blob ${digest}: ${counter.bytes} of ${size} bytes`, { got: counter.bytes, size });
      await handle.sync();
    } finally {
      await handle.close();
    }
    const actual = counter.digest();
    if (actual !== digest) {
      await truncate(part, 0);
      verifyDigest(digest, actual, `blob ${digest}`);
    }
    await rename(part, path);
    await fsyncDir(dirname(path));
    return { resumedFrom };
  }

  /** Tags of the repository (`GET /tags/list`). */
  async tags(): Promise<string[]> {
    const res = await this.send('GET', `${this.base}/tags/list`, { expect: [200] });
    const body = (await res.body.json()) as { tags?: string[] | null };
    return body.tags ?? [];
  }

  private location(res: Response): string {
    const loc = res.headers['location'];
    if (typeof loc !== 'string') throw new LucidError('OCI_ERR_HTTP', 'upload response without Location', { status: res.statusCode });
    // Locations may be absolute or relative, and carry the opaque `_state` we must keep.
    return new URL(loc, this.options.registry).href;
  }

  private async send(method: Method, url: string, options: SendOptions, redirects = 0, ownHeaders = true): Promise<Response> {
    const timeout = this.options.timeoutMs ?? 30_000;
    let res: Response;
    try {
      res = await request(url, {
        method,
        headers: { ...(ownHeaders ? this.options.headers : {}), ...options.headers },
        body: options.body ?? null,
        dispatcher: this.options.dispatcher,
        signal: options.signal,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      throw new LucidError('OCI_ERR_HTTP', `${method} ${url}: ${(err as Error).message}`, { method, url }, { cause: err });
    }
    // Blob GETs may redirect to storage (S3 backends); follow a few, dropping our credentials
    // when the redirect leaves the registry's origin.
    if ((method === 'GET' || method === 'HEAD') && [301, 302, 303, 307, 308].includes(res.statusCode) && redirects < 3) {
      await res.body.dump();
      const next = new URL(String(res.headers['location']), url);
      const sameOrigin = next.origin === new URL(this.options.registry).origin;
      return this.send(method, next.href, options, redirects + 1, ownHeaders && sameOrigin);
    }
    if (!options.expect.includes(res.statusCode)) {
      const text = method === 'HEAD' ? '' : await res.body.text().catch(() => '');
      const code = res.statusCode === 404 ? 'OCI_ERR_NOT_FOUND' : 'OCI_ERR_HTTP';
      throw new LucidError(code, `${method} ${url} → ${res.statusCode} ${text.slice(0, 300)}`.trim(), { method, url, status: res.statusCode, body: text.slice(0, 2000) });
    }
    return res;
  }
}

async function readLimited(res: Response, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) {
      res.body.destroy();
      throw new LucidError('OCI_ERR_SIZE_MISMATCH', `response larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
