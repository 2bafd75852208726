// The fleet benchmark's load generator and measuring tools: N simulated devices (real Ed25519
// keys, each check-in signed like the agent's) checking in on an open-loop schedule (sends happen
// at their planned time whatever the answers do, so slow answers cannot hide latency), CPU time
// of any process from /proc, and the machine's busy share.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { Pool } from 'undici';
import { nodeIdOfHex, signEnvelope, type CheckinAnswer, type CheckinMessage } from '../../ota/shared/fleet-protocol.js';
import type { DeviceRecord } from '../../ota/server/store/types.js';

export interface LoadDevice { readonly id: string; readonly key: KeyObject; readonly publicKey: string; seq: number; version: string; assignment: string | null; healthyAt: number | null }

export function makeDevices(n: number): LoadDevice[] {
  const out: LoadDevice[] = [];
  for (let i = 0; i < n; i++) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const hex = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
    out.push({ id: nodeIdOfHex(hex), key: privateKey, publicKey: hex, seq: 0, version: '1.0.0', assignment: null, healthyAt: null });
  }
  return out;
}

export function records(devices: readonly LoadDevice[], now: number): DeviceRecord[] {
  return devices.map((d, i) => ({
    id: d.id, publicKey: d.publicKey, name: `bench-${i}`, tags: ['bench'], enrolledAt: now, lastSeenAt: now, lastSeq: 0,
    status: { version: '1.0.0', arch: 'amd64', slot: 'a', health: 'ok', reasons: [], lastUpdate: null, freeDiskBytes: 8e9 },
  }));
}

export const percentile = (sorted: readonly number[], p: number): number => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);

/** CPU seconds (user + system) of a process, from /proc/<pid>/stat. */
export function cpuOf(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds of PostgreSQL: the postmaster's own, its reaped children's (cutime + cstime: the
 * backends that ended, e.g. a pool closing an idle connection), and its live children's. Summing
 * a list of pids taken at the start would lose a backend that ends within the window (once
 * giving a negative figure) and miss one that starts in it.
 */
export function postgresCpu(postmaster: number): number {
  let total = 0;
  try {
    const f = readFileSync(`/proc/${postmaster}/stat`, 'utf8').split(') ')[1]!.split(' ');
    total += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return 0;
  }
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      if (ppid === postmaster) total += cpuOf(Number(name));
    } catch { /* gone */ }
  }
  return total;
}

/** Busy and total jiffies of the whole machine (/proc/stat). */
export function machineTicks(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3]! + (f[4] ?? 0);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

export const loadavg = (): number[] => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);

export interface Window { readonly latencies: number[]; sent: number; ok: number; errors: number; readonly codes: Map<string, number> }

export interface CheckinHook {
  /** Called with each answer; may send extra signed requests (a report), returns when done. */
  (d: LoadDevice, answer: CheckinAnswer, pool: Pool, fleetId: string): Promise<void>;
}

/**
 * Sends check-ins for `durationMs` at `ratePerS`, cycling through the devices in a shuffled
 * order (each device at a fixed offset within the period, as jittered agents would), to the
 * given pools round robin (device i always to the same instance, as a load balancer with
 * affinity would). Returns the latencies (ms) of the window.
 */
export async function runLoad(o: { devices: LoadDevice[]; pools: Pool[]; fleetId: string; ratePerS: number; durationMs: number; hook?: CheckinHook; stop?: () => boolean }): Promise<Window> {
  const w: Window = { latencies: [], sent: 0, ok: 0, errors: 0, codes: new Map() };
  const start = performance.now();
  const inflight = new Set<Promise<void>>();
  let next = 0;
  const tickMs = 5;
  while (performance.now() - start < o.durationMs && !o.stop?.()) {
    const due = Math.floor(((performance.now() - start) / 1000) * o.ratePerS);
    while (next < due) {
      const idx = next % o.devices.length;
      const d = o.devices[idx]!;
      const pool = o.pools[idx % o.pools.length]!;
      next++;
      const p = sendCheckin(d, pool, o.fleetId, w, o.hook).finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await new Promise((r) => setTimeout(r, tickMs));
  }
  await Promise.all(inflight);
  return w;
}

export async function sendCheckin(d: LoadDevice, pool: Pool, fleetId: string, w: Window, hook?: CheckinHook): Promise<void> {
  const msg: CheckinMessage = { seq: ++d.seq, ts: Date.now(), version: d.version, arch: 'amd64', slot: 'a', health: 'ok', lastUpdate: null, freeDiskBytes: 8e9, assignment: d.assignment ? { id: d.assignment, phase: 'committed' } : null };
  const body = JSON.stringify(signEnvelope('checkin', fleetId, d.id, msg, d.key));
  const t0 = performance.now();
  w.sent++;
  try {
    const res = await pool.request({ method: 'POST', path: '/api/v1/device/checkin', headers: { 'content-type': 'application/json' }, body });
    const text = await res.body.text();
    const ms = performance.now() - t0;
    if (res.statusCode === 200) {
      w.ok++;
      w.latencies.push(ms);
      if (hook) await hook(d, JSON.parse(text) as CheckinAnswer, pool, fleetId);
    } else {
      w.errors++;
      const code = (JSON.parse(text) as { code?: string }).code ?? String(res.statusCode);
      w.codes.set(code, (w.codes.get(code) ?? 0) + 1);
      if (code === 'FLEET_ERR_REPLAY') d.seq = (JSON.parse(text) as { details: { lastSeq: number } }).details.lastSeq;
    }
  } catch (err) {
    w.errors++;
    const code = (err as { code?: string }).code ?? 'error';
    w.codes.set(code, (w.codes.get(code) ?? 0) + 1);
  }
}

export function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}
