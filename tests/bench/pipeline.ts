// ./build.sh bench pipeline — the chunk pipeline against this machine's own limits, JSON lines.
//
// 1. In-process (fresh child processes, the core's malloc/thread-pool settings): for the three
//    deterministic corpora (screen-like frames, text logs, incompressible bytes) the real pipeline
//    (SessionService.append: gzip-6 on the thread pool, AEAD, SHA-256 leaves, object files with
//    fsync, LevelDB commits) against the raw limit — parallel zlib gzip-6 alone on the same data
//    and core count — measured in interleaved rounds; compression ratio; per-chunk latency p50/p99.
//    And core's V8 option (CORE_NODE_ARGS) against V8's defaults, and core's huge pages for the
//    malloc heap against none, on incompressible data.
// 2. Buffer reuse vs fresh buffers, with the tuned and the stock glibc malloc.
// 3. gzip-6 parallelism: libuv's pool (node:zlib async) vs worker threads (gzipSync).
// 4. End to end over HTTP on loopback against the real appliance, per corpus.
// 5. Peak RSS of core during a 2 GiB upload.
// Goals (issue #3): ≥ 0.9 × raw on screen and text; ≥ 5 × raw gzip-6 on incompressible data;
// 1 MiB chunk p99 ≤ 100 ms; core peak RSS ≤ 200 MB during 2 GiB.
import { spawn } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { corpus, CORPORA, type CorpusKind } from '../helpers/corpora.js';
import { startAppliance, type RunningAppliance } from '../helpers/appliance.js';
import { api, putData } from '../helpers/upload.js';
import { MiB, rawGzipLimit } from './_pipeline-lib.js';
import { CORE_ENV, CORE_NODE_ARGS } from '../../appliance/supervisor/children.js';

const CHILD = fileURLToPath(new URL('./_pipeline-child.ts', import.meta.url));
const TUNED = CORE_ENV;
const STOCK = { UV_THREADPOOL_SIZE: '8' };
const MIB = Number(process.env['BENCH_PIPELINE_MIB'] ?? 64);
const BIG_GIB = Number(process.env['BENCH_PIPELINE_BIG_GIB'] ?? 2);
/** Interleaved pipeline/raw rounds per corpus; the ratio reported is the median of the per-round ratios. */
const ROUNDS = Number(process.env['BENCH_PIPELINE_ROUNDS'] ?? 5);
const emit = (o: object): void => console.log(JSON.stringify({ bench: 'pipeline', ...o }));
const r1 = (x: number): number => Math.round(x * 10) / 10;

/** One measurement in a fresh node process with core's V8 options (`nodeArgs`) and the given environment (and --expose-gc: the child collects garbage between measured runs). */
function child(args: object, env: Readonly<Record<string, string>>, nodeArgs: readonly string[] = CORE_NODE_ARGS): Promise<any> {
  return new Promise((resolve, reject) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MALLOC_') && k !== 'UV_THREADPOOL_SIZE' && k !== 'GLIBC_TUNABLES'));
    const p = spawn(process.execPath, [...nodeArgs, '--expose-gc', '--import', 'tsx', CHILD, JSON.stringify(args)], { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`bench child failed (${code})`))));
  });
}

function rssMB(pid: number, key: 'VmHWM' | 'VmRSS'): number {
  return Number(new RegExp(`${key}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
}

async function corePid(app: RunningAppliance): Promise<number> {
  const s = await api(app, 'GET', '/api/v1/status');
  return s.json.children.find((c: { name: string }) => c.name === 'core').pid as number;
}

/** Upper bound of the histogram bucket holding quantile q of the observations added since `before`. */
function histogramQuantile(text: string, before: Map<number, number>, q: number): number | null {
  const buckets = [...text.matchAll(/^lucid_chunk_seconds_bucket\{le="([^"]+)"\} (\d+)/gm)].map((m) => [m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])] as [number, number]);
  const delta = buckets.map(([le, n]) => [le, n - (before.get(le) ?? 0)] as [number, number]);
  const total = delta[delta.length - 1]?.[1] ?? 0;
  if (total === 0) return null;
  return delta.find(([, n]) => n >= q * total)?.[0] ?? null;
}
const histogramCounts = (text: string): Map<number, number> =>
  new Map([...text.matchAll(/^lucid_chunk_seconds_bucket\{le="([^"]+)"\} (\d+)/gm)].map((m) => [m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])]));

async function upload(app: RunningAppliance, kind: string, source: Buffer, total: number): Promise<{ mbps: number; id: string; ratio: number }> {
  const c = await api(app, 'POST', '/api/v1/sessions', { labels: { bench: kind } });
  await api(app, 'POST', `/api/v1/sessions/${c.json.id}/start`);
  function* body(): Generator<Buffer> {
    for (let sent = 0; sent < total; sent += source.length) yield source.subarray(0, Math.min(source.length, total - sent));
  }
  const t = performance.now();
  const r = await putData(app, c.json.id, 0, body(), { length: total });
  const seconds = (performance.now() - t) / 1000;
  if (r === 'cut' || r.status !== 200) throw new Error(`upload failed: ${JSON.stringify(r)}`);
  const s = await api(app, 'GET', `/api/v1/sessions/${c.json.id}`);
  return { mbps: total / 1e6 / seconds, id: c.json.id, ratio: s.json.compressionRatio };
}

export async function run(): Promise<void> {
  const cores = availableParallelism();
  emit({ metric: 'machine', cores, cpu: cpus()[0]?.model, node: process.version, loadavg: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number),
    coreSettings: `children run with ${Object.entries(CORE_ENV).map(([k, v]) => `${k}=${v}`).join(' ')} ${CORE_NODE_ARGS.join(' ')} (the core process settings) unless stated` });

  // 1. Per corpus, in-process.
  for (const kind of CORPORA) {
    const r = await child({ mode: 'corpus', kind, mib: MIB, rounds: ROUNDS }, TUNED);
    const goal = kind === 'random' ? { metric: 'pipeline_vs_gzip6', want: '>= 5', value: r.ratioToRaw, pass: r.ratioToRaw >= 5 } : { metric: 'pipeline_vs_raw_gzip6', want: '>= 0.9', value: r.ratioToRaw, pass: r.ratioToRaw >= 0.9 };
    emit({ metric: 'pipeline_in_process', corpus: kind, mib: MIB, chunk: '1MiB', cipher: 'aes-256-gcm', ...r, baseline: { metric: 'parallel_zlib_gzip6_same_data_same_cores', mbps: r.rawGzip6MBps },
      goal, latencyGoal: { metric: 'chunk_p99_ms', want: '<= 100', value: r.chunkP99ms, pass: r.chunkP99ms <= 100 },
      note: 'ratioToRaw is the median of per-round ratios (each round: raw limit before and after the pipeline run); the raw limit is gzip-6 at zlib\'s defaults, the pipeline deflates at level 6 with memLevel 9 (services/chunks/codec.ts), and rawSameSettings is the ratio to raw gzip-6 with memLevel 9 too; cpuMsPerMB (process CPU time, all threads) is the load-independent view: on a machine others share, wall-clock ratios swing by ±30 %' });
  }
  const xc = await child({ mode: 'corpus', kind: 'random', mib: MIB, rounds: 1, cipher: 'xchacha20-poly1305' }, TUNED);
  emit({ metric: 'pipeline_in_process', corpus: 'random', cipher: 'xchacha20-poly1305', note: 'synchronous on the main thread (no WebCrypto ChaCha in Node 20)', ...xc });

  // 1b. Core's V8 option (appliance/supervisor/children.ts CORE_NODE_ARGS) against V8's defaults,
  // on incompressible data after gzip work (the raw-limit rounds): CPU per MB is the robust figure.
  for (const [name, nodeArgs] of [['core', CORE_NODE_ARGS], ['v8-default', []]] as const) {
    const r = await child({ mode: 'corpus', kind: 'random', mib: MIB, rounds: 3 }, TUNED, nodeArgs);
    emit({ metric: 'v8_old_space', corpus: 'random', nodeArgs: name === 'core' ? nodeArgs.join(' ') : '(none)', pipelineMBps: r.pipelineMBps, rawGzip6MBps: r.rawGzip6MBps, ratioToRaw: r.ratioToRaw, cpuMsPerMB: r.cpuMsPerMB.pipeline });
  }

  // 1c. Core's huge pages for the malloc heap (CORE_ENV's GLIBC_TUNABLES, where the kernel's huge
  // pages are 2 MiB) against none, on incompressible data: two alternating pairs of processes.
  if (TUNED['GLIBC_TUNABLES'] !== undefined) {
    const { GLIBC_TUNABLES: _tunables, ...noHuge } = TUNED;
    const runs: Record<'huge' | 'none', Array<{ ratioToRaw: number; pipelineMBps: number; cpuMsPerMB: { pipeline: number } }>> = { huge: [], none: [] };
    for (let pair = 0; pair < 2; pair++) {
      for (const v of pair === 0 ? (['huge', 'none'] as const) : (['none', 'huge'] as const)) runs[v].push(await child({ mode: 'corpus', kind: 'random', mib: MIB, rounds: 3 }, v === 'huge' ? TUNED : noHuge));
    }
    for (const v of ['huge', 'none'] as const) {
      emit({ metric: 'malloc_hugepages', corpus: 'random', glibcTunables: v === 'huge' ? TUNED['GLIBC_TUNABLES'] : '(none)',
        ratioToRaw: runs[v].map((r) => r.ratioToRaw), pipelineMBps: runs[v].map((r) => r.pipelineMBps), cpuMsPerMB: runs[v].map((r) => r.cpuMsPerMB.pipeline) });
    }
  }

  // 2. Buffer reuse vs fresh buffers × malloc: 3 alternating rounds, medians (a shared machine is noisy).
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const [mallocName, env] of [['tuned', TUNED], ['stock', STOCK]] as const) {
    const runs = new Map<boolean, Array<{ mbps: number; minorFaultsPerChunk: number; peakRssMB: number }>>([[true, []], [false, []]]);
    for (let round = 0; round < 3; round++) {
      for (const reuse of round % 2 === 0 ? [true, false] : [false, true]) runs.get(reuse)!.push(await child({ mode: 'reuse', kind: 'random', mib: MIB, reuse }, env));
    }
    for (const [reuse, rs] of runs) {
      emit({ metric: 'buffer_reuse', corpus: 'random', malloc: mallocName, reuseBuffers: reuse, mbps: med(rs.map((r) => r.mbps)), mbpsRuns: rs.map((r) => r.mbps),
        minorFaultsPerChunk: med(rs.map((r) => r.minorFaultsPerChunk)), peakRssMB: med(rs.map((r) => r.peakRssMB)) });
    }
  }

  // 3. gzip-6 parallelism: libuv pool vs worker threads.
  for (const kind of ['screen', 'text'] as const) {
    const r = await child({ mode: 'workers', kind, mib: 32, rounds: 3 }, TUNED);
    emit({ metric: 'gzip6_parallelism', corpus: kind, cores, ...r, note: 'the pipeline uses the libuv pool (node:zlib async): no worker start-up or per-worker memory' });
  }

  // 4. End to end over HTTP on loopback.
  let app = await startAppliance({ env: { LUCID_LOG_LEVEL: 'warn' } });
  try {
    await app.waitHealthy(60_000);
    for (const kind of CORPORA as readonly CorpusKind[]) {
      const source = corpus(kind, 32 * MiB, 3);
      const rawBefore = await rawGzipLimit(source, MiB, cores * 2);
      const before = histogramCounts(await (await fetch(`${app.url}/metrics`)).text());
      const up = await upload(app, kind, source, 4 * source.length);
      const metrics = await (await fetch(`${app.url}/metrics`)).text();
      const rawAfter = await rawGzipLimit(source, MiB, cores * 2);
      const raw = Math.max(rawBefore, rawAfter);
      const ratio = up.mbps / raw;
      emit({
        metric: 'pipeline_http_loopback', corpus: kind, mib: (4 * source.length) / MiB, mbps: r1(up.mbps), compressionRatio: up.ratio,
        baseline: { metric: 'parallel_zlib_gzip6_same_data_same_cores', mbps: r1(raw) }, ratioToRaw: Math.round(ratio * 100) / 100,
        chunkP50msBucket: (histogramQuantile(metrics, before, 0.5) ?? NaN) * 1000, chunkP99msBucket: (histogramQuantile(metrics, before, 0.99) ?? NaN) * 1000,
        note: 'client, server and pipeline share the cores; latency is the upper bound of the /metrics histogram bucket',
      });
    }
  } finally {
    await app.cleanup();
  }

  // 5. Peak RSS of core during a big upload (fresh appliance: its high-water mark is this upload's).
  app = await startAppliance({ env: { LUCID_LOG_LEVEL: 'warn' } });
  try {
    await app.waitHealthy(60_000);
    const pid = await corePid(app);
    const idle = rssMB(pid, 'VmRSS');
    const source = corpus('mixed', 64 * MiB, 5);
    let sampled = 0;
    const timer = setInterval(() => { try { sampled = Math.max(sampled, rssMB(pid, 'VmRSS')); } catch { /* gone */ } }, 100);
    const up = await upload(app, 'big', source, BIG_GIB * 1024 * MiB);
    clearInterval(timer);
    const peak = rssMB(pid, 'VmHWM');
    const bare = await new Promise<number>((resolve) => {
      const p = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)'], { stdio: 'ignore' });
      setTimeout(() => { const v = rssMB(p.pid!, 'VmRSS'); p.kill(); resolve(v); }, 1000);
    });
    emit({
      metric: 'core_peak_rss_during_upload', gib: BIG_GIB, corpus: 'mixed', mbps: r1(up.mbps), compressionRatio: up.ratio,
      peakRssMB: Math.round(peak), sampledMaxRssMB: Math.round(sampled), idleRssMB: Math.round(idle),
      baseline: { metric: 'bare_node_rss_mb', value: Math.round(bare) }, goal: { want: '<= 200', pass: peak <= 200 },
    });
  } finally {
    await app.cleanup();
  }
}
