// Security headers, computed once at boot and set with one reply.headers() per request.
//   - Pages (the web UI, /docs): helmet's policy engine with the appliance's options. Not
//     @fastify/helmet: it rebuilds helmet's middleware (options parsed, CSP compiled) inside
//     every request: measured +72 µs per request on a hello-world (inject, CPU time), −37 %
//     req/s under autocannon; the precomputed set costs +24 µs. The headers are identical (no
//     per-request CSP nonces: the UI has no inline scripts).
//   - Machine responses (/api/, /healthz, /metrics): OWASP's REST set. Helmet's eleven headers
//     are document policies (CSP script/style/font sources, COOP, origin-agent-cluster,
//     IE-era download/XSS switches) that mean nothing on JSON, and they are ~620 bytes on
//     every answer (a small authenticated read went from ~1,000 to ~420 bytes of headers; on
//     a fastify hello-world, 600 more bytes per answer cost ~13 % req/s under autocannon).
//     What an API answer needs instead: not cached anywhere (`no-store`: answers carry user
//     data and depend on the token), never sniffed or framed, and a CSP that runs nothing if
//     a browser is tricked into rendering one (downloads of session content included).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

/** The appliance's policy: helmet's defaults, minus what an appliance on a LAN cannot use. */
export const HELMET_OPTIONS: Readonly<HelmetOptions> = {
  // HSTS only over HTTPS with a certificate the user brought (installSecurityHeaders): with the
  // appliance's own self-signed one, a browser that pinned HSTS would refuse the "proceed" a
  // person chooses after checking the fingerprint, for a year. upgrade-insecure-requests stays
  // off: plain HTTP on loopback serves the UI (development).
  strictTransportSecurity: false,
  contentSecurityPolicy: { directives: { 'upgrade-insecure-requests': null, 'frame-ancestors': ["'none'"] } },
};

export function securityHeaders(options: HelmetOptions = HELMET_OPTIONS): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const res = {
    setHeader: (name: string, value: string | number | readonly string[]) => { headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value); },
    removeHeader: (name: string) => { delete headers[name.toLowerCase()]; },
  };
  helmet(options)({} as IncomingMessage, res as unknown as ServerResponse, () => {});
  return Object.freeze(headers);
}

/** Headers of every answer under /api/, /healthz and /metrics (OWASP REST Security Cheat Sheet). */
export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cross-origin-resource-policy': 'same-origin',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
});

/** True for URLs answered to programs rather than shown as pages. */
export const isMachineUrl = (url: string): boolean =>
  url.startsWith('/api/') || url === '/healthz' || url.startsWith('/healthz?') || url === '/metrics' || url.startsWith('/metrics?');

/** HSTS for a user's certificate: a year, this host only (the user's other hosts are theirs to decide). */
export const HSTS = { 'strict-transport-security': 'max-age=31536000' } as const;

export function installSecurityHeaders(app: FastifyInstance, options: { hsts?: boolean } = {}): void {
  const page = securityHeaders();
  const securePage = options.hsts ? Object.freeze({ ...page, ...HSTS }) : page;
  const secureApi = options.hsts ? Object.freeze({ ...API_SECURITY_HEADERS, ...HSTS }) : API_SECURITY_HEADERS;
  app.addHook('onRequest', (request, reply, done) => {
    const encrypted = (request.raw.socket as { encrypted?: boolean } | null)?.encrypted === true;
    const machine = isMachineUrl(request.url);
    void reply.headers(encrypted ? (machine ? secureApi : securePage) : (machine ? API_SECURITY_HEADERS : page));
    done();
  });
}
