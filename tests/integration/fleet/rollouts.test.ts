// Staged rollouts end to end over real HTTP with signed simulated devices (the agent's protocol,
// real Ed25519 keys) and a real TUF release repository, on both stores: all stages with soak;
// a failing canary halts the rollout and the updated devices are told to roll back while no
// other device is ever assigned; abort mid-stage; an offline device catches up; pause, retry,
// manual advance; a production group needs a second admin; the channel moving on supersedes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChannelRepo, startFleet, until, type TestChannelRepo, type TestFleet } from '../../helpers/fleet.js';
import { SimDevice } from '../../helpers/fleet-sim.js';
import { startPostgres, type TestPostgres } from '../../helpers/postgres.js';

let pg: TestPostgres;
let repo: TestChannelRepo;
let dbs = 0;
beforeAll(async () => {
  [pg, repo] = await Promise.all([startPostgres(), startChannelRepo()]);
}, 120_000);
afterAll(async () => { await repo?.stop(); await pg?.stop(); });

const STAGES = [
  { count: 1, soakS: 1, maxFailures: 0 },
  { percent: 50, soakS: 1, maxFailures: 0 },
  { percent: 100, soakS: 0, maxFailures: 1 },
];

async function fleetWith(store: string, config: NonNullable<Parameters<typeof startFleet>[0]>['config'] = {}): Promise<TestFleet> {
  return startFleet(store === 'postgres' ? { databaseUrl: await pg.createDatabase(`rollouts_${++dbs}`), config } : { config });
}

async function enrollAll(f: TestFleet, n: number, opts: ConstructorParameters<typeof SimDevice>[1] = {}, tags = ['lab']): Promise<SimDevice[]> {
  const devices: SimDevice[] = [];
  for (let i = 0; i < n; i++) {
    const tok = await f.call('POST', '/api/v1/enrollment-tokens', { tags });
    const d = new SimDevice(f.url, opts);
    expect((await d.enroll(tok.body.token, f.fleetId)).status).toBe(200);
    devices.push(d);
  }
  return devices;
}

async function channelAndGroup(f: TestFleet, version: string, groupTags: string[] = []): Promise<{ releaseId: string; groupId: string }> {
  await repo.sign(version);
  const have = await f.call('GET', '/api/v1/channels');
  if (!have.body.some((c: { name: string }) => c.name === 'stable')) {
    expect((await f.call('POST', '/api/v1/channels', { name: 'stable', repositoryUrl: repo.url, rootJson: repo.rootJson })).status).toBe(201);
  } else {
    expect((await f.call('POST', '/api/v1/channels/stable/sync')).status).toBe(200);
  }
  const g = await f.call('POST', '/api/v1/groups', { name: `lab-${Math.random().toString(36).slice(2, 8)}`, kind: 'dynamic', filter: { tags: ['lab'] }, tags: groupTags });
  expect(g.status).toBe(201);
  return { releaseId: `stable@${version}`, groupId: g.body.id };
}

const cycleAll = (ds: SimDevice[]): Promise<unknown> => Promise.all(ds.map((d) => d.cycle()));
const rollout = async (f: TestFleet, id: string) => (await f.call('GET', `/api/v1/rollouts/${id}`)).body;

describe.each(['leveldb', 'postgres'])('fleet rollouts on %s', (store) => {
  let f: TestFleet;
  beforeAll(async () => { f = await fleetWith(store); }, 60_000);
  afterAll(async () => { await f?.stop(); });

  it('v1 → v2 goes through every stage, each after its devices soaked healthy', async () => {
    const devices = await enrollAll(f, 6);
    const { releaseId, groupId } = await channelAndGroup(f, '2.0.0');
    const created = await f.call('POST', '/api/v1/rollouts', { releaseId, groupId, stages: STAGES });
    expect(created.status).toBe(201);
    const id = created.body.rollout.id;
    expect(created.body.rollout.stageEnds).toEqual([1, 3, 6]);
    const seen: number[] = [];
    await until('rollout completed', async () => {
      await cycleAll(devices);
      const r = await rollout(f, id);
      if (!seen.includes(r.rollout.stage)) seen.push(r.rollout.stage);
      // Never more devices updated than the open stages allow.
      expect(devices.filter((d) => d.version === '2.0.0').length).toBeLessThanOrEqual(r.rollout.stageEnds[r.rollout.stage]);
      return r.rollout.state === 'completed';
    }, 60_000, 200);
    expect(seen).toEqual([0, 1, 2]);
    expect(devices.every((d) => d.version === '2.0.0')).toBe(true);
    expect(devices.every((d) => d.assignments.length === 1)).toBe(true);
    const r = await rollout(f, id);
    // Soak: stage 1 ended at least 1 s after it began (its device committed, then soaked).
    expect(r.rollout.history[0].endedAt - r.rollout.history[0].startedAt).toBeGreaterThanOrEqual(1000);
    expect(r.stages.map((s: { states: Record<string, number> }) => s.states['healthy'])).toEqual([1, 2, 3]);
    const audit = (await f.call('GET', '/api/v1/audit?limit=200')).body as Array<{ action: string; target: string }>;
    expect(audit.filter((a) => a.action === 'rollout.advance' && a.target === id)).toHaveLength(2);
    expect(audit.filter((a) => a.action === 'rollout.complete' && a.target === id)).toHaveLength(1);
  });

  it('v3 failing on the canary halts; updated devices are told to roll back; no one else is ever assigned v3', async () => {
    const devices = await enrollAll(f, 5, { version: '2.0.0', failVersions: ['3.0.0'] }, ['lab']);
    const { releaseId, groupId } = await channelAndGroup(f, '3.0.0');
    // The group holds the earlier devices too (all tagged lab, on 2.0.0): filter on this batch's version.
    const g = await f.call('PUT', `/api/v1/groups/${groupId}`, { name: `v3-${Date.now()}`, kind: 'static', members: devices.map((d) => d.id) });
    expect(g.status).toBe(200);
    const created = await f.call('POST', '/api/v1/rollouts', { releaseId, groupId, stages: STAGES, rollbackOnHalt: true });
    const id = created.body.rollout.id;
    const r = await until('halted', async () => { await cycleAll(devices); const x = await rollout(f, id); return x.rollout.state === 'halted' ? x : null; }, 30_000, 100);
    expect(r.rollout.reason).toMatch(/stage 1: 1 of 1 devices failed/);
    expect(r.failures).toEqual([expect.objectContaining({ state: 'rolled-back', reason: 'health gate: self-test failed', stage: 1 })]);
    for (let i = 0; i < 5; i++) await cycleAll(devices);
    expect(devices.filter((d) => d.assignments.length > 0)).toHaveLength(1);
    expect(devices.every((d) => d.version === '2.0.0')).toBe(true);
    const codes = (await f.call('POST', `/api/v1/rollouts/${id}/advance`)).body.code;
    expect(codes).toBe('FLEET_ERR_INVALID_TRANSITION');
    expect((await f.call('POST', `/api/v1/rollouts/${id}/abort`)).body.state).toBe('aborted');
  });

  it('a device that committed is told to roll back when a later device halts the rollout', async () => {
    const [sick] = await enrollAll(f, 1, { version: '3.0.0', unhealthyVersions: ['4.0.0'] }, ['lab']);
    const fine = await enrollAll(f, 2, { version: '3.0.0' }, ['lab']);
    const devices = [fine[0]!, sick!, fine[1]!];
    const { releaseId, groupId } = await channelAndGroup(f, '4.0.0');
    await f.call('PUT', `/api/v1/groups/${groupId}`, { name: `v4-${Date.now()}`, kind: 'static', members: devices.map((d) => d.id) });
    const created = await f.call('POST', '/api/v1/rollouts', { releaseId, groupId, stages: [{ percent: 100, soakS: 1, maxFailures: 0 }], rollbackOnHalt: true });
    const id = created.body.rollout.id;
    await until('halted', async () => { await cycleAll(devices); return (await rollout(f, id)).rollout.state === 'halted'; }, 30_000, 100);
    await until('the others rolled back', async () => { await cycleAll(devices); return devices.filter((d) => d !== devices[1]).every((d) => d.version === '3.0.0'); }, 30_000, 100);
    const r = await rollout(f, id);
    expect(r.failures.map((x: { state: string }) => x.state).sort()).toEqual(['reverted', 'reverted', 'unhealthy']);
    await f.call('POST', `/api/v1/rollouts/${id}/abort`);
  });

  it('abort mid-stage: no device starts after it; an offline device catches up on a later rollout; pause, retry, advance', async () => {
    // Its own fleet, where a device unseen for 3 s counts as offline: which of the two devices
    // goes offline is the one in the last stage or not, by the rollout's random order, and one in
    // the last stage holds the rollout until it counts as offline (30 s in the shared fleet).
    const shared = f;
    f = await fleetWith(store, { offlineAfterS: 3 });
    try {
    const devices = await enrollAll(f, 4, { version: '4.0.0' }, ['lab']);
    const { releaseId, groupId } = await channelAndGroup(f, '5.0.0');
    await f.call('PUT', `/api/v1/groups/${groupId}`, { name: `v5-${Date.now()}`, kind: 'static', members: devices.map((d) => d.id) });
    const a = await f.call('POST', '/api/v1/rollouts', { releaseId, groupId, stages: [{ count: 2, soakS: 60, maxFailures: 0 }, { percent: 100, soakS: 0, maxFailures: 0 }] });
    const id = a.body.rollout.id;
    await cycleAll(devices);
    expect(devices.filter((d) => d.version === '5.0.0')).toHaveLength(2);
    expect((await f.call('POST', `/api/v1/rollouts/${id}/abort`)).body.state).toBe('aborted');
    for (let i = 0; i < 3; i++) await cycleAll(devices);
    expect(devices.filter((d) => d.assignments.length > 0)).toHaveLength(2);

    // The two not updated: one goes offline; a new rollout; pause holds back; advance opens stage 2.
    const rest = devices.filter((d) => d.version !== '5.0.0');
    rest[1]!.online = false;
    const b = await f.call('POST', '/api/v1/rollouts', { releaseId, groupId: (await f.call('POST', '/api/v1/groups', { name: `rest-${Date.now()}`, kind: 'static', members: rest.map((d) => d.id) })).body.id, stages: [{ count: 1, soakS: 0, maxFailures: 0 }, { percent: 100, soakS: 0, maxFailures: 0 }] });
    const id2 = b.body.rollout.id;
    expect((await f.call('POST', `/api/v1/rollouts/${id2}/pause`)).body.state).toBe('paused');
    await cycleAll(rest);
    expect(rest.every((d) => d.assignments.length === 0)).toBe(true);
    expect((await f.call('POST', `/api/v1/rollouts/${id2}/advance`)).body.stage).toBe(1);
    expect((await f.call('POST', `/api/v1/rollouts/${id2}/resume`)).body.state).toBe('running');
    await until('completed with the offline device still pending', async () => { await cycleAll(rest); return (await rollout(f, id2)).rollout.state === 'completed'; }, 30_000, 100);
    expect(rest[1]!.version).toBe('4.0.0');
    rest[1]!.online = true;
    await until('the offline device caught up', async () => { await cycleAll(rest); return rest[1]!.version === '5.0.0'; }, 30_000, 100);
    const healthy = async (): Promise<number> => (await rollout(f, id2)).stages.reduce((s: number, x: { states: Record<string, number> }) => s + (x.states['healthy'] ?? 0), 0);
    await until('both healthy (the late one after its next check-in)', async () => { await cycleAll(rest); return (await healthy()) === 2; }, 30_000, 100);
    expect(rest.every((d) => d.assignments.length === 1)).toBe(true);
    } finally {
      await f.stop();
      f = shared;
    }
  }, 120_000);

  it('a production group waits for a second, independent admin', async () => {
    const devices = await enrollAll(f, 2, { version: '5.0.0' }, ['lab']);
    const { releaseId, groupId } = await channelAndGroup(f, '6.0.0', ['production']);
    await f.call('PUT', `/api/v1/groups/${groupId}`, { name: `prod-${Date.now()}`, kind: 'static', members: devices.map((d) => d.id), tags: ['production'] });
    // Bob is made by root; he sets his own password (else root knows it and may not approve for him).
    const bobName = `bob${store}${Date.now() % 100000}`;
    expect((await f.call('POST', '/api/v1/users', { username: bobName, password: 'granite-harbor-77-kite', role: 'admin' })).status).toBe(201);
    const bob = await f.login(bobName, 'granite-harbor-77-kite');
    expect((await f.call('POST', '/api/v1/auth/me/password', { currentPassword: 'granite-harbor-77-kite', newPassword: 'quartz-meadow-19-lantern' }, bob)).status).toBe(200);
    const bob2 = await f.login(bobName, 'quartz-meadow-19-lantern');
    // Root asks: bob was made by root, so bob may not approve root's request.
    const mine = await f.call('POST', '/api/v1/rollouts', { releaseId, groupId, stages: [{ percent: 100, soakS: 0, maxFailures: 0 }] });
    expect(mine.body.rollout.state).toBe('pending-approval');
    expect((await f.call('POST', `/api/v1/approvals/${mine.body.approvalId}/approve`)).body.code).toBe('AUTH_ERR_APPROVAL_SELF');
    expect((await f.call('POST', `/api/v1/approvals/${mine.body.approvalId}/approve`, undefined, bob2)).body.code).toBe('AUTH_ERR_APPROVAL_NOT_INDEPENDENT');
    await cycleAll(devices);
    expect(devices.every((d) => d.assignments.length === 0)).toBe(true);
    await f.call('POST', `/api/v1/rollouts/${mine.body.rollout.id}/abort`);
    // Bob asks, root approves — eight approvals at once start it once.
    const his = await f.call('POST', '/api/v1/rollouts', { releaseId, groupId, stages: [{ percent: 100, soakS: 0, maxFailures: 0 }] }, bob2);
    expect(his.status).toBe(201);
    const results = await Promise.all(Array.from({ length: 8 }, () => f.call('POST', `/api/v1/approvals/${his.body.approvalId}/approve`)));
    expect(results.filter((x) => x.status === 200)).toHaveLength(1);
    expect(results.filter((x) => x.status !== 200).every((x) => x.body.code === 'AUTH_ERR_REQUEST_NOT_FOUND')).toBe(true);
    await until('completed', async () => { await cycleAll(devices); return (await rollout(f, his.body.rollout.id)).rollout.state === 'completed'; }, 30_000, 100);
  });

  it('refuses a release the TUF repository does not sign, and reports for a rollout the device is not in', async () => {
    const [d] = await enrollAll(f, 1, { version: '6.0.0' }, ['lab']);
    const g = await f.call('POST', '/api/v1/groups', { name: `one-${Date.now()}`, kind: 'static', members: [d!.id] });
    for (const releaseId of ['stable@9.9.9', 'stable@2.0.0', 'nope@1.0.0']) {
      const r = await f.call('POST', '/api/v1/rollouts', { releaseId, groupId: g.body.id, stages: [{ percent: 100, soakS: 0, maxFailures: 0 }] });
      expect([r.status, r.body.code]).toEqual([422, 'FLEET_ERR_RELEASE_UNSIGNED']);
    }
    const other = (await f.call('GET', '/api/v1/rollouts')).body[0];
    await d!.checkin();
    const rep = await d!.report({ id: `${other.id}.0`, rolloutId: other.id }, 'committed');
    expect([rep.status, rep.body.code]).toEqual([409, 'FLEET_ERR_NOT_IN_ROLLOUT']);
  });
});
