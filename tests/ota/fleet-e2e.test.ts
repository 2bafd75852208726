// Issue 22 § Tests, end to end on loopback: the fleet server as its own process, a real registry
// (docker-registry, its access log on), and five appliances — real supervisor, core and OTA agent
// processes from real images of this checkout, each with its own data volume and slots, the
// host step run the way systemd runs it (tests/helpers/ota-device.ts) — in fleet mode
// (LUCID_FLEET_URL + LUCID_FLEET_TOKEN). v1 → v2 goes through every stage while one device is
// offline, which catches up when it is back; v3, whose self-test fails, halts the rollout on its
// canary, the canary rolls back by itself, and no other device ever downloads v3's layers
// (registry access log and the devices' own blob stores); a rollout aborted mid-stage starts no
// device after the abort; a halt with rollbackOnHalt makes a device that committed roll back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createReleaseEnv, type ReleaseEnv, type TestRelease } from '../helpers/ota-releases.js';
import { OtaDevice } from '../helpers/ota-device.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { ADMIN, fleetApi, startFleetProcess, until, type FleetApi } from '../helpers/fleet.js';
import { closePools } from '../helpers/fleet-sim.js';
import { digestHex } from '../../ota/shared/oci/index.js';
import { rolloutOrder } from '../../ota/server/domain/groups.js';

const N = 5;
let registry: TestRegistry;
let env: ReleaseEnv;
let fleetProc: Awaited<ReturnType<typeof startFleetProcess>>;
let fleet: FleetApi;
let token: string;
const devices: OtaDevice[] = [];
let v1: TestRelease;
let v2: TestRelease;
let v3: TestRelease;
let v4: TestRelease;
/** The two devices the aborted v4 rollout updated (the rollback test uses one). */
let inStage: OtaDevice[] = [];
const t0 = Date.now();
const log = (m: string): void => { process.stderr.write(`[fleet-e2e +${((Date.now() - t0) / 1000).toFixed(0)} s] ${m}\n`); };

const fleetFile = (d: OtaDevice): { deviceId: string; current: { id: string; version: string; phase: string; reason: string | null } | null } | null => {
  const f = join(d.dataDir, 'ota', 'fleet.json');
  return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : null;
};
const rollout = async (id: string) => (await fleet.call('GET', `/api/v1/rollouts/${id}`)).body;
const blobGets = (layer: string): number => registry.output().split('\n').filter((l) => l.includes(`GET /v2/lucid/appliance/blobs/${layer}`)).length;
const holdsBlob = (d: OtaDevice, digest: string): boolean => existsSync(join(d.dataDir, 'ota', 'blobs', 'sha256', digestHex(digest)));

async function publishAndSync(r: TestRelease): Promise<void> {
  const at = Date.now();
  await env.publish(r);
  const published = Date.now();
  const s = await fleet.call('POST', '/api/v1/channels/stable/sync');
  expect(s.status, JSON.stringify(s.body)).toBe(200);
  log(`${r.version} published in ${((published - at) / 1000).toFixed(1)} s, synced in ${((Date.now() - published) / 1000).toFixed(1)} s`);
}

async function group(name: string, members: OtaDevice[]): Promise<string> {
  const g = await fleet.call('POST', '/api/v1/groups', { name: `${name}-${Date.now() % 100000}`, kind: 'static', members: members.map((d) => fleetFile(d)!.deviceId) });
  expect(g.status, JSON.stringify(g.body)).toBe(201);
  return g.body.id as string;
}

/** Starts a rollout of `stable@<version>` to a group; its id. */
async function startRollout(version: string, groupId: string, stages: ReadonlyArray<Record<string, number>>, extra: Record<string, unknown> = {}): Promise<string> {
  const created = await fleet.call('POST', '/api/v1/rollouts', { releaseId: `stable@${version}`, groupId, stages, ...extra });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.rollout.id as string;
}

beforeAll(async () => {
  registry = await startRegistry({ accessLog: true });
  env = await createReleaseEnv({ registry });
  [v1, v2, v3, v4] = [await env.build('1.0.0'), await env.build('2.0.0'), await env.build('3.0.0', { fault: 'selftest-fails' }), await env.build('4.0.0')];
  log('images built');
  // Check-ins every 2 s (±10 %); a device unseen for 30 s is offline; rollouts evaluated every 200 ms.
  fleetProc = await startFleetProcess({ LUCID_FLEET_CHECKIN_S: '2', LUCID_FLEET_OFFLINE_S: '30', LUCID_FLEET_EVALUATE_MS: '200', LUCID_FLEET_SYNC_S: '0' });
  fleet = fleetApi(fleetProc.url, () => token, async () => { token = await fleet.login(ADMIN.username, ADMIN.password); });
  const code = /fleet setup code: ([0-9A-Z-]+)/.exec(fleetProc.output())![1]!;
  const setup = await fleet.call('POST', '/api/v1/auth/setup', { code, ...ADMIN }, null);
  expect(setup.status).toBe(200);
  token = setup.body.accessToken;
  await env.publish(v1);
  const ch = await fleet.call('POST', '/api/v1/channels', { name: 'stable', repositoryUrl: env.url, rootJson: readFileSync(env.rootJson, 'utf8') });
  expect(ch.status, JSON.stringify(ch.body)).toBe(201);
  // Device 0 is enrolled by an admin through its API (the Updates page's form); the others by env.
  const tokens: string[] = [];
  for (let i = 0; i < N; i++) {
    tokens.push((await fleet.call('POST', '/api/v1/enrollment-tokens', { tags: ['e2e'] })).body.token);
    devices.push(await OtaDevice.create(v1, {
      env: { ...(i > 0 ? { LUCID_FLEET_URL: fleetProc.url, LUCID_FLEET_TOKEN: tokens[i]! } : {}), LUCID_OTA_AUTO_INSTALL: 'off', LUCID_OTA_SOAK_S: '2' },
    }));
  }
  for (const d of devices) d.start();
  await Promise.all(devices.map((d) => d.waitCommitted('1.0.0', 180_000)));
  const first = devices[0]!;
  expect((await first.api('POST', '/api/v1/ota/fleet/enroll', { url: 'http://10.1.2.3:8090', token: tokens[0] }))!.body.code).toBe('OTA_ERR_FLEET_URL');
  expect((await first.api('POST', '/api/v1/ota/fleet/enroll', { url: fleetProc.url, token: 'lft_notatoken.short' }))!.body.code).toBe('OTA_ERR_FLEET_TOKEN');
  const enrolled = await first.api('POST', '/api/v1/ota/fleet/enroll', { url: fleetProc.url, token: tokens[0] });
  expect(enrolled?.status, JSON.stringify(enrolled?.body)).toBe(200);
  expect(enrolled!.body.fleet).toMatchObject({ enrolled: true, url: fleetProc.url });
  expect((await first.api('POST', '/api/v1/ota/fleet/enroll', { url: fleetProc.url, token: tokens[1] }))!.body.code).toBe('OTA_ERR_FLEET_ENROLLED');
  await Promise.all(devices.map((d) => d.waitFor('enrolled and checked in', async () => (await d.ota())?.fleet?.lastCheckinAt, 60_000, 250)));
  log(`${N} appliances up and enrolled`);
  // What fleet mode costs the agent (its code is loaded only in fleet mode): RSS of each agent.
  const rss = devices.map((d) => { const p = d.childPid('ota-agent'); return p ? Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) / 1024 : 0; });
  log(`fleet-mode agent RSS after enrollment (MB): ${rss.map((r) => r.toFixed(1)).join(', ')}`);
}, 20 * 60_000);

afterAll(async () => {
  await Promise.all(devices.map((d) => d.destroy()));
  await fleetProc?.stop();
  await closePools();
  await env?.stop();
});

describe(`fleet end to end: fleet server process, registry, ${N} appliances`, () => {
  it('every device is listed with its version, slot and health from signed check-ins', async () => {
    const list = (await fleet.call('GET', '/api/v1/devices?limit=50')).body;
    const rows = (Array.isArray(list) ? list : list.devices) as Array<{ id: string; status: { version: string; slot: string | null; health: string; freeDiskBytes: number | null } }>;
    for (const d of devices) {
      const row = rows.find((r) => r.id === fleetFile(d)!.deviceId);
      expect(row, 'device listed').toBeDefined();
      expect(row!.status).toMatchObject({ version: '1.0.0', slot: 'a', health: 'ok' });
      expect(row!.status.freeDiskBytes).toBeGreaterThan(0);
    }
  });

  it('v1 → v2 finishes all stages; a device offline during its stage catches up when it is back', async () => {
    await publishAndSync(v2);
    const gid = await group('all', devices);
    const started = Date.now();
    const id = await startRollout('2.0.0', gid, [{ count: 1, soakS: 2, maxFailures: 0 }, { percent: 50, soakS: 2, maxFailures: 0 }, { percent: 100, soakS: 0, maxFailures: 0 }]);
    // The device that goes offline is the last of the rollout's order (the fleet's own: a hash of
    // rollout and device ids), so it is in the last stage: a canary that never comes back holds
    // its rollout by design (the first stage must prove the release), which is not this test.
    const last = rolloutOrder(id, devices.map((d) => fleetFile(d)!.deviceId)).at(-1);
    const offline = devices.find((d) => fleetFile(d)!.deviceId === last)!;
    await offline.stop();
    const seen: number[] = [];
    const done = await until('rollout completed', async () => {
      const r = await rollout(id);
      if (!seen.includes(r.rollout.stage)) seen.push(r.rollout.stage);
      return r.rollout.state === 'completed' ? r : null;
    }, 10 * 60_000, 500);
    log(`v2 rollout completed in ${((Date.now() - started) / 1000).toFixed(0)} s, stages seen ${seen.join(',')}`);
    expect(seen).toEqual([0, 1, 2]);
    const online = devices.filter((d) => d !== offline);
    for (const d of online) {
      const s = await d.waitCommitted('2.0.0', 60_000);
      expect(s.slot).toBe('b');
      expect(s.history[0]).toMatchObject({ version: '2.0.0', outcome: 'committed' });
      expect(fleetFile(d)!.current).toMatchObject({ version: '2.0.0', phase: 'committed' });
    }
    expect(done.failures).toEqual([]);
    // The offline one comes back, checks in, takes its assignment and installs it.
    offline.start();
    const s = await offline.waitCommitted('2.0.0', 5 * 60_000);
    expect(s.history[0]).toMatchObject({ version: '2.0.0', fromVersion: '1.0.0', outcome: 'committed' });
    await until('all five healthy in the rollout', async () => {
      const r = await rollout(id);
      return r.stages.reduce((n: number, x: { states: Record<string, number> }) => n + (x.states['healthy'] ?? 0), 0) === N;
    }, 60_000, 500);
    log('the offline device caught up');
  }, 20 * 60_000);

  it('v3 failing its health gate on the canary halts the rollout; the canary rolls back; no other device downloads v3', async () => {
    await publishAndSync(v3);
    const gid = await group('v3', devices);
    const id = await startRollout('3.0.0', gid, [{ count: 1, soakS: 2, maxFailures: 0 }, { percent: 100, soakS: 0, maxFailures: 0 }]);
    const halted = await until('halted', async () => { const r = await rollout(id); return r.rollout.state === 'halted' ? r : null; }, 6 * 60_000, 500);
    expect(halted.rollout.reason).toMatch(/stage 1: 1 of 1 devices failed/);
    expect(halted.failures).toEqual([expect.objectContaining({ state: 'rolled-back', reason: expect.stringMatching(/self-test failed/) })]);
    const canary = devices.filter((d) => fleetFile(d)!.current?.version === '3.0.0');
    expect(canary).toHaveLength(1);
    const back = await canary[0]!.waitCommitted('2.0.0', 120_000);
    expect(back.history[0]).toMatchObject({ version: '3.0.0', outcome: 'rolled-back' });
    // Several check-ins later: still nobody else was told about v3.
    await new Promise((r) => setTimeout(r, 8000));
    const others = devices.filter((d) => d !== canary[0]);
    for (const d of others) {
      expect(fleetFile(d)!.current?.version).toBe('2.0.0');
      expect(holdsBlob(d, v3.appLayer.digest)).toBe(false);
      expect(d.output()).not.toMatch(/"version":"3\.0\.0"[^\n]*release fetched|release fetched[^\n]*"version":"3\.0\.0"/);
      expect((await d.ota())!.version).toBe('2.0.0');
    }
    // The registry served v3's app layer (to the canary: the only device that fetched it).
    expect(blobGets(v3.appLayer.digest)).toBeGreaterThanOrEqual(1);
    expect(canary[0]!.output()).toMatch(/release fetched/);
    expect((await fleet.call('POST', `/api/v1/rollouts/${id}/abort`)).body.state).toBe('aborted');
  }, 10 * 60_000);

  it('abort mid-stage: the stage\'s devices were assigned, no device is assigned after the abort', async () => {
    await publishAndSync(v4);
    const gid = await group('v4', devices);
    const id = await startRollout('4.0.0', gid, [{ count: 2, soakS: 600, maxFailures: 0 }, { percent: 100, soakS: 0, maxFailures: 0 }]);
    inStage = await until('two devices working on v4', async () => {
      const ds = devices.filter((d) => fleetFile(d)!.current?.version === '4.0.0');
      return ds.length === 2 ? ds : null;
    }, 120_000, 200);
    expect((await fleet.call('POST', `/api/v1/rollouts/${id}/abort`)).body.state).toBe('aborted');
    // The two finish what they started (an update is never cut); the other three stay on v2.
    for (const d of inStage) await d.waitCommitted('4.0.0', 180_000);
    await new Promise((r) => setTimeout(r, 8000));
    const rest = devices.filter((d) => !inStage.includes(d));
    expect(rest).toHaveLength(3);
    for (const d of rest) {
      expect(fleetFile(d)!.current?.version).not.toBe('4.0.0');
      expect((await d.ota())!.version).toBe('2.0.0');
      expect(holdsBlob(d, v4.appLayer.digest)).toBe(false);
    }
    expect((await rollout(id)).rollout.state).toBe('aborted');
  }, 10 * 60_000);

  it('a halt with rollbackOnHalt: the device that committed is told to roll back and returns to its previous version', async () => {
    const updated = inStage[0]!;
    const failing = devices.find((d) => !inStage.includes(d))!;
    // The failing device's trust time is years ahead (a clock far off): the signed metadata has
    // expired for it, so it refuses the release — a real failure on the device, reported as such.
    await failing.stop();
    writeFileSync(join(failing.dataDir, 'ota', 'time-floor.json'), `${JSON.stringify({ floor: Math.floor(Date.now() / 1000) + 10 * 365 * 86400, timestampKeys: [] })}\n`);
    const gid = await group('halt', [updated, failing]);
    // One stage with a long soak: it cannot finish before the failing device is back.
    const id = await startRollout('4.0.0', gid, [{ percent: 100, soakS: 600, maxFailures: 0 }], { rollbackOnHalt: true });
    // The one already on 4.0.0 reports committed at once; then the other comes back and fails.
    await until('the updated device committed in this rollout', async () => { const c = fleetFile(updated)!.current; return c?.id.startsWith(id) && c.phase === 'committed'; }, 60_000, 250);
    failing.start();
    const halted = await until('halted', async () => { const r = await rollout(id); return r.rollout.state === 'halted' ? r : null; }, 5 * 60_000, 500);
    expect(halted.failures).toEqual(expect.arrayContaining([expect.objectContaining({ state: 'failed', reason: expect.stringMatching(/OTA_ERR_METADATA_EXPIRED/) })]));
    // The fleet's "roll back" goes through the agent's own rollback: previous slot, trial, commit.
    const back = await updated.waitCommitted('2.0.0', 5 * 60_000);
    expect(back.history[0]).toMatchObject({ kind: 'rollback', version: '2.0.0', fromVersion: '4.0.0', outcome: 'committed' });
    await until('reported reverted', async () => fleetFile(updated)!.current?.phase === 'reverted', 60_000, 250);
    await until('the fleet has it reverted', async () => (await rollout(id)).failures.some((f: { state: string }) => f.state === 'reverted'), 60_000, 500);
    expect((await failing.ota())!.version).toBe('2.0.0');
    log('halt with rollbackOnHalt: the committed device rolled back on the fleet\'s word');
  }, 12 * 60_000);
});
