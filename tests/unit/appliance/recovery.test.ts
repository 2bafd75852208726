// The supervisor's answers while core is down (appliance/supervisor/recovery.ts), through a real
// HTTP server on loopback: what each path gets, HSTS only for the user's certificate over TLS,
// and a page that cannot be turned into markup by what a child logged.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { SupervisorSnapshot } from '../../../services/common/ipc.js';
import type { TlsInfo } from '../../../services/common/tls.js';
import { createRecoveryAnswer, recoveryPage } from '../../../appliance/supervisor/recovery.js';

const tls: TlsInfo = {
  source: 'appliance', certificateSha256: 'AA:BB', publicKeySha256: 'CC:DD', spkiSha256Base64: 'x', names: ['pi'], subject: 'CN=pi', validFrom: '', validTo: '',
};

function snapshot(healthy: boolean): SupervisorSnapshot {
  return {
    version: '1.2.3', pid: 1, startedAt: 0, healthy, reasons: healthy ? [] : ['core is backoff'], at: 0,
    children: [{ name: 'core', critical: true, phase: healthy ? 'ready' : 'backoff', pid: null, restarts: 2, startedAt: 0, readyAt: null, nextStartAt: 61_000, lastExit: { code: 1, signal: null, reason: 'exit', at: 0 }, failedReason: null }],
    led: { state: 'degraded', steps: [], since: 0, drivers: [], simulatedOn: null }, locks: [], flags: {}, hal: { mode: 'sim', watchdog: null, button: null },
  } as unknown as SupervisorSnapshot;
}

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function serve(healthy: boolean): Promise<string> {
  server = createServer(createRecoveryAnswer({
    snapshot: () => snapshot(healthy),
    logs: () => ['{"level":"fatal","time":"t","msg":"<script>alert(1)</script> failed","err":{"code":"X_ERR","message":"bad"}}', 'SETUP CODE: ABCD-EFGH-JKMN-PQRS'],
    tls: () => tls, httpsPort: 8443, now: () => 1_000,
  }));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

describe('the supervisor\'s answers while core is down', () => {
  it('healthz 503 with reasons, metrics 503, API 503 coded, pages the recovery page; 200 when healthy', async () => {
    const url = await serve(false);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ status: 'unavailable', reasons: ['core is backoff'] });
    expect((await fetch(`${url}/metrics`)).status).toBe(503);
    const api = await fetch(`${url}/api/v1/status`);
    expect(api.status).toBe(503);
    expect(await api.json()).toMatchObject({ code: 'API_ERR_UNAVAILABLE', details: { reasons: ['core is backoff'] } });
    const post = await fetch(`${url}/`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(503);
    expect((await post.json() as { code: string }).code).toBe('API_ERR_UNAVAILABLE');
    const page = await fetch(`${url}/anything`);
    expect(page.status).toBe(503);
    expect(page.headers.get('retry-after')).toBe('5');
    expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'none'; style-src 'sha256-/);
    expect(page.headers.get('strict-transport-security')).toBeNull();
    const html = await page.text();
    expect(html).toContain('retry scheduled at 1970-01-01T00:01:01.000Z (in 60 s)');
    expect(html).toContain('<strong class="">core</strong>: backoff');
    const head = await fetch(`${url}/`, { method: 'HEAD' });
    expect(head.status).toBe(503);
    expect(await head.text()).toBe('');
    server!.close();
    const healthy = await serve(true);
    expect((await fetch(`${healthy}/healthz`)).status).toBe(200);
  });

  it('escapes what a child logged and never shows the setup code', () => {
    const html = recoveryPage(snapshot(false), {
      logs: () => ['{"level":"fatal","time":"t","msg":"<script>alert(1)</script> failed","err":{"code":"X_ERR","message":"bad"}}', 'SETUP CODE: ABCD-EFGH-JKMN-PQRS'],
      tls: () => tls,
    }, 1_000);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62; failed — X_ERR: bad');
    expect(html).not.toContain('ABCD-EFGH');
    expect(html).toContain('TLS certificate SHA-256 <code data-testid="recovery-fingerprint">AA:BB</code>');
  });
});
