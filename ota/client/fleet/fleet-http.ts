// HTTP to the fleet server with the certificate pin as the only trust check (pin-spec.md): the
// TLS handshake accepts any chain and any name, and the request is written only after the peer
// certificate's SPKI hash matched (mini-http.ts's onSecure) — so a refused connection never
// carries a byte of the request (the token, a signed check-in). Every request is its own
// connection with a full handshake (no session resumption: a resumed session shows no
// certificate). Without a pin (trust on first use, at enrollment) the hash seen is recorded for
// the caller to persist. Plain http is for loopback development only (checkFleetUrl). The TUF
// metadata the fleet mirrors comes through the same pinned connection (tuf-fetcher.ts).
import { LucidError } from '../../../services/common/errors.js';
import { miniRequest, TooLarge, type MiniResponse } from './mini-http.js';
import { spkiPin } from './pin.js';

export interface FleetReply { readonly status: number; readonly body: any }

export class FleetHttp {
  /** The pin seen on the last TLS connection (what trust on first use persists). */
  seenPin: string | null = null;
  readonly tls: boolean;
  private readonly base: URL;

  /** `pin` null on https: accept what is seen (enrollment without a pin in the token). */
  constructor(readonly baseUrl: string, readonly pin: string | null, private readonly timeoutMs = 20_000) {
    this.base = new URL(baseUrl);
    this.tls = this.base.protocol === 'https:';
  }

  private async send(method: 'GET' | 'POST', path: string, body: Buffer | undefined, headers: Record<string, string>, maxBytes: number): Promise<MiniResponse> {
    try {
      return await miniRequest({
        url: this.base, method, path, body, maxBytes, timeoutMs: this.timeoutMs,
        headers: { 'user-agent': 'lucid-ota-agent', accept: 'application/json', ...headers },
        onSecure: (socket) => {
          const raw = socket.getPeerCertificate()?.raw;
          const seen = raw ? spkiPin(raw) : null;
          this.seenPin = seen;
          if (seen === null || (this.pin !== null && seen !== this.pin)) {
            throw new LucidError('OTA_ERR_FLEET_PIN', 'fleet certificate changed: its public key does not match the pin — nothing was sent', { expected: this.pin, seen });
          }
        },
      });
    } catch (err) {
      if (err instanceof LucidError) throw err;
      if (err instanceof TooLarge) throw new LucidError('OTA_ERR_TOO_LARGE', `${path}: ${err.message}`);
      const msg = err instanceof Error ? `${(err as { code?: string }).code ?? err.name}: ${err.message}` : String(err);
      throw new LucidError('OTA_ERR_UNREACHABLE', `the fleet server could not be reached (${msg.slice(0, 200)})`);
    }
  }

  private path(p: string): string {
    return `${this.base.pathname.replace(/\/+$/, '')}${p}`;
  }

  async request(method: 'GET' | 'POST', path: string, body?: unknown, maxBytes = 1024 * 1024): Promise<FleetReply> {
    const res = await this.send(method, this.path(path), body === undefined ? undefined : Buffer.from(JSON.stringify(body)), body === undefined ? {} : { 'content-type': 'application/json' }, maxBytes);
    const text = res.body.toString('utf8');
    let parsed: unknown = null;
    try { parsed = text ? JSON.parse(text) : null; } catch { parsed = { message: text.slice(0, 200) }; }
    return { status: res.status, body: parsed };
  }

  /** Raw bytes of a GET by absolute path (the TUF files), bounded; the status kept for tuf-js's 404 probing. */
  async getBytes(path: string, maxBytes: number): Promise<{ status: number; bytes: Buffer }> {
    const res = await this.send('GET', path, undefined, {}, maxBytes);
    return { status: res.status, bytes: res.body };
  }

  async close(): Promise<void> { /* one connection per request: nothing held */ }
}
