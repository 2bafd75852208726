// HTTP to the fleet server with the certificate pin as the only trust check (pin-spec.md): the
// TLS handshake accepts any chain and any name, and undici's connector hands the socket over only
// after the peer certificate's SPKI hash matched — so a refused connection never carries a byte
// of the request (the token, a signed check-in). Without a pin (trust on first use, at
// enrollment) the hash seen is recorded for the caller to persist. Plain http is for loopback
// development only (checkFleetUrl). The TUF metadata the fleet mirrors comes through the same
// pinned connection (fleetTufFetcher).
import { Agent, buildConnector, type Dispatcher } from 'undici';
import type { TLSSocket } from 'node:tls';
import { LucidError } from '../../../services/common/errors.js';
import { spkiPin } from './pin.js';

export interface FleetReply { readonly status: number; readonly body: any }

export class FleetHttp {
  /** The pin seen on the last TLS connection (what trust on first use persists). */
  seenPin: string | null = null;
  private readonly dispatcher: Agent;
  readonly tls: boolean;

  /** `pin` null on https: accept what is seen (enrollment without a pin in the token). */
  constructor(readonly baseUrl: string, readonly pin: string | null, timeoutMs = 20_000) {
    this.tls = baseUrl.startsWith('https:');
    // No TLS session resumption: a resumed session shows no peer certificate, and every
    // connection must prove the pinned key by a full handshake.
    const base = buildConnector({ rejectUnauthorized: false, timeout: timeoutMs, maxCachedSessions: 0 });
    this.dispatcher = new Agent({
      headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connections: 2, keepAliveTimeout: 10_000,
      connect: (opts, cb) => base(opts, (err, socket) => {
        if (err || !socket) { cb(err ?? new Error('no socket'), null); return; }
        if (!this.tls) { cb(null, socket); return; }
        const raw = (socket as TLSSocket).getPeerCertificate?.()?.raw;
        const seen = raw ? spkiPin(raw) : null;
        this.seenPin = seen;
        if (seen === null || (this.pin !== null && seen !== this.pin)) {
          socket.destroy();
          cb(new LucidError('OTA_ERR_FLEET_PIN', 'fleet certificate changed: its public key does not match the pin — nothing was sent', { expected: this.pin, seen }), null);
          return;
        }
        cb(null, socket);
      }),
    });
  }

  get agent(): Dispatcher { return this.dispatcher; }

  async request(method: 'GET' | 'POST', path: string, body?: unknown, maxBytes = 1024 * 1024): Promise<FleetReply> {
    let res: Dispatcher.ResponseData;
    try {
      res = await this.dispatcher.request({
        origin: this.baseUrl, method, path: `${new URL(this.baseUrl).pathname.replace(/\/+$/, '')}${path}`,
        headers: { 'user-agent': 'lucid-ota-agent', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw unwrap(err);
    }
    const text = await readBounded(res.body, maxBytes);
    let parsed: unknown = null;
    try { parsed = text ? JSON.parse(text) : null; } catch { parsed = { message: text.slice(0, 200) }; }
    return { status: res.statusCode, body: parsed };
  }

  /** Raw bytes of a GET (the TUF files), bounded; status kept for tuf-js's 404 probing. */
  async getBytes(path: string, maxBytes: number): Promise<{ status: number; bytes: Buffer }> {
    let res: Dispatcher.ResponseData;
    try {
      res = await this.dispatcher.request({ origin: this.baseUrl, method: 'GET', path, headers: { 'user-agent': 'lucid-ota-agent' } });
    } catch (err) {
      throw unwrap(err);
    }
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of res.body) {
      n += (c as Buffer).length;
      if (n > maxBytes) { res.body.destroy(); throw new LucidError('OTA_ERR_TOO_LARGE', `${path} is larger than ${maxBytes} bytes`); }
      chunks.push(c as Buffer);
    }
    return { status: res.statusCode, bytes: Buffer.concat(chunks) };
  }

  close(): Promise<void> { return this.dispatcher.close(); }
}

/** undici wraps connector errors; ours (the pin) comes back out as itself. */
function unwrap(err: unknown): LucidError {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) if (e instanceof LucidError) return e;
  const msg = err instanceof Error ? `${(err as { code?: string }).code ?? err.name}: ${err.message}` : String(err);
  return new LucidError('OTA_ERR_UNREACHABLE', `the fleet server could not be reached (${msg.slice(0, 200)})`);
}

async function readBounded(body: Dispatcher.ResponseData['body'], max: number): Promise<string> {
  let out = '';
  for await (const c of body) {
    out += (c as Buffer).toString('utf8');
    if (out.length > max) { body.destroy(); throw new LucidError('OTA_ERR_TOO_LARGE', `a fleet answer larger than ${max} bytes`); }
  }
  return out;
}
