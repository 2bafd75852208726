// HTTP helpers for session uploads against a running appliance: streaming PUTs (optionally cut
// off after N bytes, like a dropped connection), JSON calls, and a streaming SHA-256 download —
// all logged in as the appliance helper's test admin (a RunningAppliance is a Target).
import { request, type Agent } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createHash } from 'node:crypto';

/**
 * Where to send requests and the bearer token to send them with. For HTTPS with a pinned
 * certificate (tests/vm/harness/guest-https.ts): `fetch` for the JSON calls and downloads, and
 * `agent` for the streaming PUT (node:https).
 */
export interface Target {
  readonly url: string;
  token(): Promise<string>;
  readonly fetch?: (url: string, init?: any) => Promise<Response | { status: number; headers: Headers; body: unknown; text(): Promise<string> }>;
  readonly agent?: Agent;
}

// The user agent fetch() sends, which the token is bound to (it was issued to a fetch() login).
const FETCH_UA = 'node';

export interface PutResult { status: number; body: any }

/** PUT `data` at `offset`. With `cutAfter`, the socket is destroyed after that many body bytes. */
export async function putData(target: Target, id: string, offset: number, data: Buffer | Iterable<Buffer>, options: { cutAfter?: number; length?: number; onSent?: (bytes: number) => void } = {}): Promise<PutResult | 'cut'> {
  const pieces = Buffer.isBuffer(data) ? [data] : data;
  const length = options.length ?? (Buffer.isBuffer(data) ? data.length : undefined);
  const authorization = `Bearer ${await target.token()}`;
  return new Promise((resolve, reject) => {
    const url = `${target.url}/api/v1/sessions/${id}/data?offset=${offset}`;
    const req = (url.startsWith('https:') ? httpsRequest : request)(url, {
      method: 'PUT', ...(target.agent ? { agent: target.agent } : {}),
      headers: {
        'content-type': 'application/octet-stream', authorization, 'user-agent': FETCH_UA,
        ...(length !== undefined ? { 'content-length': String(length) } : {}),
      },
    }, (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        if (!req.writableFinished) req.destroy(); // answered before the whole body went out
        const text = Buffer.concat(parts).toString();
        let body: unknown = text;
        try { body = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', reject);
    });
    let cut = false;
    let answered = false;
    // A server may answer early (an error) and close while the body is still being written.
    req.on('error', (err) => (cut ? resolve('cut') : answered ? undefined : reject(err)));
    void (async () => {
      let sent = 0;
      for (const piece of pieces) {
        let p = piece;
        if (options.cutAfter !== undefined && sent + p.length >= options.cutAfter) {
          p = p.subarray(0, options.cutAfter - sent);
          await new Promise<void>((r) => req.write(p, () => r()));
          // Give the bytes a moment to leave, then drop the connection like a lost network.
          await new Promise((r) => setTimeout(r, 50));
          cut = true;
          req.destroy();
          resolve('cut');
          return;
        }
        // 256 KiB writes, so that progress (and a test's kill) can land anywhere in the body.
        for (let at = 0; at < p.length; at += 256 * 1024) {
          const part = p.subarray(at, at + 256 * 1024);
          if (answered || req.destroyed) return;
          if (!req.write(part)) {
            await new Promise<void>((r) => {
              const done = (): void => { req.off('drain', done); req.off('close', done); r(); };
              req.on('drain', done);
              req.on('close', done);
            });
          }
          sent += part.length;
          options.onSent?.(sent);
        }
      }
      req.end();
    })().catch(reject);
  });
}

export async function api(target: Target, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const authorization = `Bearer ${await target.token()}`;
  const res = await (target.fetch ?? fetch)(`${target.url}${path}`, {
    method,
    headers: { authorization, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

/** Streams a download into SHA-256. `error` is set when the body broke off. */
export async function hashDownload(target: Target, path: string, headers: Record<string, string> = {}): Promise<{ status: number; bytes: number; sha256: string; error: string | null; head: Buffer; headers: Headers }> {
  const res = await (target.fetch ?? fetch)(`${target.url}${path}`, { headers: { authorization: `Bearer ${await target.token()}`, ...headers } });
  const h = createHash('sha256');
  let bytes = 0;
  let error: string | null = null;
  const head: Buffer[] = [];
  try {
    for await (const piece of res.body as unknown as AsyncIterable<Uint8Array>) {
      h.update(piece);
      if (bytes < 4096) head.push(Buffer.from(piece));
      bytes += piece.length;
    }
  } catch (err) {
    error = (err as Error).message || String(err);
  }
  return { status: res.status, bytes, sha256: h.digest('hex'), error, head: Buffer.concat(head), headers: res.headers as Headers };
}

/** Peak resident memory (VmHWM) of a process, in MB. */
export async function peakRssMB(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
}
