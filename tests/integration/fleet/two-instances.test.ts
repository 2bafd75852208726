// Two fleet-server processes on one PostgreSQL, devices spread across them (as behind a load
// balancer), both evaluating rollouts every 50 ms: both present the one certificate made in the
// database; every stage advances exactly once (the audit log has one advance per stage, from
// whichever instance won), no device gets two assignments, and two rollouts created at once on
// the two instances over one group claim each device once.
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spkiPin } from '../../../services/common/tls.js';
import { handshake } from '../../helpers/tls.js';
import { ADMIN, fleetApi, startChannelRepo, startFleetProcess, until, type FleetApi, type TestChannelRepo } from '../../helpers/fleet.js';
import { SimDevice, closePools } from '../../helpers/fleet-sim.js';
import { startPostgres, type TestPostgres } from '../../helpers/postgres.js';

let pg: TestPostgres;
let repo: TestChannelRepo;
let procs: Array<Awaited<ReturnType<typeof startFleetProcess>>> = [];
let a: FleetApi;
let b: FleetApi;
let tokenA = '';
let tokenB = '';

beforeAll(async () => {
  [pg, repo] = await Promise.all([startPostgres(), startChannelRepo()]);
  const url = await pg.createDatabase('two_instances');
  const env = { LUCID_FLEET_DATABASE_URL: url, LUCID_FLEET_EVALUATE_MS: '50', LUCID_FLEET_SYNC_S: '0', LUCID_FLEET_OFFLINE_S: '60' };
  procs = await Promise.all([startFleetProcess(env), startFleetProcess(env)]);
  a = fleetApi(procs[0]!.url, () => tokenA);
  b = fleetApi(procs[1]!.url, () => tokenB);
  const code = /fleet setup code: ([0-9A-Z-]+)/.exec(procs[0]!.output())![1]!;
  const setup = await a.call('POST', '/api/v1/auth/setup', { code, ...ADMIN }, null);
  expect(setup.status).toBe(200);
  tokenA = setup.body.accessToken;
  // The other instance verifies the same tokens (one signing key, made once in the store).
  tokenB = await b.login(ADMIN.username, ADMIN.password);
  expect((await b.call('GET', '/api/v1/auth/me', undefined, tokenA)).status).toBe(200);
}, 180_000);

afterAll(async () => {
  await closePools();
  await Promise.all(procs.map((p) => p.stop()));
  await repo?.stop();
  await pg?.stop();
});

describe('two fleet servers on one PostgreSQL', () => {
  it('both present the same certificate (made once, shared through the database)', async () => {
    const [x, y] = await Promise.all(procs.map((p) => handshake('127.0.0.1', Number(new URL(p.url).port))));
    expect(x!.certificate.raw.equals(y!.certificate.raw)).toBe(true);
    expect(procs[0]!.pin).toBe(procs[1]!.pin);
    expect(procs[0]!.pin).toBe(spkiPin(new X509Certificate(x!.certificate.raw)));
    // Tokens made on either instance carry that one pin.
    const [ta, tb] = await Promise.all([a, b].map(async (api) => (await api.call('POST', '/api/v1/enrollment-tokens', { tags: [] })).body.token as string));
    expect([ta!.split('.')[1], tb!.split('.')[1]]).toEqual([procs[0]!.pin, procs[0]!.pin]);
  });

  it('every stage advances once and no device gets two assignments', async () => {
    const devices: SimDevice[] = [];
    for (let i = 0; i < 12; i++) {
      const api = i % 2 ? b : a;
      const t = (await api.call('POST', '/api/v1/enrollment-tokens', { tags: ['lab'] })).body.token;
      const d = new SimDevice(api.url);
      expect((await d.enroll(t, (await a.call('GET', '/api/v1/overview')).body.fleetId)).status).toBe(200);
      devices.push(d);
    }
    await repo.sign('2.0.0');
    expect((await a.call('POST', '/api/v1/channels', { name: 'stable', repositoryUrl: repo.url, rootJson: repo.rootJson })).status).toBe(201);
    // Instance b serves the TUF files instance a mirrored.
    const ts = await b.call('GET', '/tuf/stable/metadata/timestamp.json', undefined, null);
    expect([ts.status, ts.body.signed._type]).toEqual([200, 'timestamp']);
    const g = await b.call('POST', '/api/v1/groups', { name: 'lab', kind: 'dynamic', filter: { tags: ['lab'] } });
    const stages = [{ count: 1, soakS: 0, maxFailures: 0 }, { percent: 25, soakS: 0, maxFailures: 0 }, { percent: 60, soakS: 0, maxFailures: 0 }, { percent: 100, soakS: 0, maxFailures: 0 }];
    const created = await a.call('POST', '/api/v1/rollouts', { releaseId: 'stable@2.0.0', groupId: g.body.id, stages });
    expect(created.status).toBe(201);
    const id = created.body.rollout.id;
    await until('completed', async () => {
      await Promise.all(devices.map((d) => d.cycle()));
      return (await b.call('GET', `/api/v1/rollouts/${id}`)).body.rollout.state === 'completed';
    }, 90_000, 50);
    expect(devices.every((d) => d.version === '2.0.0')).toBe(true);
    expect(devices.every((d) => d.assignments.length === 1 && new Set(d.assignments).size === 1)).toBe(true);
    const audit = (await b.call('GET', '/api/v1/audit?limit=500')).body as Array<{ action: string; target: string; details: { stage: number } }>;
    const advances = audit.filter((x) => x.action === 'rollout.advance' && x.target === id).map((x) => x.details.stage).sort();
    expect(advances).toEqual([2, 3, 4]);
    expect(audit.filter((x) => x.action === 'rollout.complete' && x.target === id)).toHaveLength(1);
    const r = (await a.call('GET', `/api/v1/rollouts/${id}`)).body.rollout;
    expect(r.history.map((h: { stage: number }) => h.stage)).toEqual([0, 1, 2, 3]);
  });

  it('two rollouts created at once on the two instances claim each device once', async () => {
    await repo.sign('3.0.0');
    await a.call('POST', '/api/v1/channels/stable/sync');
    const g = (await a.call('GET', '/api/v1/groups')).body.find((x: { name: string }) => x.name === 'lab');
    const body = { releaseId: 'stable@3.0.0', groupId: g.id, stages: [{ percent: 100, soakS: 0, maxFailures: 0 }] };
    const [x, y] = await Promise.all([a.call('POST', '/api/v1/rollouts', body), b.call('POST', '/api/v1/rollouts', body)]);
    const ok = [x, y].filter((r) => r.status === 201);
    const total = ok.reduce((s, r) => s + r.body.rollout.total, 0);
    expect(total).toBe(12);
    for (const r of [x, y]) if (r.status !== 201) expect(r.body.code).toBe('FLEET_ERR_EMPTY_GROUP');
  });
});
