// Security acceptance on the real process tree (supervisor + core, LevelDB, real HTTP): the
// setup code in the log and the button, a logged-out token rejected after a restart, and the
// lockdown LED driven through the supervisor.
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, approveWithDeviceCode, startAppliance, TEST_ADMIN, type RunningAppliance } from '../../helpers/appliance.js';

let app: RunningAppliance | undefined;
let second: RunningAppliance | undefined;
afterEach(async () => {
  await app?.cleanup();
  await second?.cleanup();
  app = second = undefined;
});

const post = (a: RunningAppliance, path: string, body: object, token?: string) => a.raw(path, {
  method: 'POST', body: JSON.stringify(body),
  headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
});

describe('auth on the real appliance', () => {
  it('prints the setup code on first boot (file 0600, burnt by setup); nothing but public routes without a login; CORS closed', async () => {
    app = await startAppliance();
    await app.waitHealthy(30_000);
    const file = join(app.dataDir, 'setup-code');
    const code = readFileSync(file, 'utf8').trim();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(app.output()).toContain(`SETUP CODE: ${code}`);
    expect((await app.raw('/api/v1/status')).status).toBe(401);
    expect((await app.raw('/api/v1/node')).status).toBe(200);
    const token = await app.token();
    expect(existsSync(file)).toBe(false);
    // The long press only reprints while setup is pending; after setup there is nothing to show.
    const before = app.output().split(`SETUP CODE: ${code}`).length;
    expect((await post(app, '/api/v1/hal/button', { action: 'long' }, token)).status).toBe(202);
    await new Promise((r) => setTimeout(r, 300));
    expect(app.output().split(`SETUP CODE: ${code}`).length).toBe(before);
    // CORS stays closed: a preflight from another origin gets no allow headers.
    const preflight = await app.raw('/api/v1/auth/login', { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    // Security headers: helmet's document policy on pages, OWASP's REST set on API answers.
    const headers = (res: Response, names: string[]): Record<string, string | null> => Object.fromEntries(names.map((n) => [n, res.headers.get(n)]));
    const page = await app.raw('/');
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'.*frame-ancestors 'none'/);
    expect(headers(page, ['x-content-type-options', 'cross-origin-opener-policy', 'strict-transport-security']))
      .toEqual({ 'x-content-type-options': 'nosniff', 'cross-origin-opener-policy': 'same-origin', 'strict-transport-security': null });
    const API = {
      'cache-control': 'no-store', 'content-security-policy': "default-src 'none'; frame-ancestors 'none'", 'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY', 'cross-origin-resource-policy': 'same-origin', 'origin-agent-cluster': null,
    };
    for (const res of [await app.raw('/api/v1/node'), await app.raw('/api/v1/status'), await app.get('/api/v1/auth/sessions'), await app.raw('/healthz')]) {
      expect(headers(res, Object.keys(API)), res.url).toEqual(API);
    }
  }, 60_000);

  it('a long press reprints the setup code while setup is pending; a sibling holding the USB wallet makes hardware login busy', async () => {
    const presser = { name: 'presser', entry: join(ROOT, 'tests/fixtures/children/presser.mjs'), after: ['core'], env: { PRESS: 'long', HOLD_LOCK: 'usb-wallet' } };
    app = await startAppliance({ env: { LUCID_EXTRA_CHILDREN: JSON.stringify([presser]) } });
    await app.waitHealthy(30_000);
    const code = readFileSync(join(app.dataDir, 'setup-code'), 'utf8').trim();
    await app.waitFor('the setup code printed twice', async () => app!.output().split(`SETUP CODE: ${code}`).length - 1 >= 2);
    const busy = await post(app, '/api/v1/auth/hardware', {});
    expect(busy.status).toBe(503);
    expect((await busy.json() as { code: string }).code).toBe('HAL_ERR_UNAVAILABLE');
  }, 60_000);

  it('a logged-out token is rejected after a restart of the whole appliance; the lockdown LED follows the emergency state', async () => {
    app = await startAppliance();
    await app.waitHealthy(30_000);
    const admin = await app.token();
    const res = await post(app, '/api/v1/auth/login', TEST_ADMIN);
    const session = await res.json() as { accessToken: string; refreshToken: string };
    expect((await app.raw('/api/v1/auth/me', { headers: { authorization: `Bearer ${session.accessToken}` } })).status).toBe(200);
    expect((await post(app, '/api/v1/auth/logout', {}, session.accessToken)).status).toBe(200);
    // A second admin: the grant waits for approval, and as no account can approve it (the only
    // admin asked), the device code of a long press stands in.
    const created = await post(app, '/api/v1/users', { username: 'second-admin', password: 'quiet-harbor-77-lamp', role: 'admin' }, admin);
    expect(created.status).toBe(202);
    const grant = (await created.json() as { approval: { id: string; deviceCode: boolean } }).approval;
    expect(grant.deviceCode).toBe(true);
    expect((await approveWithDeviceCode(app, grant.id, admin)).status).toBe(200);
    const other = (await (await post(app, '/api/v1/auth/login', { username: 'second-admin', password: 'quiet-harbor-77-lamp' })).json() as { accessToken: string }).accessToken;
    // The second admin sets its own password: until then the first knows it, and may not approve for it.
    expect((await post(app, '/api/v1/auth/me/password', { currentPassword: 'quiet-harbor-77-lamp', newPassword: 'amber-kettle-19-moss' }, other)).status).toBe(200);
    // Lockdown: the second admin asks, the first approves (the first made the second, so not the
    // other way round), the supervisor shows the pattern.
    const req = await (await post(app, '/api/v1/emergency/requests', { action: 'lockdown', reason: 'test' }, other)).json() as { id: string };
    expect((await post(app, `/api/v1/emergency/requests/${req.id}/approve`, {}, admin)).status).toBe(200);
    await app.waitFor('lockdown LED', async () => (await app!.json('/api/v1/status')).led.state === 'lockdown');

    const dataDir = app.dataDir;
    app.process.kill('SIGTERM');
    await app.exited();
    second = await startAppliance({ dataDir });
    await second.waitHealthy(30_000);
    expect((await second.raw('/api/v1/auth/me', { headers: { authorization: `Bearer ${session.accessToken}` } })).status).toBe(401);
    expect((await post(second, '/api/v1/auth/refresh', { refreshToken: session.refreshToken })).status).toBe(401);
    // The admin's token survived (same key, not revoked), and the lockdown with it: LED set again by core.
    const status = await second.raw('/api/v1/status', { headers: { authorization: `Bearer ${admin}` } });
    expect(status.status).toBe(200);
    await second.waitFor('lockdown LED after restart', async () => (await (await second!.raw('/api/v1/status', { headers: { authorization: `Bearer ${admin}` } })).json()).led.state === 'lockdown');
    expect((await post(second, '/api/v1/emergency/lockdown/lift', {}, admin)).status).toBe(200);
    await second.waitFor('ready LED', async () => (await (await second!.raw('/api/v1/status', { headers: { authorization: `Bearer ${admin}` } })).json()).led.state === 'ready');
  }, 90_000);
});
