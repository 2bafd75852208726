// API benchmark: autocannon against, in the same run on the same machine:
//   baseline — a bare fastify hello-world (GET / → {"hello":"world"}) in its own process;
//   ours     — the real appliance (supervisor + core from dist/), an authenticated, rate-limited
//              JSON read (GET /api/v1/auth/sessions: bearer JWT verified, family checked,
//              rate-limit counter incremented, role checked, JSON schema-serialised),
// at 100 and 500 connections, counted once every connection is open (cannon() says why), over
// plain HTTP and over TLS (keep-alive connections; the hello-world then serves the appliance's
// own certificate with the same TLS options), on loopback and across a veth pair into a network
// namespace (a real network path; there only TLS, since plain HTTP from the network answers no
// credential). BENCH_API_PATHS and BENCH_API_TRANSPORTS choose. JSON lines: req/s, p50/p99
// latency, non-2xx, ratio to baseline, the connect storm on its own, and the ratio to a third
// server: the hello-world with the appliance's write batching.
// The node_operator tier allows 5,000 requests per minute per user, so the load is spread over
// fresh node_operator users (one token per connection, round robin; one set of users per run)
// that each stay under their limit: the limiter runs on every request and never answers 429
// (non2xx is reported to prove it). (Admin users, as before the two-person rule, now take a
// second admin's approval each.)
// Also: the RSS that helmet and @fastify/rate-limit add to a fastify process.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
// @ts-expect-error — autocannon ships no types
import autocannon from 'autocannon';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, childPidOf, freePort, startAppliance } from '../helpers/appliance.js';
import { OPEN_CONNECTIONS, openLoopLadder, openRates, openUsers } from './_api-open.js';
import { createNetns } from '../helpers/netns.js';
import { applianceCertificate, pinnedFetch } from '../helpers/tls.js';
import { DEFAULT_WRITE_BATCH } from '../../services/api/write-batch.js';
import { tlsServerOptions } from '../../services/common/tls.js';
import { BENCH_ROLE, BENCH_UA, benchTokens } from './_api-tokens.js';
import { RATE_LIMITS } from '../../services/api/access.js';

const DURATION_S = Number(process.env['BENCH_API_SECONDS'] ?? 3);
// Baseline and ours alternate, ROUNDS times each; the ratio is the median of the per-round ratios
// (each round's two runs are back to back and see the same load; the machine's speed drifts by
// ±30 % within minutes), and the req/s and latency figures are medians.
const ROUNDS = Number(process.env['BENCH_API_ROUNDS'] ?? 5);
// BENCH_API_CONNECTIONS: the closed-loop connection counts (empty: none, only the open loop below).
const CONNECTIONS = (process.env['BENCH_API_CONNECTIONS'] ?? '100,500').split(',').filter(Boolean).map(Number);
const emit = (o: object): void => console.log(JSON.stringify({ bench: 'api', ...o }));
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

interface Result { requests: { average: number }; latency: { p50: number; p99: number; p99_9: number; max: number }; non2xx: number; errors: number; timeouts: number }

/** One run's figures over its steady window: after every connection has had its first answer. */
interface Measured {
  reqPerSec: number; p50: number; p99: number; p999: number; max: number;
  /** Over the whole run. */
  non2xx: number; errors: number;
  /** ms from the start until the last connection's first answer (the connect storm). */
  allAnsweredMs: number;
  /** The first answers' own p99: mostly waiting to be accepted. */
  firstAnswerP99: number;
  /** autocannon's figures over the whole run, connect storm included. */
  whole: { reqPerSec: number; p99: number };
  /** Cores autocannon (this process) used in the window: near 1, it is the bottleneck, not the server. */
  generatorCpu: number;
}

// libuv (1.45 and later, in Node 20) accepts one connection per event-loop turn, and a saturated
// server's turn lasts as long as answering every ready connection takes, so when 500 connections
// open at once the last ones are accepted up to a second or more later (README "bench api"). Their
// first requests wait all that time, and at 15,000 req/s those 500 are over 1 % of a 3 s run: the
// run's p99 then measures the connect storm, not the server "at 500 connections". So each run
// keeps its connections and counts only what is answered after all of them have had an answer
// plus SETTLE_MS, for DURATION_S. The storm is reported beside it.
const SETTLE_MS = 500;
const STORM_CAP_MS = 10_000; // a storm longer than this is measured as part of the window

const pct = (sorted: Float64Array, q: number): number => sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;

function cannon(url: string, connections: number, tokens: string[] | null, duration = DURATION_S): Promise<Measured> {
  let next = 0;
  const t0 = performance.now();
  const answered = new Set<unknown>();
  const firsts: number[] = [];
  let allAnsweredMs = -1;
  let windowStart = Infinity;
  let windowEnd = Infinity;
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  let cpu0: NodeJS.CpuUsage | null = null;
  let generatorCpu = NaN;
  return new Promise((resolve, reject) => {
    const instance = autocannon({
      url, connections, duration: duration + (STORM_CAP_MS + SETTLE_MS) / 1000 + 1, headers: { 'user-agent': 'lucid-bench' },
      ...(tokens ? { setupClient: (client: { setHeaders(h: Record<string, string>): void }) => client.setHeaders({ 'user-agent': 'lucid-bench', authorization: `Bearer ${tokens[next++ % tokens.length]}` }) } : {}),
    }, (err: Error | null, result: Result) => {
      clearTimeout(cap);
      if (err) return reject(err);
      if (cpu0 && Number.isNaN(generatorCpu)) windowCpu();
      const sorted = latencies.subarray(0, count).sort();
      const inWindow = Math.min(performance.now(), windowEnd) - windowStart;
      resolve({
        reqPerSec: count / (inWindow / 1000), p50: pct(sorted, 0.5), p99: pct(sorted, 0.99), p999: pct(sorted, 0.999), max: pct(sorted, 1),
        non2xx: result.non2xx, errors: result.errors + result.timeouts, allAnsweredMs: allAnsweredMs < 0 ? NaN : allAnsweredMs,
        firstAnswerP99: pct(Float64Array.from(firsts).sort(), 0.99), whole: { reqPerSec: result.requests.average, p99: result.latency.p99 }, generatorCpu,
      });
    });
    const openWindow = (at: number): void => {
      windowStart = at;
      windowEnd = at + duration * 1000;
      setTimeout(() => { cpu0 = process.cpuUsage(); }, Math.max(0, at - performance.now()));
      setTimeout(() => { windowCpu(); instance.stop(); }, Math.max(0, windowEnd - performance.now()));
    };
    const windowCpu = (): void => {
      if (!cpu0) return;
      const u = process.cpuUsage(cpu0);
      generatorCpu = (u.user + u.system) / 1000 / (Math.min(performance.now(), windowEnd) - windowStart);
    };
    const cap = setTimeout(() => { if (windowStart === Infinity) openWindow(performance.now()); }, STORM_CAP_MS);
    instance.on('response', (client: unknown, status: number, _bytes: number, ms: number) => {
      const now = performance.now();
      if (allAnsweredMs < 0 && !answered.has(client)) {
        answered.add(client);
        firsts.push(ms);
        if (answered.size === connections) {
          allAnsweredMs = now - t0;
          if (windowStart === Infinity) openWindow(now + SETTLE_MS);
        }
      }
      if (now < windowStart || now > windowEnd) return;
      if (count === latencies.length) { const grown = new Float64Array(count * 2); grown.set(latencies); latencies = grown; }
      latencies[count++] = ms;
    });
  });
}

export interface Target { url: string; child: ChildProcess }

/**
 * The baseline: a bare fastify hello-world; with `batch`, the same with the appliance's write
 * batching (write-batch.ts); with `tls`, over HTTPS with the appliance's own TLS options and
 * certificate (services/common/tls.ts), so both sides pay the same handshake and record costs.
 */
async function helloWorld(where: { host: string; wrap: readonly string[] }, batch = 1, tls: object | null = null): Promise<Target> {
  const port = await freePort();
  const writeBatch = pathToFileURL(join(ROOT, 'services/api/write-batch.ts')).href;
  const [command, ...prefix] = [...where.wrap, process.execPath];
  const child = spawn(command!, [...prefix, ...(batch > 1 ? ['--import', 'tsx'] : []), '--input-type=module', '-e', `
    import Fastify from 'fastify';
    const app = Fastify({ logger: false, ...(process.env.BENCH_TLS ? { https: JSON.parse(process.env.BENCH_TLS) } : {}) });
    ${batch > 1 ? `(await import('${writeBatch}')).installWriteBatching(app, ${batch});` : ''}
    app.get('/', async () => ({ hello: 'world' }));
    await app.listen({ host: '${where.host}', port: ${port} });
    process.send?.('ready'); console.log('ready');`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...(tls ? { BENCH_TLS: JSON.stringify(tls) } : {}) } });
  await new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(); }));
  return { url: `${tls ? 'https' : 'http'}://${where.host}:${port}/`, child };
}

async function rssOf(withPlugins: boolean): Promise<number> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    import Fastify from 'fastify';
    const app = Fastify({ logger: false });
    if (${withPlugins}) {
      const helmet = (await import('helmet')).default; // as services/api/security-headers.ts: computed once
      const h = {}; helmet({ strictTransportSecurity: false })({}, { setHeader: (k, v) => { h[k] = v; }, removeHeader() {} }, () => {});
      app.addHook('onRequest', (q, r, d) => { r.headers(h); d(); });
      await app.register((await import('@fastify/rate-limit')).default, { global: true, max: 100, timeWindow: 60000 });
    }
    app.get('/', async () => ({ hello: 'world' }));
    await app.ready();
    globalThis.gc?.(); setTimeout(() => { console.log(process.memoryUsage().rss); process.exit(0); }, 300);`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  await new Promise((r) => child.on('exit', r));
  return Number(out.trim()) / 1048576;
}

/** Where the load travels: `loopback`, or `veth` (a network namespace, tests/helpers/netns.ts; needs root). */
const PATHS = (process.env['BENCH_API_PATHS'] ?? (process.getuid?.() === 0 ? 'loopback,veth' : 'loopback')).split(',');
/** `http` (plain) and `tls`; over the network plain HTTP answers no credential, so `veth` measures `tls` only. */
const TRANSPORTS = (process.env['BENCH_API_TRANSPORTS'] ?? 'http,tls').split(',');

export async function run(): Promise<void> {
  const rssBare = await rssOf(false);
  const rssPlugins = await rssOf(true);
  emit({ what: 'rss-cost-of-helmet-and-rate-limit', bareFastifyMB: round(rssBare), withPluginsMB: round(rssPlugins), deltaMB: round(rssPlugins - rssBare) });
  for (const path of PATHS) await runPath(path);
  // Issue #20 §5: the TLS read across a real network path beside the same on loopback.
  const tls = summary.filter((x) => x.transport === 'tls');
  for (const connections of CONNECTIONS) {
    const [lo, veth] = (['loopback', 'veth'] as const).map((p) => tls.find((x) => x.path === p && x.connections === connections));
    if (!lo || !veth) continue;
    emit({
      what: 'veth-vs-loopback', transport: 'tls', connections,
      loopback: { ratio: lo.ratio, reqPerSec: lo.reqPerSec, p99ms: lo.p99ms, helloWorldReqPerSec: lo.helloReqPerSec },
      veth: { ratio: veth.ratio, reqPerSec: veth.reqPerSec, p99ms: veth.p99ms, helloWorldReqPerSec: veth.helloReqPerSec },
      vethOverLoopbackReqPerSec: round(veth.reqPerSec / lo.reqPerSec, 2),
    });
  }
}

/** The first five tokens warm up, the others are measured. */
const split = (tokens: string[]): [string[], string[]] => [tokens.slice(0, 5), tokens.slice(5)];

/** Each (path, transport, connections) figure, for the summary line. */
const summary: Array<{ path: string; transport: string; connections: number; ratio: number; reqPerSec: number; p99ms: number; helloReqPerSec: number }> = [];

async function runPath(path: string): Promise<void> {
  const ns = path === 'veth' ? createNetns() : null;
  const where = { host: ns ? ns.nsAddress : '127.0.0.1', wrap: ns?.exec ?? [] };
  const transports = ns ? TRANSPORTS.filter((t) => t === 'tls') : TRANSPORTS;
  if (ns && transports.length < TRANSPORTS.length) emit({ what: 'note', path, text: 'over the network plain HTTP answers no credential (API_ERR_HTTPS_REQUIRED): only TLS is measured' });
  const env = { LUCID_LOG_LEVEL: 'warn', ...(ns ? { LUCID_HOST: '0.0.0.0' } : {}) };
  const app = await startAppliance({ env, wrap: where.wrap, host: where.host });
  // BENCH_API_AB_DESCRIPTORS=<n>: a second appliance with that many accept descriptors in the same
  // rounds (the question whether more than one pays, README "bench api").
  const abDescriptors = process.env['BENCH_API_AB_DESCRIPTORS'];
  const alt = abDescriptors ? await startAppliance({ env: { ...env, LUCID_API_ACCEPT_DESCRIPTORS: abDescriptors }, wrap: where.wrap, host: where.host }) : null;
  const servers: Target[] = [];
  try {
    await app.waitHealthy(30_000);
    // Enough users to stay under their per-minute limit at 35k req/s (a run is the storm,
    // SETTLE_MS, the window and up to 1 s before autocannon stops); BENCH_API_USERS sets it (each
    // user costs two password hashes, slow on a loaded machine). Five more per set only warm up.
    const perRun = Number(process.env['BENCH_API_USERS'] ?? Math.max(20, Math.ceil((35_000 * (ROUNDS * (DURATION_S + 2) + 2)) / (0.9 * RATE_LIMITS[BENCH_ROLE])))) + 5;
    // One set of users per run (transport × connections), made just before it: access tokens
    // live 15 minutes, and making every set first outlived them on a loaded machine.
    const tags = 'abcd'.slice(0, transports.length * CONNECTIONS.length).split('');
    const tokensFor = async (a: typeof app, tag: string): Promise<string[]> => (await (ns ? tokensInside(ns.exec, a, perRun, [tag]) : benchTokens(a.url, a.dataDir, perRun, [tag])))[0]!;
    await alt?.waitHealthy(30_000);
    const certPem = applianceCertificate(app.dataDir);
    const tls = tlsServerOptions({ certPem, keyPem: readFileSync(join(app.dataDir, 'keys/tls-p256.pem'), 'utf8') });
    for (const [t, transport] of transports.entries()) {
      const secure = transport === 'tls';
      const hello = await helloWorld(where, 1, secure ? tls : null);
      // The acceptance ratio is against plain fastify, what anyone would compare with. The appliance
      // batches its answers' writes (services/api/write-batch.ts), which a plain server could do too:
      // `ratioToBatchedHelloWorld` shows what the rest of the stack costs against that.
      const helloBatched = await helloWorld(where, DEFAULT_WRITE_BATCH, secure ? tls : null);
      servers.push(hello, helloBatched);
      const ourUrl = `${secure ? app.httpsUrl : app.url}/api/v1/auth/sessions`;
      const altUrl = alt ? `${secure ? alt.httpsUrl : alt.url}/api/v1/auth/sessions` : null;
      const probeFetch = secure ? pinnedFetch(certPem) : fetch;
      const first = await tokensFor(app, tags[t * 2]!);
      const check = await probeFetch(ourUrl, { headers: { authorization: `Bearer ${first[0]}`, 'user-agent': BENCH_UA } });
      emit({ what: 'probe', path, transport, status: check.status, rateLimit: check.headers.get('ratelimit-limit'), body: (await check.text()).slice(0, 80) });
      for (const [i, connections] of CONNECTIONS.entries()) {
        const [warm, own] = split(i === 0 ? first : await tokensFor(app, tags[t * 2 + i]!));
        const [altWarm, altOwn] = alt ? split(await tokensFor(alt, tags[t * 2 + i]!)) : [[], []];
        // One short run of warm-up each (JIT), on tokens of the other set.
        await cannon(hello.url, connections, null, 1);
        await cannon(helloBatched.url, connections, null, 1);
        await cannon(ourUrl, connections, warm, 1);
        if (altUrl) await cannon(altUrl, connections, altWarm, 1);
        const alts: Measured[] = [];
        const bases: Measured[] = [];
        const batched: Measured[] = [];
        const ourss: Measured[] = [];
        for (let r = 0; r < ROUNDS; r++) {
          bases.push(await cannon(hello.url, connections, null));
          ourss.push(await cannon(ourUrl, connections, own));
          if (altUrl) alts.push(await cannon(altUrl, connections, altOwn));
          batched.push(await cannon(helloBatched.url, connections, null));
        }
        const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
        const fig = (rs: Measured[]) => ({
          reqPerSec: Math.round(med(rs.map((r) => r.reqPerSec))), p50ms: round(med(rs.map((r) => r.p50))), p99ms: round(med(rs.map((r) => r.p99))),
          p999ms: round(med(rs.map((r) => r.p999))), maxMs: round(Math.max(...rs.map((r) => r.max))),
          rounds: rs.map((r) => Math.round(r.reqPerSec)), roundsP99ms: rs.map((r) => round(r.p99)),
          non2xx: rs.reduce((n, r) => n + r.non2xx, 0), errors: rs.reduce((n, r) => n + r.errors, 0),
          // The connect storm, outside the window: when the last connection had its first answer,
          // the first answers' p99, and autocannon's own figures over the whole run.
          connect: { allAnsweredMs: Math.round(med(rs.map((r) => r.allAnsweredMs))), firstAnswerP99ms: round(med(rs.map((r) => r.firstAnswerP99))) },
          wholeRun: { reqPerSec: Math.round(med(rs.map((r) => r.whole.reqPerSec))), p99ms: med(rs.map((r) => r.whole.p99)) },
          generatorCpu: round(med(rs.map((r) => r.generatorCpu)), 2),
        });
        const base = fig(bases);
        const ours = fig(ourss);
        const twin = fig(batched);
        const ratio = round(med(ourss.map((o, r) => o.reqPerSec / bases[r]!.reqPerSec)), 2);
        summary.push({ path, transport, connections, ratio, reqPerSec: ours.reqPerSec, p99ms: ours.p99ms, helloReqPerSec: base.reqPerSec });
        emit({
          path, transport, connections, durationS: DURATION_S, settleMs: SETTLE_MS, rounds: ROUNDS,
          descriptors: Number(process.env['LUCID_API_ACCEPT_DESCRIPTORS'] ?? 8), node: process.version,
          baseline: { what: `fastify hello-world${secure ? ' over TLS' : ''}`, ...base },
          ours: { what: `GET /api/v1/auth/sessions with a bearer token (node_operator tier, rate limited)${secure ? ' over TLS' : ''}`, users: own.length, ...ours },
          ratio,
          ratioOfMedians: round(ours.reqPerSec / base.reqPerSec, 2),
          batchedHelloWorld: { reqPerSec: twin.reqPerSec, p99ms: twin.p99ms },
          ratioToBatchedHelloWorld: round(med(ourss.map((o, r) => o.reqPerSec / batched[r]!.reqPerSec)), 2),
          ...(alt ? { ab: { descriptors: Number(abDescriptors), ...fig(alts), ratio: round(med(alts.map((o, r) => o.reqPerSec / bases[r]!.reqPerSec)), 2) } } : {}),
          loadavg: loadavg().map((l) => round(l, 2)),
          acceptance: { ratioAtLeast: 0.5, p99AtMostMsAt500: 50 },
        });
      }
      // Issue #19: the TLS read at 500 connections under fixed offered rates (_api-open.ts says why).
      if (secure && process.env['BENCH_API_OPEN'] !== '0') {
        const closed = summary.find((x) => x.path === path && x.transport === 'tls' && x.connections === OPEN_CONNECTIONS) ?? summary.find((x) => x.path === path && x.transport === 'tls');
        const rates = openRates(closed?.reqPerSec ?? 1000);
        const own = await (ns ? tokensInside(ns.exec, app, openUsers(rates, RATE_LIMITS[BENCH_ROLE]), ['e']) : benchTokens(app.url, app.dataDir, openUsers(rates, RATE_LIMITS[BENCH_ROLE]), ['e']));
        await openLoopLadder({
          path, rates, userAgent: BENCH_UA, emit,
          hello: { url: hello.url, pid: hello.child.pid!, tokens: null },
          ours: { url: ourUrl, pid: childPidOf(app.pid, 'core') ?? app.pid, tokens: own[0]! },
        });
      }
      hello.child.kill();
      helloBatched.child.kill();
    }
  } finally {
    for (const s of servers) s.child.kill();
    await app.cleanup();
    await alt?.cleanup();
    ns?.destroy();
  }
}

/** The token sets, made on the appliance's own loopback inside its namespace (_api-tokens.ts says why). */
async function tokensInside(wrap: readonly string[], app: { port: number; dataDir: string }, count: number, tags: readonly string[]): Promise<string[][]> {
  const [command, ...prefix] = [...wrap, process.execPath];
  const child = spawn(command!, [...prefix, '--import', 'tsx', join(ROOT, 'tests/bench/_api-tokens.ts'), `http://127.0.0.1:${app.port}`, app.dataDir, String(count), tags.join(',')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`making tokens inside the namespace failed (${String(code)})`);
  return JSON.parse(out) as string[][];
}
