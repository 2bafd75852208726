// Browser upload of a file into a new session: create, start, PUT the file in 8 MiB pieces with
// XMLHttpRequest (fetch reports no upload progress), stop, finalize. A failed piece is resumed
// from the session's acknowledged length (`received`), so a flaky Wi-Fi or an appliance reboot
// costs at most one piece, never the upload. Pieces carry the login's bearer token; an expired
// one fails the piece with 401, and the resume probe (through the api wrapper) refreshes it.
import { ApiError, type Api } from './api.js';
import { getSession } from './session.js';
import type { SessionView } from './types.js';

export const PIECE_BYTES = 8 * 1024 * 1024;
const MAX_RETRIES = 8;

export interface UploadProgress {
  readonly phase: 'creating' | 'uploading' | 'finalizing' | 'done' | 'retrying';
  readonly sent: number;
  readonly total: number;
}

export interface UploadOptions {
  readonly labels?: Record<string, string>;
  readonly signal: AbortSignal;
  readonly onProgress: (p: UploadProgress) => void;
}

function putPiece(url: string, body: Blob, onProgress: (loaded: number) => void, signal: AbortSignal): Promise<{ received: number }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.setRequestHeader('accept', 'application/json');
    // Read per piece: the api wrapper may have refreshed the token between pieces.
    const token = getSession()?.accessToken;
    if (token) xhr.setRequestHeader('authorization', `Bearer ${token}`);
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => {
      let data: { received?: number; code?: string; message?: string } = {};
      try { data = JSON.parse(xhr.responseText) as typeof data; } catch { /* not JSON */ }
      if (xhr.status === 200 && typeof data.received === 'number') resolve({ received: data.received });
      else reject(new ApiError(data.message ?? `HTTP ${xhr.status}`, data.code ?? 'WEB_ERR_BAD_RESPONSE', xhr.status));
    };
    xhr.onerror = () => reject(new ApiError('the upload connection failed', 'WEB_ERR_UNREACHABLE'));
    const abort = (): void => xhr.abort();
    xhr.onabort = () => reject(new ApiError('upload cancelled', 'WEB_ERR_ABORTED'));
    signal.addEventListener('abort', abort, { once: true });
    xhr.onloadend = () => signal.removeEventListener('abort', abort);
    xhr.send(body);
  });
}

export async function uploadFile(api: Api, file: Blob, options: UploadOptions): Promise<SessionView> {
  const total = file.size;
  options.onProgress({ phase: 'creating', sent: 0, total });
  const created = await api.post<SessionView>('/api/v1/sessions', options.labels ? { labels: options.labels } : {}, { signal: options.signal });
  const base = `/api/v1/sessions/${created.id}`;
  await api.post(`${base}/start`, undefined, { signal: options.signal });
  let offset = 0;
  let retries = 0;
  while (offset < total) {
    const end = Math.min(total, offset + PIECE_BYTES);
    try {
      const at = offset;
      const ack = await putPiece(`${base}/data?offset=${at}`, file.slice(at, end), (loaded) => options.onProgress({ phase: 'uploading', sent: Math.min(total, at + loaded), total }), options.signal);
      offset = ack.received;
      retries = 0;
    } catch (err) {
      const e = err as ApiError;
      if (e.code === 'WEB_ERR_ABORTED' || ++retries > MAX_RETRIES) throw err;
      // Network trouble or a restarting appliance: wait, ask where it got to, go on from there.
      options.onProgress({ phase: 'retrying', sent: offset, total });
      await new Promise((r) => setTimeout(r, Math.min(8000, 500 * 2 ** retries)));
      try {
        offset = (await api.get<SessionView>(base, { signal: options.signal })).received;
      } catch { /* still unreachable: the next attempt retries */ }
    }
    options.onProgress({ phase: 'uploading', sent: offset, total });
  }
  options.onProgress({ phase: 'finalizing', sent: total, total });
  await api.post(`${base}/stop`, undefined, { signal: options.signal });
  const done = await api.post<SessionView>(`${base}/finalize`, undefined, { signal: options.signal, timeoutMs: 120_000 });
  options.onProgress({ phase: 'done', sent: total, total });
  return done;
}
