// What plain HTTP may answer. The appliance serves its API and web UI over HTTPS; its plain HTTP
// port stays for monitors and scrapers (`/healthz`, `/metrics`) and to send a browser that typed
// `http://` to the HTTPS address. Nothing that can carry a credential is answered over plain HTTP
// from the network: not refused after use, never used — a password or token that crossed the LAN
// in clear must not also work, or clients would go on sending them that way.
//
// The class, rather than a list of today's routes: a credential can ride in
//   - a header: Authorization (any scheme), Proxy-Authorization, Cookie;
//   - the query string: download tokens (`?token=`), and any later route's parameters;
//   - a body: login, setup, refresh, wallet signatures, password changes, user creation — any
//     method but GET/HEAD, or any GET/HEAD with a body;
//   - a protocol upgrade (WebSocket sub-protocols carry tokens in some clients);
//   - the path of an API call (no route of ours puts a secret in a path, but later ones might).
// So a plain request from the network is answered only when it has none of these: `/healthz`
// and `/metrics` are served, a page path is redirected to HTTPS (308, same path), and the rest is
// refused with API_ERR_HTTPS_REQUIRED. On loopback nothing crosses a network (the development
// default listens there), so a loopback connection is served everything.
import type { IncomingHttpHeaders } from 'node:http';

export type PlainVerdict =
  | { readonly kind: 'serve' }
  | { readonly kind: 'redirect'; readonly location: string }
  | { readonly kind: 'refuse'; readonly carried: string; readonly https: string };

export interface PlainRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** The address the client connected to (socket.localAddress). */
  readonly localAddress: string | undefined;
}

/** 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || a.startsWith('127.');
}

const PLAIN_PATHS = new Set(['/healthz', '/healthz/', '/metrics', '/metrics/']);

/** What, if anything, in this request could be a credential (null: nothing). */
export function credentialCarrier(req: Pick<PlainRequest, 'method' | 'url' | 'headers'>): string | null {
  const h = req.headers;
  if (h.authorization !== undefined) return 'an Authorization header';
  if (h['proxy-authorization'] !== undefined) return 'a Proxy-Authorization header';
  if (h.cookie !== undefined) return 'a Cookie header';
  if (req.method !== 'GET' && req.method !== 'HEAD') return `a ${req.method} request`;
  if ((h['content-length'] !== undefined && h['content-length'] !== '0') || h['transfer-encoding'] !== undefined) return 'a request body';
  if (h.upgrade !== undefined) return 'a protocol upgrade';
  if (req.url.includes('?')) return 'a query string';
  return null;
}

/** The HTTPS URL of the same path on the host the client asked for (or the address it reached). */
export function httpsUrl(req: Pick<PlainRequest, 'url' | 'headers' | 'localAddress'>, httpsPort: number): string {
  const path = req.url.split('?', 1)[0] ?? '/';
  return `https://${hostOf(req)}${httpsPort === 443 ? '' : `:${httpsPort}`}${path.startsWith('/') ? path : '/'}`;
}

function hostOf(req: Pick<PlainRequest, 'headers' | 'localAddress'>): string {
  const header = req.headers.host ?? '';
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.exec(header);
  if (m) return m[1]!;
  const local = (req.localAddress ?? '127.0.0.1').replace(/^::ffff:(?=\d+\.)/, '');
  return local.includes(':') ? `[${local}]` : local;
}

export function plainHttpVerdict(req: PlainRequest, httpsPort: number): PlainVerdict {
  if (isLoopback(req.localAddress)) return { kind: 'serve' };
  const carried = credentialCarrier(req);
  const https = httpsUrl(req, httpsPort);
  if (carried !== null) return { kind: 'refuse', carried, https };
  const path = req.url;
  if (PLAIN_PATHS.has(path)) return { kind: 'serve' };
  if (path === '/api' || path.startsWith('/api/')) return { kind: 'refuse', carried: 'an API call', https };
  return { kind: 'redirect', location: https };
}

export const httpsRequiredMessage = (v: Extract<PlainVerdict, { kind: 'refuse' }>): string =>
  `plain HTTP from the network answers no credentials (this request had ${v.carried}); use ${v.https}`;
