// The real process tree on loopback: supervisor → core (+ fixture children), as `./build.sh run`
// starts it. These are the foundation's acceptance checks.
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { startAppliance, isRunning, treePids, ROOT, type RunningAppliance } from '../helpers/appliance.js';
import { CORE_ENV, CORE_NODE_ARGS } from '../../appliance/supervisor/children.js';
import { SETTINGS } from '../../appliance/config/index.js';
import { descriptorsOf, listeningInode } from '../helpers/sockets.js';

const fixture = (name: string): string => join(ROOT, 'tests/fixtures/children', `${name}.mjs`);
const extra = (children: object[]): Record<string, string> => ({ LUCID_EXTRA_CHILDREN: JSON.stringify(children) });

let app: RunningAppliance | undefined;
afterEach(async () => {
  await app?.cleanup();
  app = undefined;
});

describe('the supervised tree', () => {
  it('boots: /healthz 200, status complete, node identity, metrics and OpenAPI', async () => {
    app = await startAppliance();
    const ms = await app.waitHealthy(10_000);
    expect(ms).toBeLessThan(10_000);
    const status = await app.json('/api/v1/status');
    expect(status.healthy).toBe(true);
    expect(status.supervised).toBe(true);
    const core = status.children.find((c: { name: string }) => c.name === 'core');
    expect(core).toMatchObject({ state: 'ready', critical: true, restarts: 0 });
    expect(core.pid).toBeGreaterThan(0);
    // Core runs with its tuning (children.ts): the malloc environment and the V8 options.
    const environ = readFileSync(`/proc/${core.pid}/environ`, 'utf8').split('\0');
    for (const [k, v] of Object.entries(CORE_ENV)) expect(environ).toContain(`${k}=${v}`);
    expect(readFileSync(`/proc/${core.pid}/cmdline`, 'utf8').split('\0')).toEqual(expect.arrayContaining([...CORE_NODE_ARGS]));
    // Core accepts on copies of the listening socket the supervisor bound; the supervisor keeps
    // one without accepting on it (appliance/supervisor/listeners.ts).
    const inode = listeningInode(app.port);
    const descriptors = SETTINGS.find((s) => s.key === 'apiAcceptDescriptors')!.default('dev');
    await app.waitFor('the accept descriptors', async () => descriptorsOf(core.pid, inode) === descriptors, 2_000);
    expect(descriptorsOf(core.pid, inode)).toBe(descriptors);
    expect(descriptorsOf(app.pid, inode)).toBe(1);
    expect(status.led.state).toBe('ready');
    expect(status.led.steps.length).toBeGreaterThan(0);
    expect(status.hal.mode).toBe('sim');
    expect(status.node.id).toMatch(/^[0-9a-f]{40}$/);
    expect(status.system.cpuCount).toBeGreaterThan(0);
    expect(status.system.memory.totalBytes).toBeGreaterThan(0);
    expect(status.system.disk.freeBytes).toBeGreaterThan(0);
    expect(status.system.loadavg).toHaveLength(3);

    const node = await app.json('/api/v1/node');
    expect(node).toEqual({ id: status.node.id, publicKey: status.node.publicKey, algorithm: 'ed25519' });
    const metrics = await (await app.get('/metrics')).text();
    expect(metrics).toMatch(/^lucid_child_up\{child="core"\} 1$/m);
    expect(metrics).toMatch(/^lucid_healthy 1$/m);
    const openapi = await app.json('/docs/json');
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/healthz', '/api/v1/status', '/api/v1/node', '/api/v1/hal/button']));
    const missing = await app.get('/api/v1/nope');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'API_ERR_NOT_FOUND' });
    // Every line every process logged is pino JSON carrying its process name.
    const names = new Set(app.output().trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l).name));
    expect([...names].sort()).toEqual(['core', 'ota-agent', 'supervisor']);
    // The update agent is in the table, not critical, and answers through core.
    expect(status.children.find((c: { name: string }) => c.name === 'ota-agent')).toMatchObject({ critical: false });
    const ota = await app.waitFor('the ota agent to answer', async () => (await app!.json('/api/v1/status')).ota ?? undefined, 10_000);
    expect(ota).toMatchObject({ slot: null, slotsAvailable: false, phase: 'idle', online: false, channel: 'stable' });
  });

  it('kill -9 of core: restarted (restarts ≥ 1) and /healthz 200 again within 5 s', async () => {
    app = await startAppliance();
    await app.waitHealthy();
    const before = await app.json('/api/v1/status');
    const corePid = before.children.find((c: { name: string }) => c.name === 'core').pid as number;
    process.kill(corePid, 'SIGKILL');
    const killedAt = Date.now();
    await app.waitFor('core to be gone', async () => !isRunning(corePid), 2000);
    const status = await app.waitFor('core restarted and healthy', async () => {
      const r = await app!.get('/api/v1/status');
      if (r.status !== 200) return undefined;
      const s = await r.json();
      const core = s.children.find((c: { name: string }) => c.name === 'core');
      return s.healthy && core.restarts >= 1 ? s : undefined;
    }, 5000);
    expect(Date.now() - killedAt).toBeLessThan(5000);
    const core = status.children.find((c: { name: string }) => c.name === 'core');
    expect(core.pid).not.toBe(corePid);
    expect(core.lastExit).toMatchObject({ signal: 'SIGKILL', reason: 'crash' });
    expect((await app.get('/healthz')).status).toBe(200);
  });

  it('a child that always crashes ends failed, with the fault pattern and /healthz 503, without a busy loop', async () => {
    app = await startAppliance({ env: extra([{ name: 'crasher', entry: fixture('crash'), critical: true, after: ['core'] }]) });
    const status = await app.waitFor('crasher failed', async () => {
      const s = await app!.json('/api/v1/status');
      return s.children.find((c: { name: string }) => c.name === 'crasher')?.state === 'failed' ? s : undefined;
    }, 40_000);
    const crasher = status.children.find((c: { name: string }) => c.name === 'crasher');
    // 5 exits: the first start and 4 restarts spaced by the backoff (≈1+2+4+8 s), then failed.
    expect(crasher.restarts).toBe(4);
    expect(crasher.failedReason).toMatch(/crash loop: 5 exits/);
    expect(crasher.lastExit).toMatchObject({ code: 3 });
    expect(crasher.pid).toBeNull();
    expect(status.led.state).toBe('fault');
    expect(status.healthy).toBe(false);
    const health = await app.get('/healthz');
    expect(health.status).toBe(503);
    expect((await health.json()).reasons.join()).toMatch(/crasher failed/);
    // Backoff spacing (not a busy loop): five starts took ≥ 1+2+4+8 s minus jitter.
    expect(status.children.find((c: { name: string }) => c.name === 'crasher').startedAt - status.children.find((c: { name: string }) => c.name === 'core').readyAt)
      .toBeGreaterThan(0.85 * 15_000 - 1000);
    await new Promise((r) => setTimeout(r, 2000));
    const later = await app.json('/api/v1/status');
    expect(later.children.find((c: { name: string }) => c.name === 'crasher').restarts).toBe(4);
    const supervisorCpu = cpuSeconds(app.pid);
    await new Promise((r) => setTimeout(r, 2000));
    expect(cpuSeconds(app.pid) - supervisorCpu).toBeLessThan(0.5);
  }, 60_000);

  it('a child whose heartbeat stops is killed and restarted', async () => {
    app = await startAppliance({ env: { ...extra([{ name: 'hang', entry: fixture('hang'), critical: false }]), LUCID_HEARTBEAT_MS: '300' } });
    const status = await app.waitFor('hang restarted after missed heartbeats', async () => {
      const s = await app!.json('/api/v1/status');
      const c = s.children.find((x: { name: string }) => x.name === 'hang');
      return c?.restarts >= 1 ? s : undefined;
    }, 15_000);
    const hang = status.children.find((c: { name: string }) => c.name === 'hang');
    expect(hang.lastExit).toMatchObject({ reason: 'heartbeat-missed', signal: 'SIGKILL' });
  });

  it('starts in dependency order and shows update locks taken over IPC', async () => {
    app = await startAppliance({ env: extra([{ name: 'locker', entry: fixture('locker'), after: ['core'] }]) });
    const status = await app.waitFor('lock visible', async () => {
      const s = await app!.json('/api/v1/status');
      return s.locks.length > 0 ? s : undefined;
    });
    expect(status.locks).toEqual([{ name: 'test-lock', holders: ['locker'] }]);
    const core = status.children.find((c: { name: string }) => c.name === 'core');
    const locker = status.children.find((c: { name: string }) => c.name === 'locker');
    expect(locker.startedAt).toBeGreaterThanOrEqual(core.readyAt);
    // The lock dies with its holder.
    process.kill(locker.pid, 'SIGKILL');
    await app.waitFor('lock released', async () => {
      const s = await app!.json('/api/v1/status');
      return s.locks.length === 0 || s.locks[0].holders.length === 0 ? true : undefined;
    }, 3000);
  });

  it('the simulated button reaches core through the supervisor', async () => {
    app = await startAppliance();
    await app.waitHealthy();
    const r = await app.get('/api/v1/hal/button', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ action: 'long' }) });
    expect(r.status).toBe(202);
    const status = await app.waitFor('button event', async () => {
      const s = await app!.json('/api/v1/status');
      return s.lastButtonEvent ? s : undefined;
    }, 3000);
    expect(status.lastButtonEvent.action).toBe('long');
    const bad = await app.get('/api/v1/hal/button', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ action: 'hold', x: 1 }) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'API_ERR_VALIDATION' });
  });
});

describe('stopping the tree', () => {
  it('SIGTERM: every process exits within the deadline, a stubborn child by SIGKILL', async () => {
    app = await startAppliance({ env: { ...extra([{ name: 'stubborn', entry: fixture('stubborn') }]), LUCID_STOP_TIMEOUT_MS: '3000' } });
    await app.waitHealthy();
    await app.waitFor('stubborn ready', async () => {
      const s = await app!.json('/api/v1/status');
      return s.children.every((c: { state: string }) => c.state === 'ready') ? true : undefined;
    });
    const pids = treePids(app.pid);
    expect(pids.length).toBeGreaterThanOrEqual(3);
    const started = Date.now();
    process.kill(app.pid, 'SIGTERM');
    const exit = await app.exited();
    const took = Date.now() - started;
    expect(exit.code).toBe(0);
    expect(took).toBeLessThan(3000 + 1500);
    expect(took).toBeGreaterThanOrEqual(2900);  // the stubborn child held out until the deadline
    for (const pid of pids) expect(isRunning(pid), `pid ${pid} survived`).toBe(false);
    expect(app.output()).toMatch(/"child":"stubborn".*"signal":"SIGKILL".*"reason":"stop-deadline"/);
  });

  it('SIGTERM without stubborn children is quick and clean', async () => {
    app = await startAppliance();
    await app.waitHealthy();
    const pids = treePids(app.pid);
    const started = Date.now();
    process.kill(app.pid, 'SIGTERM');
    expect((await app.exited()).code).toBe(0);
    expect(Date.now() - started).toBeLessThan(2000);
    for (const pid of pids) expect(isRunning(pid)).toBe(false);
  });

  it('SIGKILL of the supervisor: no process of the tree is left after 5 s', async () => {
    app = await startAppliance({ env: extra([{ name: 'stubborn', entry: fixture('stubborn') }]) });
    await app.waitHealthy();
    await app.waitFor('stubborn ready', async () => {
      const s = await app!.json('/api/v1/status');
      return s.children.every((c: { state: string }) => c.state === 'ready') ? true : undefined;
    });
    const pids = treePids(app.pid);
    expect(pids.length).toBeGreaterThanOrEqual(3);
    process.kill(app.pid, 'SIGKILL');
    await app.waitFor('the whole tree to be gone', async () => pids.every((p) => !isRunning(p)), 5000);
  });
});

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
