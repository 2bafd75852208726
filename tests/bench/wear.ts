// ./build.sh bench wear — how much an appliance writes to its SD card (issue 24), JSON lines:
//   {"bench":"wear","scenario":…,"bytesPerHour":…,"syncsPerHour":…, …}
//
// Bytes: /proc/<pid>/io write_bytes (what the processes sent to the block layer, page-cache
// writes included when they are dirtied) summed over the appliance's process tree (supervisor,
// core, every child; strace itself excluded). Synced writes: every fsync, fdatasync,
// sync_file_range, msync, syncfs and sync call of the tree, from `strace -f --seccomp-bpf -ttt -y`
// (the path of each synced descriptor, so the figures say what was synced), counted in the same
// window. (A file opened O_SYNC/O_DSYNC would sync on write without such a call: no code of the
// appliance opens one; LevelDB and the guard use fdatasync/fsync.)
//
// Scenarios (each on a fresh data dir on this machine's disk):
//   idle-standalone       one appliance, no sessions, nobody logged in, the default
//                         LUCID_EMPTY_BLOCK_INTERVAL_S (3600): measured over BENCH_WEAR_WINDOW_S
//                         (default 120) after BENCH_WEAR_SETTLE_S (20) of settling; the hourly
//                         heartbeat height, which a short window rarely contains, is added at the
//                         cost of one height measured in `height-standalone`.
//   height-standalone     the same with LUCID_EMPTY_BLOCK_INTERVAL_S=0 and 1 s slots: cost of one height.
//   every-slot-standalone computed: the idle background plus a height every 10 s slot (the
//                         behaviour before issue 24, LUCID_EMPTY_BLOCK_INTERVAL_S=0).
//   idle-chain-member     node 0 of four appliances on loopback (genesis CLI, real transport).
//   height-chain-member   the same four with LUCID_EMPTY_BLOCK_INTERVAL_S=0 and 1 s slots.
//   upload-random, upload-screen  a BENCH_WEAR_UPLOAD_MIB (256) MiB upload to a standalone
//                         appliance, finalized and anchored: bytes written per byte stored (the
//                         data dir's growth) and per plaintext byte.
// BENCH_WEAR_SCENARIOS=idle-standalone,upload-random… runs a subset.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, ROOT, startAppliance, treePids, type RunningAppliance } from '../helpers/appliance.js';
import { loadOrCreateNodeIdentity } from '../../services/identity/index.js';
import { silentLogger } from '../../services/common/log.js';
import { corpusPieces } from '../helpers/corpora.js';
import { api, putData } from '../helpers/upload.js';

const WINDOW_S = Number(process.env['BENCH_WEAR_WINDOW_S'] ?? 120);
const SETTLE_S = Number(process.env['BENCH_WEAR_SETTLE_S'] ?? 20);
const HEIGHT_WINDOW_S = Number(process.env['BENCH_WEAR_HEIGHT_WINDOW_S'] ?? 30);
const UPLOAD_MIB = Number(process.env['BENCH_WEAR_UPLOAD_MIB'] ?? 256);
const HEARTBEAT_S = 3600;
const DEFAULT_SLOT_S = 10;
const ONLY = process.env['BENCH_WEAR_SCENARIOS']?.split(',') ?? null;
const SYNC_CALLS = ['fsync', 'fdatasync', 'sync_file_range', 'msync', 'syncfs', 'sync'];
const want = (s: string): boolean => ONLY === null || ONLY.some((o) => s.startsWith(o));
const emit = (o: object): void => console.log(JSON.stringify({ bench: 'wear', ...o }));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (x: number): number => Math.round(x);

interface Traced { readonly app: RunningAppliance; readonly trace: string }

async function startTraced(dir: string, env: Record<string, string>, opts: { dataDir?: string; port?: number } = {}): Promise<Traced> {
  const trace = join(dir, `strace-${Math.random().toString(36).slice(2)}.txt`);
  const app = await startAppliance({
    ...opts, env: { LUCID_LOG_LEVEL: 'info', ...env },
    wrap: ['strace', '-f', '--seccomp-bpf', '-ttt', '-y', '-e', `trace=${SYNC_CALLS.join(',')}`, '-o', trace],
  });
  await app.waitHealthy(60_000);
  return { app, trace };
}

/** write_bytes summed over the tree, strace excluded (its own trace file is not the appliance's). */
function treeWriteBytes(root: number): number {
  let total = 0;
  for (const pid of treePids(root)) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'strace') continue;
      total += Number(/^write_bytes: (\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0);
    } catch { /* exited */ }
  }
  return total;
}

/** Synced-write calls in [from, to] (epoch seconds), in all and per file (data dir prefix cut off). */
function syncsIn(trace: string, from: number, to: number, dataDir: string): { count: number; byFile: Record<string, number> } {
  const byFile: Record<string, number> = {};
  let count = 0;
  for (const line of readFileSync(trace, 'utf8').split('\n')) {
    const m = /^\d+\s+(\d+\.\d+)\s+(\w+)\((\d+)?(?:<([^>]*)>)?/.exec(line);
    if (!m || line.includes('resumed>') || !SYNC_CALLS.includes(m[2]!)) continue;
    const t = Number(m[1]);
    if (t < from || t > to) continue;
    count++;
    const file = `${m[2]} ${(m[4] ?? '?').replace(dataDir, '<data>').replace(/\/\d{6}\.(log|ldb)$/, '/NNNNNN.$1').replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/, '<session>').replace(/\/\d{10}\.lck$/, '/<object>.lck')}`;
    byFile[file] = (byFile[file] ?? 0) + 1;
  }
  return { count, byFile };
}

async function ledgerHeight(app: RunningAppliance): Promise<number> {
  return ((await (await app.raw('/api/v1/ledger/status')).json()) as { height: number }).height;
}

interface Window { readonly seconds: number; readonly bytes: number; readonly syncs: number; readonly heights: number; readonly logBytes: number; readonly byFile: Record<string, number> }

/** Measures the tree for `seconds` (nothing else is done to it meanwhile). */
async function measure(t: Traced, seconds: number): Promise<Window> {
  const t0 = Date.now() / 1000;
  const b0 = treeWriteBytes(t.app.pid);
  const h0 = await ledgerHeight(t.app);
  const l0 = t.app.output().length;
  await sleep(seconds * 1000);
  const b1 = treeWriteBytes(t.app.pid);
  const h1 = await ledgerHeight(t.app);
  const t1 = Date.now() / 1000;
  const l1 = t.app.output().length;
  await sleep(500); // strace's last lines
  const s = syncsIn(t.trace, t0, t1, t.app.dataDir);
  return { seconds: t1 - t0, bytes: b1 - b0, syncs: s.count, heights: h1 - h0, logBytes: l1 - l0, byFile: s.byFile };
}

const perHour = (x: number, seconds: number): number => (x * 3600) / seconds;

/** Cost of one height: the every-slot window minus the idle background over the same time. */
function heightCost(w: Window, idle: Window): { bytes: number; syncs: number } {
  const n = Math.max(1, w.heights);
  return {
    bytes: Math.max(0, (w.bytes - (idle.bytes * w.seconds) / idle.seconds) / n),
    syncs: Math.max(0, (w.syncs - (idle.syncs * w.seconds) / idle.seconds) / n),
  };
}

/** Idle figures per hour: the measured window (less any height in it) plus the heartbeats of an hour. */
function idlePerHour(idle: Window, h: { bytes: number; syncs: number }): { bytesPerHour: number; syncsPerHour: number } {
  const beats = 3600 / HEARTBEAT_S;
  return {
    bytesPerHour: round(perHour(Math.max(0, idle.bytes - idle.heights * h.bytes), idle.seconds) + beats * h.bytes),
    syncsPerHour: round(perHour(Math.max(0, idle.syncs - idle.heights * h.syncs), idle.seconds) + beats * h.syncs),
  };
}

async function standalone(dir: string): Promise<void> {
  const idleApp = await startTraced(dir, {});
  await sleep(SETTLE_S * 1000);
  const idle = await measure(idleApp, WINDOW_S);
  await idleApp.app.cleanup();
  const slotApp = await startTraced(dir, { LUCID_EMPTY_BLOCK_INTERVAL_S: '0', LUCID_SLOT_MS: '1000' });
  await sleep(SETTLE_S * 1000);
  const slots = await measure(slotApp, HEIGHT_WINDOW_S);
  await slotApp.app.cleanup();
  const h = heightCost(slots, idle);
  emit({ scenario: 'height-standalone', bytesPerHeight: round(h.bytes), syncsPerHeight: Math.round(h.syncs * 10) / 10, measured: slots });
  const r = idlePerHour(idle, h);
  emit({
    scenario: 'idle-standalone', ...r, heartbeatS: HEARTBEAT_S, measured: idle, perHeight: { bytes: round(h.bytes), syncs: Math.round(h.syncs * 10) / 10 },
    logBytesPerHour: round(perHour(idle.logBytes, idle.seconds)),
    goal: { bytesPerHour: '<= 2000000', syncsPerHour: '<= 200' }, pass: r.bytesPerHour <= 2_000_000 && r.syncsPerHour <= 200,
    note: 'window measured, the hourly heartbeat height added at its measured cost; logBytesPerHour: what the tree printed (journald on a device)',
  });
  const every = 3600 / DEFAULT_SLOT_S;
  emit({
    scenario: 'every-slot-standalone', computed: true,
    bytesPerHour: round(perHour(idle.bytes - idle.heights * h.bytes, idle.seconds) + every * h.bytes),
    syncsPerHour: round(perHour(idle.syncs - idle.heights * h.syncs, idle.seconds) + every * h.syncs),
    note: `the idle background plus a height every ${DEFAULT_SLOT_S} s (LUCID_EMPTY_BLOCK_INTERVAL_S=0), at this build's cost per height`,
  });
}

async function chain(dir: string, env: Record<string, string>, body: (node0: Traced) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join(dir, 'chain-'));
  const nodes: Array<{ dataDir: string; apiPort: number; p2pPort: number }> = [];
  for (let i = 0; i < 4; i++) {
    const dataDir = join(root, `node${i}`);
    await loadOrCreateNodeIdentity(dataDir, silentLogger());
    nodes.push({ dataDir, apiPort: await freePort(), p2pPort: await freePort() });
  }
  const genesis = join(root, 'genesis.json');
  execFileSync(process.execPath, [join(ROOT, 'dist/entries/genesis.mjs'), '--chain-id', 'bench-wear', ...nodes.flatMap((n) => ['--data-dir', n.dataDir]), '--out', genesis]);
  const envOf = (i: number): Record<string, string> => ({
    ...env, LUCID_GENESIS: genesis, LUCID_MDNS: 'off', LUCID_P2P_PORT: String(nodes[i]!.p2pPort), LUCID_LOG_LEVEL: 'info',
    LUCID_PEERS: nodes.filter((_, j) => j !== i).map((n) => `127.0.0.1:${n.p2pPort}`).join(','),
  });
  const others: RunningAppliance[] = [];
  let node0: Traced | null = null;
  try {
    [node0] = await Promise.all([
      startTraced(dir, envOf(0), { dataDir: nodes[0]!.dataDir, port: nodes[0]!.apiPort }),
      ...nodes.slice(1).map(async (n, j) => {
        const a = await startAppliance({ dataDir: n.dataDir, port: n.apiPort, env: envOf(j + 1) });
        others.push(a);
        await a.waitHealthy(60_000);
      }),
    ]) as [Traced, ...unknown[]];
    // An idle chain makes no block before its heartbeat: wait for the links, not for a block.
    await node0.app.waitFor('three peers', async () => ((await (await node0!.app.raw('/api/v1/ledger/status')).json()) as { peers: unknown[] }).peers.length >= 3, 120_000);
    await body(node0);
  } finally {
    await node0?.app.cleanup();
    for (const a of others) await a.cleanup();
    rmSync(root, { recursive: true, force: true });
  }
}

async function chainMember(dir: string): Promise<void> {
  let idle: Window | null = null;
  await chain(dir, {}, async (n0) => {
    await sleep(SETTLE_S * 1000);
    idle = await measure(n0, WINDOW_S);
  });
  let slots: Window | null = null;
  await chain(dir, { LUCID_EMPTY_BLOCK_INTERVAL_S: '0', LUCID_SLOT_MS: '1000' }, async (n0) => {
    await sleep(SETTLE_S * 1000);
    slots = await measure(n0, HEIGHT_WINDOW_S);
  });
  const h = heightCost(slots!, idle!);
  emit({ scenario: 'height-chain-member', bytesPerHeight: round(h.bytes), syncsPerHeight: Math.round(h.syncs * 10) / 10, measured: slots });
  emit({
    scenario: 'idle-chain-member', ...idlePerHour(idle!, h), heartbeatS: HEARTBEAT_S, measured: idle, perHeight: { bytes: round(h.bytes), syncs: Math.round(h.syncs * 10) / 10 },
    logBytesPerHour: round(perHour(idle!.logBytes, idle!.seconds)),
    note: 'node 0 of 4 on loopback; bounded by one heartbeat height an hour (guard records + locked block + the block batch) plus the background',
  });
}

/** Apparent size of everything under `dir`. */
function duBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    const st = lstatSync(p);
    total += st.isDirectory() ? duBytes(p) : st.isFile() ? statSync(p).size : 0;
  }
  return total;
}

async function upload(dir: string, kind: 'random' | 'screen'): Promise<void> {
  const t = await startTraced(dir, {});
  try {
    await sleep(3000);
    const total = UPLOAD_MIB * 1024 * 1024;
    const c = await api(t.app, 'POST', '/api/v1/sessions', { labels: { bench: `wear-${kind}` } });
    await api(t.app, 'POST', `/api/v1/sessions/${c.json.id}/start`);
    const du0 = duBytes(t.app.dataDir);
    const b0 = treeWriteBytes(t.app.pid);
    const t0 = Date.now() / 1000;
    const r = await putData(t.app, c.json.id, 0, corpusPieces(kind, total, 7), { length: total });
    if (r === 'cut' || r.status !== 200) throw new Error(`upload failed: ${JSON.stringify(r)}`);
    const stop = await api(t.app, 'POST', `/api/v1/sessions/${c.json.id}/stop`);
    if (stop.status !== 200) throw new Error(`stop failed: ${JSON.stringify(stop)}`);
    const f = await api(t.app, 'POST', `/api/v1/sessions/${c.json.id}/finalize`);
    if (f.status !== 200) throw new Error(`finalize failed: ${JSON.stringify(f)}`);
    const manifest = await t.app.waitFor('the anchor', async () => {
      const s = await api(t.app, 'GET', `/api/v1/sessions/${c.json.id}`);
      const hash = s.json.manifestHash as string | undefined;
      return hash && (await t.app.raw(`/api/v1/anchors/${hash}`)).status === 200 ? hash : undefined;
    }, 60_000);
    await sleep(2000); // the writes the kernel still had to account
    const b1 = treeWriteBytes(t.app.pid);
    const t1 = Date.now() / 1000;
    const stored = duBytes(t.app.dataDir) - du0;
    const s = syncsIn(t.trace, t0, t1, t.app.dataDir);
    emit({
      scenario: `upload-${kind}`, plaintextBytes: total, storedBytes: stored, bytesWritten: b1 - b0,
      writtenPerStoredByte: Math.round(((b1 - b0) / stored) * 1000) / 1000, writtenPerPlaintextByte: Math.round(((b1 - b0) / total) * 1000) / 1000,
      syncs: s.count, seconds: Math.round(t1 - t0), anchored: manifest.slice(0, 16),
      syncsByFile: Object.fromEntries(Object.entries(s.byFile).sort((a, b) => b[1] - a[1]).slice(0, 8)),
    });
  } finally {
    await t.app.cleanup();
  }
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lucid-bench-wear-'));
  try {
    emit({ scenario: 'machine', filesystem: execFileSync('df', ['-T', dir]).toString().split('\n')[1]?.split(/\s+/)[1], windowS: WINDOW_S, settleS: SETTLE_S, loadavg: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number) });
    if (want('idle-standalone') || want('height-standalone') || want('every-slot')) await standalone(dir);
    if (want('idle-chain') || want('height-chain')) await chainMember(dir);
    if (want('upload-random')) await upload(dir, 'random');
    if (want('upload-screen')) await upload(dir, 'screen');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
