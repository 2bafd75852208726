// Boot benchmark: supervisor start → /healthz 200 for the whole tree, and the idle memory of
// every process. Baselines from the same run: a bare `node -e 0` start and a bare idle Node
// process's memory. RSS counts the shared Node binary in every process; PSS divides shared
// pages among the processes that map them, so the PSS sum is what the tree really costs.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, treePids, SUPERVISOR_ENTRY } from '../helpers/appliance.js';

const RUNS = Number(process.env['BENCH_BOOT_RUNS'] ?? 5);
const emit = (o: object): void => console.log(JSON.stringify({ bench: 'boot', ...o }));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

function memoryOf(pid: number): { rssMB: number; pssMB: number; name: string } {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? 0);
  const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const script = cmd.find((a) => a.endsWith('.mjs')) ?? cmd.join(' ');
  return { rssMB: round(kb('Rss') / 1024), pssMB: round(kb('Pss') / 1024), name: script.split('/').pop()!.replace('.mjs', '') };
}

async function sleep(ms: number): Promise<void> { await new Promise((r) => setTimeout(r, ms)); }

async function bootOnce(): Promise<{ ms: number; memory: Array<{ rssMB: number; pssMB: number; name: string }> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'lucid-bench-boot-'));
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [SUPERVISOR_ENTRY], {
    env: { ...process.env, LUCID_PROFILE: 'dev', LUCID_HAL: 'sim', LUCID_PORT: String(port), LUCID_HTTPS_PORT: String(await freePort()), LUCID_DATA_DIR: dataDir, LUCID_LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  let ms = -1;
  while (performance.now() - started < 20_000) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.status === 200) { ms = performance.now() - started; break; }
    } catch { /* not listening yet */ }
    await sleep(5);
  }
  await sleep(3000); // idle
  const memory = treePids(child.pid!).map(memoryOf);
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  rmSync(dataDir, { recursive: true, force: true });
  return { ms, memory };
}

export async function run(): Promise<void> {
  const nodeStart: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    spawnSync(process.execPath, ['-e', '0']);
    nodeStart.push(performance.now() - t);
  }
  const bare = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], { stdio: 'ignore' });
  await sleep(1500);
  const bareMemory = memoryOf(bare.pid!);
  bare.kill();

  await bootOnce(); // warm the page cache; not counted
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await bootOnce());
  const times = runs.map((r) => r.ms);
  emit({
    metric: 'boot_to_ready_ms', value: round(median(times)), runs: times.map((t) => round(t)), goal: 3000,
    baseline: { metric: 'bare_node_start_ms', value: round(median(nodeStart)) },
    ratio_to_bare_node_start: round(median(times) / median(nodeStart), 2),
  });
  const last = runs[runs.length - 1]!.memory;
  for (const m of last) {
    emit({ metric: 'idle_memory', process: m.name, rss_mb: m.rssMB, pss_mb: m.pssMB, baseline: { metric: 'bare_node_idle', rss_mb: bareMemory.rssMB, pss_mb: bareMemory.pssMB } });
  }
  const rss = round(last.reduce((a, m) => a + m.rssMB, 0));
  const pss = round(last.reduce((a, m) => a + m.pssMB, 0));
  emit({ metric: 'idle_memory_total', processes: last.length, rss_mb: rss, pss_mb: pss, goal_mb: 120, note: 'RSS counts the shared node binary once per process; PSS shares it' });
}
