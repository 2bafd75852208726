// `bench api`, open loop: the authenticated TLS read and the TLS hello-world at 500 keep-alive
// connections under a fixed offered rate (_open-loop.ts says why autocannon cannot do this).
//
// Why both readings: autocannon's closed loop (api.ts) keeps 500 requests in flight at all times,
// so its p99 is the server's throughput turned into queueing — Little's law, 500 ÷ req/s — and on
// a shared 2-core machine that is set by what else runs (at a load of 25, ~900 req/s and a p99 of
// over a second even for the hello-world). "p99 at 500 connections" as a user meets it is 500
// open connections each sending at its own pace: a fixed rate below the server's capacity, where
// the p99 shows what a request waits for beyond the queue the offered rate itself makes. So each
// rate is run on both servers, alternating, and the hello-world's p99 at the same rate is the
// machine's own floor in the same minute.
//
// Rates: BENCH_API_OPEN_RATES (req/s, comma list), else BENCH_API_OPEN_FRACTIONS (default
// 0.25,0.5,0.75) of the appliance's own closed-loop req/s at 500 connections in the same run.
// BENCH_API_OPEN_ROUNDS (default 3) alternating rounds of BENCH_API_OPEN_SECONDS (default 5) after
// 1 s of warm-up; medians, with every round's p99.
//
// BENCH_API_OPEN_NICE (default "0,-10" as root, else "0"): each ladder is run at these nice values
// of both servers and the generator (every thread). At 0 they compete with whatever else the
// machine runs: at a load average of 25 on 2 cores a runnable thread waits tens of ms for a core,
// and the hello-world's own p99 shows it. At -10 they go first, as the core does on the appliance,
// where nothing else of this size runs; the rates are low (a fraction of a core), so this does
// not starve the machine's other work for long.
import { fork } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { loadavg, setPriority } from 'node:os';
import { join } from 'node:path';
import { ROOT, treeCpuSeconds, treePids } from '../helpers/appliance.js';
import type { OpenLoopJob, OpenLoopResult } from './_open-loop.js';

export const OPEN_CONNECTIONS = 500;
const ROUNDS = Number(process.env['BENCH_API_OPEN_ROUNDS'] ?? 3);
const SECONDS = Number(process.env['BENCH_API_OPEN_SECONDS'] ?? 5);
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;
const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

type Run = OpenLoopResult & { serverCpu: number; serverRunDelay: number };

/** ms the tree's threads have waited for a CPU while runnable (/proc/<pid>/task/<tid>/schedstat, second field, ns). */
function treeRunDelayMs(root: number): number {
  let ns = 0;
  for (const pid of treePids(root)) {
    let tids: string[] = [];
    try { tids = readdirSync(`/proc/${pid}/task`); } catch { continue; }
    for (const tid of tids) try { ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]); } catch { /* exited */ }
  }
  return ns / 1e6;
}

/** One run in a fresh generator process; the server's CPU (its process tree) is sampled over the window. */
function run(job: OpenLoopJob, serverPid: number): Promise<Run> {
  const child = fork(join(ROOT, 'tests/bench/_open-loop.ts'), [], { execArgv: ['--import', 'tsx'], cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let cpu0 = 0;
  let t0 = 0;
  let serverCpu = NaN;
  let delay0 = 0;
  let serverRunDelay = NaN;
  return new Promise((resolve, reject) => {
    child.on('message', (m: { window?: string } & Partial<OpenLoopResult>) => {
      if (m.window === 'start') { cpu0 = treeCpuSeconds(serverPid); delay0 = treeRunDelayMs(serverPid); t0 = performance.now(); }
      else if (m.window === 'end') {
        const s = (performance.now() - t0) / 1000;
        serverCpu = (treeCpuSeconds(serverPid) - cpu0) / s;
        serverRunDelay = (treeRunDelayMs(serverPid) - delay0) / s;
      } else resolve({ ...(m as OpenLoopResult), serverCpu, serverRunDelay });
    });
    child.on('exit', (code) => { if (code !== 0) reject(new Error(`open-loop generator exited ${String(code)}`)); });
    child.send(job);
  });
}

/** The offered rates of this run. */
export function openRates(oursClosedLoopReqPerSec: number): number[] {
  const fixed = process.env['BENCH_API_OPEN_RATES'];
  if (fixed) return fixed.split(',').map(Number);
  return (process.env['BENCH_API_OPEN_FRACTIONS'] ?? '0.25,0.5,0.75').split(',')
    .map((f) => Math.max(100, Math.round((Number(f) * oursClosedLoopReqPerSec) / 100) * 100));
}

/** Users for the open-loop token set: a minute at the highest rate under 90 % of each user's limit. */
export const openUsers = (rates: number[], perUserPerMinute: number): number => Math.max(20, Math.ceil((Math.max(...rates) * 60) / (0.9 * perUserPerMinute)));

export interface OpenSide { url: string; pid: number; tokens: string[] | null }

/**
 * Sets the nice value of every thread of a process tree (setpriority on a pid moves only its main
 * thread) and of its autogroup: with sched_autogroup_enabled (as here) the scheduler first shares
 * the CPU between sessions, each other engineer's job being one, and a thread's nice weighs only
 * inside its own session, so the session's nice (/proc/<pid>/autogroup) is what counts.
 */
export function reniceTree(root: number, nice: number): void {
  try { writeFileSync(`/proc/${root}/autogroup`, String(nice)); } catch { /* no autogroups, or not root */ }
  for (const pid of treePids(root)) {
    let tids: string[] = [];
    try { tids = readdirSync(`/proc/${pid}/task`); } catch { continue; }
    for (const tid of tids) try { setPriority(Number(tid), nice); } catch { /* exited */ }
  }
}

const NICES = (process.env['BENCH_API_OPEN_NICE'] ?? (process.getuid?.() === 0 ? '0,-10' : '0')).split(',').map(Number);

export async function openLoopLadder(o: { path: string; rates: number[]; hello: OpenSide; ours: OpenSide; userAgent: string; emit: (x: object) => void }): Promise<void> {
  try {
    for (const nice of NICES) {
      reniceTree(process.pid, nice); // the bench's own session, where the generator runs
      reniceTree(o.hello.pid, nice);
      reniceTree(o.ours.pid, nice);
      for (const rate of o.rates) await ladderStep({ ...o, rate, nice });
    }
  } finally {
    reniceTree(o.hello.pid, 0);
    reniceTree(o.ours.pid, 0);
    reniceTree(process.pid, 0);
  }
}

async function ladderStep(o: { path: string; rate: number; nice: number; hello: OpenSide; ours: OpenSide; userAgent: string; emit: (x: object) => void }): Promise<void> {
  const rate = o.rate;
  const job = (s: OpenSide, warm: boolean): OpenLoopJob => ({ url: s.url, connections: OPEN_CONNECTIONS, rate, warmS: 1, durationS: warm ? 1 : SECONDS, tokens: s.tokens, userAgent: o.userAgent, nice: o.nice });
  // A short warm-up each at this rate, then alternating rounds (each round's two runs see the same load).
  await run(job(o.hello, true), o.hello.pid);
  await run(job(o.ours, true), o.ours.pid);
  const hellos: Run[] = [];
  const ourss: Run[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    hellos.push(await run(job(o.hello, false), o.hello.pid));
    ourss.push(await run(job(o.ours, false), o.ours.pid));
  }
  const fig = (rs: Run[]) => ({
    achievedReqPerSec: Math.round(med(rs.map((r) => r.achievedReqPerSec))),
    p50ms: round(med(rs.map((r) => r.p50))), p90ms: round(med(rs.map((r) => r.p90))), p99ms: round(med(rs.map((r) => r.p99))),
    p999ms: round(med(rs.map((r) => r.p999))), maxMs: round(Math.max(...rs.map((r) => r.max))),
    roundsP99ms: rs.map((r) => round(r.p99)),
    non2xx: rs.reduce((n, r) => n + r.non2xx, 0), errors: rs.reduce((n, r) => n + r.errors, 0), unanswered: rs.reduce((n, r) => n + r.unanswered, 0),
    connectMs: Math.round(med(rs.map((r) => r.connectMs))),
    // Cores in use during the window: the generator's (is it the bottleneck?) and the server's.
    generatorCpu: round(med(rs.map((r) => r.generatorCpu)), 2), serverCpu: round(med(rs.map((r) => r.serverCpu)), 2),
    sendLagP99ms: round(med(rs.map((r) => r.sendLagP99))),
    // ms per second the server's threads spent runnable but waiting for a core (others' work).
    serverRunqueueMsPerS: Math.round(med(rs.map((r) => r.serverRunDelay))),
  });
  const ours = fig(ourss);
  o.emit({
    what: 'open-loop', path: o.path, transport: 'tls', connections: OPEN_CONNECTIONS, offeredReqPerSec: rate, nice: o.nice, durationS: SECONDS, rounds: ROUNDS,
    baseline: { what: 'fastify hello-world over TLS', ...fig(hellos) },
    ours: { what: 'GET /api/v1/auth/sessions with a bearer token (node_operator tier, rate limited) over TLS', users: o.ours.tokens?.length ?? 0, ...ours },
    loadavg: loadavg().map((l) => round(l, 2)),
    acceptance: { p99AtMostMsAt500: 50, met: ours.p99ms <= 50 },
  });
}
