// What the supervisor answers on the API ports while core is not serving (listeners.ts): an
// appliance whose core crashed, failed or is starting is never a silent port.
//   GET /healthz   503 {status, reasons} (200 if every critical child is ready: the moment of a handover)
//   GET /metrics   503: a scraper records the appliance as down
//   /api/…         503 API_ERR_UNAVAILABLE with the reasons
//   any page       503, a read-only recovery page: what is down and why, the last lines each such
//                  child logged, whether and when it is retried; it reloads itself every 5 s, so
//                  the web UI comes back by itself once core does
// The same rule for plain HTTP as core's (services/common/plain-http.ts). Nothing here needs a
// credential: the supervisor cannot check one without core, and offers no action.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { ChildStatus, SupervisorSnapshot } from '../../services/common/ipc.js';
import { httpsRequiredMessage, plainHttpVerdict } from '../../services/common/plain-http.js';
import type { TlsInfo } from '../../services/common/tls.js';
import { readableLine } from './child-logs.js';

export interface RecoveryDeps {
  readonly snapshot: () => SupervisorSnapshot;
  /** The last lines a child wrote, oldest first. */
  readonly logs: (child: string) => readonly string[];
  readonly tls: () => TlsInfo;
  readonly httpsPort: number;
  readonly now?: () => number;
}

const STYLE = 'body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1d232b}'
  + 'h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}.bad{color:#a1141b}.muted{color:#5b6570}'
  + 'pre{background:#f3f5f7;padding:.7rem;overflow-x:auto;font-size:12.5px;white-space:pre-wrap}code{font-size:13px}';
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'retry-after': '5',
};
const API_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'retry-after': '5' };

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function createRecoveryAnswer(deps: RecoveryDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const now = deps.now ?? Date.now;
  return (req, res) => {
    const socket = req.socket as IncomingMessage['socket'] & { encrypted?: boolean };
    const url = req.url ?? '/';
    const hsts: Record<string, string> = socket.encrypted === true && deps.tls().source === 'user' ? { 'strict-transport-security': 'max-age=31536000' } : {};
    if (socket.encrypted !== true) {
      const verdict = plainHttpVerdict({ method: req.method ?? 'GET', url, headers: req.headers, localAddress: socket.localAddress }, deps.httpsPort);
      if (verdict.kind === 'redirect') {
        res.writeHead(308, { location: verdict.location, 'cache-control': 'no-store' }).end();
        return;
      }
      if (verdict.kind === 'refuse') {
        json(res, 403, { statusCode: 403, code: 'API_ERR_HTTPS_REQUIRED', message: httpsRequiredMessage(verdict), details: { https: verdict.https } }, {});
        return;
      }
    }
    const snapshot = deps.snapshot();
    const path = url.split('?', 1)[0]!;
    const head = req.method === 'HEAD';
    if (path === '/healthz' || path === '/healthz/') {
      json(res, snapshot.healthy ? 200 : 503, { status: snapshot.healthy ? 'ok' : 'unavailable', reasons: [...snapshot.reasons] }, hsts, head);
    } else if (path === '/metrics' || path === '/metrics/') {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', ...API_HEADERS, ...hsts }).end(head ? undefined : `# core is not serving: ${snapshot.reasons.join('; ')}\n`);
    } else if (path.startsWith('/api/') || (req.method !== 'GET' && req.method !== 'HEAD')) {
      json(res, 503, { statusCode: 503, code: 'API_ERR_UNAVAILABLE', message: 'core is not serving; the supervisor answers meanwhile', details: { reasons: [...snapshot.reasons] } }, hsts, head);
    } else {
      res.writeHead(503, { ...PAGE_HEADERS, ...hsts }).end(head ? undefined : recoveryPage(snapshot, deps, now()));
    }
  };
}

function json(res: ServerResponse, status: number, body: object, extra: Record<string, string>, head = false): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...API_HEADERS, ...extra }).end(head ? undefined : JSON.stringify(body));
}

function describeChild(c: ChildStatus, now: number): string {
  const exit = c.lastExit;
  const exitText = exit ? `last exit ${exit.signal ? `by ${exit.signal}` : `with code ${String(exit.code)}`} (${exit.reason}) at ${new Date(exit.at).toISOString()}` : 'no exit yet';
  const retry = c.nextStartAt !== null
    ? `retry scheduled at ${new Date(c.nextStartAt).toISOString()} (in ${Math.max(0, Math.round((c.nextStartAt - now) / 1000))} s)`
    : c.phase === 'starting' ? 'starting now' : c.phase === 'failed' ? 'no retry scheduled' : `state ${c.phase}`;
  return `<p><strong class="${c.phase === 'failed' ? 'bad' : ''}">${esc(c.name)}</strong>: ${esc(c.phase)}${c.failedReason ? ` — ${esc(c.failedReason)}` : ''}.`
    + ` ${esc(exitText)}; restarts ${c.restarts}. <span data-testid="retry-${esc(c.name)}">${esc(retry)}</span>.</p>`;
}

export function recoveryPage(snapshot: SupervisorSnapshot, deps: Pick<RecoveryDeps, 'logs' | 'tls'>, now: number): string {
  const down = snapshot.children.filter((c) => c.phase !== 'ready');
  const tls = deps.tls();
  const logs = down.map((c) => {
    const lines = deps.logs(c.name).map(readableLine).map((l) => `${l.time ?? ''} ${l.level ?? ''} ${l.text}`.trim());
    return `<h2>Last lines of ${esc(c.name)}</h2><pre data-testid="log-${esc(c.name)}">${lines.length ? esc(lines.join('\n')) : '(nothing logged)'}</pre>`;
  }).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">`
    + `<meta http-equiv="refresh" content="5"><title>Lucid appliance — recovering</title><style>${STYLE}</style></head><body>`
    + `<h1 data-testid="recovery-title">The appliance is not serving right now</h1>`
    + `<p class="muted">The supervisor answers while core is down. This page reloads every 5 seconds; the web UI returns by itself once core is back. Read-only: no action here needs a login.</p>`
    + `<h2>What is down</h2><div data-testid="recovery-reasons">${snapshot.reasons.map((r) => `<p class="bad">${esc(r)}</p>`).join('') || '<p>core is handing over</p>'}</div>`
    + down.map((c) => describeChild(c, now)).join('')
    + logs
    + `<h2>This appliance</h2><p class="muted">Version ${esc(snapshot.version)}; status LED: ${esc(snapshot.led.state)}. TLS certificate SHA-256 <code data-testid="recovery-fingerprint">${esc(tls.certificateSha256)}</code>.</p>`
    + `</body></html>`;
}
