// `./build.sh bench fleet`: 100,000 simulated devices checking in every 60 s (~1,667 signed
// check-ins a second, each verified by the server) against fleet-server processes on this
// machine: one instance on LevelDB, one on PostgreSQL, two on one PostgreSQL; the largest fleet
// one instance serves at p99 ≤ 50 ms; and a rollout across the 100,000 with its stage-advance
// latency. The load generator shares the machine: its own CPU, the server's and PostgreSQL's,
// and the whole machine's busy share are measured over each window and printed beside the
// latencies, with the load average. Contract lines:
//   {"bench":"fleet","store":"leveldb"|"postgres","instances":N,"devices":N,"p50ms":…,"p99ms":…}
// Settings: BENCH_FLEET_DEVICES (100000), BENCH_FLEET_SECONDS (60: one full check-in period),
// BENCH_FLEET_CAPACITY=0 skips the capacity search, BENCH_FLEET_ROLLOUT=0 the rollout; BENCH_FLEET_PERIOD_S
// (60) shortens the check-in period for a quick smoke run; BENCH_FLEET_ONLY=leveldb:1,postgres:1,postgres:2
// picks deployments; BENCH_FLEET_CPU_PROF=<dir> writes each server's CPU profile there.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'undici';
import { signEnvelope } from '../../ota/shared/fleet-protocol.js';
import { LevelFleetStore } from '../../ota/server/store/level-store.js';
import { PgFleetStore } from '../../ota/server/store/pg-store.js';
import type { FleetStore } from '../../ota/server/store/types.js';
import { ADMIN, fleetApi, startChannelRepo, startFleetProcess } from '../helpers/fleet.js';
import { pinnedPool } from '../helpers/fleet-sim.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { cpuOf, loadavg, machineTicks, makeDevices, percentile, postgresCpu, records, runLoad, sendCheckin, shuffle, type CheckinHook, type LoadDevice } from './_fleet-load.js';

const N = Number(process.env['BENCH_FLEET_DEVICES'] ?? 100_000);
const WINDOW_S = Number(process.env['BENCH_FLEET_SECONDS'] ?? 60);
const PERIOD_S = Number(process.env['BENCH_FLEET_PERIOD_S'] ?? 60);
const emit = (o: object): void => console.log(JSON.stringify({ bench: 'fleet', ...o }));
const r1 = (x: number): number => Math.round(x * 10) / 10;
const r2 = (x: number): number => Math.round(x * 100) / 100;

type Store = 'leveldb' | 'postgres';
interface Deployment { readonly dbUrl: string | null; readonly urls: string[]; readonly pids: number[]; readonly fleetId: string; readonly outputs: () => string; stop(): Promise<void> }

async function seed(store: FleetStore, devices: readonly LoadDevice[]): Promise<string> {
  await store.start();
  const t0 = performance.now();
  for (let i = 0; i < devices.length; i += 20_000) await store.importDevices(records(devices.slice(i, i + 20_000), Date.now()));
  const fleetId = await store.metaOnce('fleet-id', () => 'bench-fleet');
  await store.stop();
  emit({ metric: 'seed', store: store.kind, devices: devices.length, ms: Math.round(performance.now() - t0) });
  return fleetId;
}

async function deploy(store: Store, instances: number, devices: readonly LoadDevice[], pg: TestPostgres | null, db: number): Promise<Deployment> {
  const env: Record<string, string> = { LUCID_FLEET_LOG_LEVEL: 'info', LUCID_FLEET_SYNC_S: '0', LUCID_FLEET_OFFLINE_S: '180', LUCID_FLEET_CHECKIN_S: String(PERIOD_S) };
  // BENCH_FLEET_CPU_PROF=<dir>: each server writes a V8 CPU profile there when it stops (open it in Chrome DevTools).
  if (process.env['BENCH_FLEET_CPU_PROF']) env['NODE_OPTIONS'] = `--cpu-prof --cpu-prof-dir=${process.env['BENCH_FLEET_CPU_PROF']}`;
  let dataDir: string | null = null;
  let dbUrl: string | null = null;
  let fleetId: string;
  if (store === 'postgres') {
    const url = await pg!.createDatabase(`bench_${db}`);
    dbUrl = url;
    fleetId = await seed(new PgFleetStore(url, 4), devices);
    Object.assign(env, { LUCID_FLEET_DATABASE_URL: url, LUCID_FLEET_DB_POOL: '20' });
  } else {
    dataDir = mkdtempSync(join(tmpdir(), 'fleet-bench-'));
    fleetId = await seed(new LevelFleetStore(join(dataDir, 'store')), devices);
    env['LUCID_FLEET_DATA_DIR'] = dataDir;
  }
  const procs = await Promise.all(Array.from({ length: instances }, () => startFleetProcess(env)));
  return {
    dbUrl, urls: procs.map((p) => p.url), pids: procs.map((p) => p.child.pid!), fleetId, outputs: () => procs.map((p) => p.output()).join('\n'),
    async stop() {
      await Promise.all(procs.map((p) => p.stop()));
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

interface Measure { p50ms: number; p99ms: number; rate: number; sent: number; errors: number; codes: Record<string, number>; serverCpuPct: number; dbCpuPct: number; loadGenCpuPct: number; machineBusyPct: number }

async function measure(d: Deployment, pools: Pool[], devices: LoadDevice[], ratePerS: number, seconds: number, pg: TestPostgres | null, hook?: CheckinHook, stop?: () => boolean): Promise<Measure> {
  const postmaster = pg ? Number(readFileSync(join(pg.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]) : null;
  const dbCpu = (): number => (postmaster === null ? 0 : postgresCpu(postmaster));
  const cpu0 = { server: d.pids.reduce((a, p) => a + cpuOf(p), 0), db: dbCpu(), self: process.cpuUsage(), machine: machineTicks() };
  const t0 = performance.now();
  const w = await runLoad({ devices, pools, fleetId: d.fleetId, ratePerS, durationMs: seconds * 1000, ...(hook ? { hook } : {}), ...(stop ? { stop } : {}) });
  const wall = (performance.now() - t0) / 1000;
  const self = process.cpuUsage(cpu0.self);
  const m = machineTicks();
  const lat = w.latencies.sort((a, b) => a - b);
  return {
    p50ms: r2(percentile(lat, 50)), p99ms: r2(percentile(lat, 99)), rate: Math.round(w.sent / wall), sent: w.sent, errors: w.errors, codes: Object.fromEntries(w.codes),
    serverCpuPct: r1((100 * (d.pids.reduce((a, p) => a + cpuOf(p), 0) - cpu0.server)) / wall),
    dbCpuPct: r1((100 * (dbCpu() - cpu0.db)) / wall),
    loadGenCpuPct: r1((100 * (self.user + self.system)) / 1e6 / wall),
    machineBusyPct: r1((100 * (m.busy - cpu0.machine.busy)) / (m.total - cpu0.machine.total)),
  };
}

export async function run(): Promise<void> {
  emit({ metric: 'machine', cores: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadavg: loadavg(), devices: N, windowS: WINDOW_S });
  const t0 = performance.now();
  const devices = shuffle(makeDevices(N));
  emit({ metric: 'keys', devices: N, ms: Math.round(performance.now() - t0) });
  const rate = N / PERIOD_S;
  const pg = await startPostgres({ durable: true, maxConnections: 200, sharedBuffers: '256MB' });
  let db = 0;
  try {
    // BENCH_FLEET_ONLY=postgres:1,postgres:2 runs a subset of the deployments.
    const only = process.env['BENCH_FLEET_ONLY']?.split(',').map((x) => x.trim()).filter(Boolean) ?? null;
    for (const [store, instances] of [['leveldb', 1], ['postgres', 1], ['postgres', 2]] as const) {
      if (only && !only.includes(`${store}:${instances}`)) continue;
      const d = await deploy(store, instances, devices, store === 'postgres' ? pg : null, ++db);
      const pools = d.urls.map((u) => pinnedPool(u, { connections: 64 })); // keep-alive HTTPS, pinned as devices pin
      try {
        await runLoad({ devices, pools, fleetId: d.fleetId, ratePerS: rate, durationMs: 5000 }); // warm-up
        const m = await measure(d, pools, devices, rate, WINDOW_S, store === 'postgres' ? pg : null);
        emit({ store, instances, devices: N, ...m, serverCpuPer1000Devices: r2(m.serverCpuPct / (N / 1000)), loadavg: loadavg() });
        if (d.dbUrl) emit({ metric: 'postgres-devices-table', store, instances, ...(await deviceTableStats(d.dbUrl)) });
        if (instances === 1 && process.env['BENCH_FLEET_CAPACITY'] !== '0') await capacity(store, d, pools, devices, pg);
        if (instances === 1 && process.env['BENCH_FLEET_ROLLOUT'] !== '0') await rollout(store, d, pools, devices, pg);
      } finally {
        await Promise.all(pools.map((p) => p.close()));
        await d.stop();
      }
      for (const dev of devices) { dev.seq = 0; dev.version = '1.0.0'; dev.assignment = null; dev.healthyAt = null; }
    }
  } finally {
    await pg.stop();
  }
}

/** How PostgreSQL wrote the check-ins: heap-only (HOT) updates touch no index. */
async function deviceTableStats(url: string): Promise<Record<string, number>> {
  const pgm = (await import('pg')).default;
  const c = new pgm.Client({ connectionString: url });
  await c.connect();
  try {
    const r = (await c.query(`SELECT n_tup_upd, n_tup_hot_upd, n_dead_tup, autovacuum_count, autoanalyze_count,
      pg_relation_size('fleet_devices') AS heap_bytes, pg_relation_size('fleet_devices_tags') AS tags_index_bytes
      FROM pg_stat_user_tables WHERE relname = 'fleet_devices'`)).rows[0] as Record<string, string>;
    return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v)]));
  } finally {
    await c.end();
  }
}

/** The largest fleet (devices at one check-in a minute) one instance serves with p99 ≤ 50 ms. */
async function capacity(store: Store, d: Deployment, pools: Pool[], devices: LoadDevice[], pg: TestPostgres): Promise<void> {
  let best = 0;
  const step = async (factor: number): Promise<boolean> => {
    const fleet = Math.round(N * factor);
    const m = await measure(d, pools, devices, fleet / PERIOD_S, 20, store === 'postgres' ? pg : null);
    emit({ metric: 'capacity-step', store, instances: 1, fleetDevices: fleet, ...m, loadavg: loadavg() });
    if (m.p99ms > 50 || m.errors > 0) return false;
    best = fleet;
    return true;
  };
  // Up from the 100,000 while p99 holds; when even 100,000 does not, down until it does.
  if (await step(1)) { for (const factor of [1.5, 2, 3, 4, 6]) if (!(await step(factor))) break; }
  else { for (const factor of [0.5, 0.25, 0.1, 0.05]) if (await step(factor)) break; }
  emit({ metric: 'capacity', store, instances: 1, maxDevicesAtP99le50ms: best, note: 'a fleet of F devices = F/60 check-ins per second, sent by the 100,000 simulated devices checking in more often' });
}

/** A rollout across every device while they keep checking in: 1 canary → 10 % → 50 % → 100 %, soak 0. */
async function rollout(store: Store, d: Deployment, pools: Pool[], devices: LoadDevice[], pg: TestPostgres): Promise<void> {
  const code = /fleet setup code: ([0-9A-Z-]+)/.exec(d.outputs())?.[1];
  let token = '';
  const api = fleetApi(d.urls[0]!, () => token);
  token = (await api.call('POST', '/api/v1/auth/setup', { code, ...ADMIN }, null)).body.accessToken;
  const repo = await startChannelRepo();
  try {
    await repo.sign('2.0.0');
    await api.call('POST', '/api/v1/channels', { name: 'stable', repositoryUrl: repo.url, rootJson: repo.rootJson });
    const g = await api.call('POST', '/api/v1/groups', { name: 'bench', kind: 'dynamic', filter: { tags: ['bench'] } });
    const t0 = performance.now();
    const created = await api.call('POST', '/api/v1/rollouts', { releaseId: 'stable@2.0.0', groupId: g.body.id, stages: [{ count: 1, soakS: 0, maxFailures: 100 }, { percent: 10, soakS: 0, maxFailures: 100 }, { percent: 50, soakS: 0, maxFailures: 1000 }, { percent: 100, soakS: 0, maxFailures: 1000 }] });
    const createMs = performance.now() - t0;
    if (created.status !== 201) throw new Error(`rollout: ${JSON.stringify(created.body)}`);
    const id = created.body.rollout.id as string;
    const stageOf = new Map<string, number>();
    // The agent's part: report the commit, check in again a second later (healthy: soak 0).
    const hook: CheckinHook = async (dev, answer, pool, fleetId) => {
      const a = answer.assignment;
      if (!a || dev.assignment === a.id) {
        // The first check-in acknowledged after the commit is the one that made it healthy (soak 0).
        if (dev.assignment !== null && dev.healthyAt === null && dev.version !== '1.0.0') dev.healthyAt = performance.now();
        return;
      }
      dev.assignment = a.id;
      stageOf.set(dev.id, a.stage);
      const rep = signEnvelope('report', fleetId, dev.id, { seq: ++dev.seq, ts: Date.now(), rolloutId: a.rolloutId, assignmentId: a.id, phase: 'committed', version: a.version }, dev.key);
      await (await pool.request({ method: 'POST', path: '/api/v1/device/report', headers: { 'content-type': 'application/json' }, body: JSON.stringify(rep) })).body.text();
      dev.version = a.version;
      setTimeout(() => void sendCheckin(dev, pool, fleetId, { latencies: [], sent: 0, ok: 0, errors: 0, codes: new Map() }, hook), 1000);
    };
    const changes: Array<{ stage: number; at: number }> = [];
    let state = 'running';
    let last = 0;
    // Stage changes are seen on the rollout's record (the list: no member counts), polled one
    // request at a time; the operator's view with its per-stage counts over all members is
    // fetched every 2 s, as the web UI's rollout page does, and its latency reported. An answer
    // that is not the rollout (a 429, a timeout) is counted, not fatal.
    const view = { polls: 0, failed: 0, ms: [] as number[] };
    let polling = true;
    const watcher = (async () => {
      while (polling) {
        const r = await api.call('GET', '/api/v1/rollouts').catch(() => null);
        const ro = r?.status === 200 ? (r.body as Array<{ id: string; stage: number; state: string; stages: unknown[] }>).find((x) => x.id === id) : undefined;
        if (ro && (ro.stage !== last || ro.state !== state)) { changes.push({ stage: ro.state === 'completed' ? ro.stages.length : ro.stage, at: performance.now() }); last = ro.stage; state = ro.state; }
        await new Promise((res) => setTimeout(res, 100));
      }
    })();
    const viewer = (async () => {
      while (polling) {
        const t = performance.now();
        const r = await api.call('GET', `/api/v1/rollouts/${id}`).catch(() => null);
        view.polls++;
        if (r?.status === 200 && r.body.stages?.length === 4) view.ms.push(performance.now() - t);
        else view.failed++;
        await new Promise((res) => setTimeout(res, 2000));
      }
    })();
    const start = performance.now();
    const m = await measure(d, pools, devices, N / PERIOD_S, 330, store === 'postgres' ? pg : null, hook, () => state === 'completed');
    polling = false;
    await Promise.all([watcher, viewer]);
    const latencies = changes.map((c) => {
      const members = devices.filter((x) => stageOf.get(x.id) === c.stage - 1 && x.healthyAt !== null);
      const lastHealthy = Math.max(...members.map((x) => x.healthyAt!));
      return { stage: c.stage, members: members.length, advanceLatencyMs: Math.round(c.at - lastHealthy), atS: r1((c.at - start) / 1000) };
    });
    const viewMs = view.ms.sort((a, b) => a - b);
    emit({ metric: 'rollout', store, instances: 1, devices: N, createMs: Math.round(createMs), finalState: state, stages: latencies, viewPolls: view.polls, viewFailed: view.failed, viewP50ms: r1(percentile(viewMs, 50)), viewMaxMs: r1(viewMs.at(-1) ?? NaN), checkinP50ms: m.p50ms, checkinP99ms: m.p99ms, serverCpuPct: m.serverCpuPct, dbCpuPct: m.dbCpuPct, loadGenCpuPct: m.loadGenCpuPct, machineBusyPct: m.machineBusyPct, loadavg: loadavg() });
  } finally {
    await repo.stop();
  }
}
