// The fleet API's edges: enrollment with used, forged or expired tokens and false key proofs;
// check-ins signed by another key, replayed, or malformed; the setup code once; tokens and
// lockout; every route declares its permission (and is enforced: anonymous 401, too low 403);
// OpenAPI at /docs; bad input answers a coded 4xx, never a 5xx.
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startFleet, type TestFleet } from '../../helpers/fleet.js';
import { SimDevice, postJson } from '../../helpers/fleet-sim.js';
import { signEnvelope } from '../../../ota/shared/fleet-protocol.js';

let f: TestFleet;
beforeAll(async () => { f = await startFleet(); }, 60_000);
afterAll(async () => { await f?.stop(); });

const token = async (tags: string[] = []): Promise<string> => (await f.call('POST', '/api/v1/enrollment-tokens', { tags })).body.token;

describe('fleet API', () => {
  it('the setup code works once; a second setup is refused', async () => {
    const r = await f.call('POST', '/api/v1/auth/setup', { code: 'AAAA-BBBB', ...ADMIN }, null);
    expect([r.status, r.body.code]).toEqual([409, 'AUTH_ERR_SETUP_DONE']);
    expect((await f.call('GET', '/api/v1/auth/setup', undefined, null)).body.needed).toBe(false);
  });

  it('enrollment: single use, proof of the key, forged and expired tokens refused with codes', async () => {
    const t = await token(['lab']);
    const a = new SimDevice(f.url);
    const b = new SimDevice(f.url);
    const both = await Promise.all([a.enroll(t, f.fleetId), b.enroll(t, f.fleetId)]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 401]);
    expect(both.find((r) => r.status === 401)!.body.code).toBe('FLEET_ERR_TOKEN_INVALID');
    const winner = both[0]!.status === 200 ? a : b;
    expect(both.find((r) => r.status === 200)!.body.tags).toEqual(['lab']);
    const c = new SimDevice(f.url);
    expect((await c.enroll('lft_forged-token-that-nobody-made', f.fleetId)).body.code).toBe('FLEET_ERR_TOKEN_INVALID');
    // A proof made with another key (claiming c's id and key) is refused and burns no token.
    const t2 = await token();
    const thief = generateKeyPairSync('ed25519').privateKey;
    const forged = await postJson(f.url, '/api/v1/device/enroll', c.enrollBody(t2, f.fleetId, thief));
    expect([forged.status, forged.body.code]).toEqual([401, 'FLEET_ERR_BAD_PROOF']);
    // A proof for another fleet does not count here.
    expect((await postJson(f.url, '/api/v1/device/enroll', c.enrollBody(t2, 'another-fleet'))).body.code).toBe('FLEET_ERR_BAD_PROOF');
    expect((await c.enroll(t2, f.fleetId)).status).toBe(200);
    const list = (await f.call('GET', '/api/v1/devices')).body as Array<{ id: string }>;
    expect(list.map((d) => d.id)).toEqual(expect.arrayContaining([winner.id, c.id]));
  });

  it('check-ins: signed by another key, replayed, for another fleet or unknown → refused with codes', async () => {
    const d = new SimDevice(f.url, { version: '1.2.3' });
    await d.enroll(await token(), f.fleetId);
    expect((await d.checkin()).status).toBe(200);
    const other = generateKeyPairSync('ed25519').privateKey;
    const forged = await d.checkin(d.checkinMessage(), other);
    expect([forged.status, forged.body.code]).toEqual([401, 'FLEET_ERR_BAD_SIGNATURE']);
    // Replay: the same signed envelope twice; and N parallel copies of one message: one accepted.
    const env = signEnvelope('checkin', f.fleetId, d.id, d.checkinMessage(), d.privateKey);
    const copies = await Promise.all(Array.from({ length: 8 }, () => postJson(f.url, '/api/v1/device/checkin', env)));
    expect(copies.filter((r) => r.status === 200)).toHaveLength(1);
    expect(copies.filter((r) => r.status === 409).every((r) => r.body.code === 'FLEET_ERR_REPLAY' && r.body.details.lastSeq === d.seq)).toBe(true);
    // Signed for another fleet (its id is bound into the signature).
    const foreign = signEnvelope('checkin', 'another-fleet', d.id, d.checkinMessage(), d.privateKey);
    expect((await postJson(f.url, '/api/v1/device/checkin', foreign)).body.code).toBe('FLEET_ERR_BAD_SIGNATURE');
    // A check-in signed as a report does not pass as a check-in.
    const asReport = signEnvelope('report', f.fleetId, d.id, d.checkinMessage(), d.privateKey);
    expect((await postJson(f.url, '/api/v1/device/checkin', asReport)).body.code).toBe('FLEET_ERR_BAD_SIGNATURE');
    const stranger = new SimDevice(f.url);
    stranger.fleetId = f.fleetId;
    expect((await stranger.checkin()).body.code).toBe('FLEET_ERR_UNKNOWN_DEVICE');
    const junk = signEnvelope('checkin', f.fleetId, d.id, { seq: d.seq + 1, version: 5 }, d.privateKey);
    expect((await postJson(f.url, '/api/v1/device/checkin', junk)).body.code).toBe('FLEET_ERR_BAD_MESSAGE');
    const shown = (await f.call('GET', `/api/v1/devices/${d.id}`)).body;
    // Only the one accepted copy moved the sequence; every refused message left it alone.
    expect([shown.status.version, shown.online, shown.lastSeq]).toEqual(['1.2.3', true, JSON.parse(env.payload).seq]);
  });

  it('tokens: refresh rotates, a reused refresh token revokes the session; lockout after 5 failures', async () => {
    const login = await f.call('POST', '/api/v1/auth/login', ADMIN, null);
    const r1 = await f.call('POST', '/api/v1/auth/refresh', { refreshToken: login.body.refreshToken }, null);
    expect(r1.status).toBe(200);
    const reuse = await f.call('POST', '/api/v1/auth/refresh', { refreshToken: login.body.refreshToken }, null);
    expect(reuse.body.code).toBe('AUTH_ERR_REFRESH_REUSED');
    expect((await f.call('POST', '/api/v1/auth/refresh', { refreshToken: r1.body.refreshToken }, null)).body.code).toBe('AUTH_ERR_TOKEN_INVALID');
    await f.call('POST', '/api/v1/users', { username: 'victim1', password: 'granite-harbor-77-kite', role: 'user' });
    const tries = await Promise.all(Array.from({ length: 7 }, () => f.call('POST', '/api/v1/auth/login', { username: 'victim1', password: 'wrong-password-123456' }, null)));
    expect(tries.filter((t) => t.body.code === 'AUTH_ERR_LOCKED').length).toBeGreaterThanOrEqual(2);
    expect((await f.call('POST', '/api/v1/auth/login', { username: 'victim1', password: 'granite-harbor-77-kite' }, null)).body.code).toBe('AUTH_ERR_LOCKED');
  });

  it('every route declares its permission, which is enforced, and is documented at /docs', async () => {
    const routes = f.server.app.fleetRoutes;
    expect(routes.length).toBeGreaterThan(30);
    for (const r of routes) expect(['public', 'user', 'node_operator', 'admin', 'super_admin']).toContain(r.permission);
    await f.call('POST', '/api/v1/users', { username: 'plainuser', password: 'granite-harbor-77-kite', role: 'user' });
    const user = await f.login('plainuser', 'granite-harbor-77-kite');
    const concrete = (url: string): string => url.replace(':action', 'pause').replace(/:[A-Za-z]+/g, 'x1').replace('*', 'metadata/timestamp.json');
    for (const r of routes.filter((x) => x.permission !== 'public')) {
      const anon = await f.call(r.method as 'GET', concrete(r.url), ['POST', 'PUT'].includes(r.method) ? {} : undefined, null);
      expect([r.url, anon.status, anon.body.code]).toEqual([r.url, 401, 'AUTH_ERR_UNAUTHENTICATED']);
      if (r.permission !== 'user') {
        const low = await f.call(r.method as 'GET', concrete(r.url), ['POST', 'PUT'].includes(r.method) ? {} : undefined, user);
        expect([r.url, low.status, low.body.code]).toEqual([r.url, 403, 'AUTH_ERR_FORBIDDEN']);
      }
    }
    const doc = (await f.call('GET', '/docs/json', undefined, null)).body;
    expect(doc.info.title).toBe('Lucid fleet API');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/device/checkin', '/api/v1/rollouts/{id}/{action}', '/api/v1/approvals/{id}/approve']));
    expect(doc.paths['/api/v1/rollouts'].post['x-permission']).toBe('admin');
    expect((await f.call('GET', '/docs', undefined, null)).status).toBe(200);
  });

  it('bad input on every route is a coded 4xx, never a 5xx', async () => {
    const bodies: unknown[] = [{}, { x: 1 }, [], 'x', { name: '', stages: [] }, { tags: ['UPPER'] }, { releaseId: 'a', groupId: '../x', stages: [{ percent: 50, soakS: -1, maxFailures: 0 }] }];
    for (const r of f.server.app.fleetRoutes) {
      const url = r.url.replace(':action', 'bogus').replace(/:[A-Za-z]+/g, 'no-such-id').replace('*', '../../etc/passwd');
      for (const body of ['POST', 'PUT'].includes(r.method) ? bodies : [undefined]) {
        const res = await f.call(r.method as 'GET', url, body);
        expect([r.method, r.url, res.status < 500]).toEqual([r.method, r.url, true]);
        if (res.status >= 400) expect(typeof res.body.code).toBe('string');
      }
    }
    const stages = await f.call('POST', '/api/v1/rollouts', { releaseId: 'stable@1.0.0', groupId: 'g-x', stages: [{ percent: 50, soakS: 0, maxFailures: 0 }] });
    expect(stages.body.code).toBe('FLEET_ERR_BAD_STAGES');
    const metrics = await f.call('GET', '/metrics', undefined, null);
    expect(metrics.body).toMatch(/lucid_fleet_devices\{state="online"\} \d+/);
    expect(metrics.body).toMatch(/lucid_fleet_checkin_seconds_bucket/);
  });
});
