// Open-loop load generator for `bench api` (forked by _api-open.ts, one process per run, so its
// CPU is its own and it never shares an event loop with the server or the bench's bookkeeping).
//
// Why not autocannon for this: autocannon is closed-loop — each connection sends its next request
// only when the previous answer came back — so at 500 connections it measures throughput, and the
// latency it reports is whatever queue the server's throughput implies (Little's law). Its
// `overallRate` option does not make it open-loop: each connection sends its whole quota at the
// start of every second and then pauses, so all 500 connections burst together once a second.
//
// Here the k-th request is due at t0 + k/rate on connection k mod N (a uniform schedule, spread
// evenly over the connections), and its latency is counted from when it was *due*, not from when
// it went out: a request that had to wait because its connection was still busy (the server fell
// behind) counts that wait (no coordinated omission, as wrk2). Only requests due inside the window
// are counted; the TLS handshakes of all N connections are done before the schedule starts and are
// reported on their own (`connectMs`).
//
// Protocol: the parent sends one `OpenLoopJob` message, the child answers with one `OpenLoopResult`.
import { connect, type TLSSocket } from 'node:tls';
import { connect as tcpConnect, type Socket } from 'node:net';
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

export interface OpenLoopJob {
  url: string; connections: number; rate: number; warmS: number; durationS: number;
  /** Bearer tokens, one per connection round robin; null: no Authorization header. */
  tokens: string[] | null; userAgent: string;
  /** Nice value of every thread of the generator (the parent sets the servers'). */
  nice: number;
}
export interface OpenLoopResult {
  rate: number; connections: number; durationS: number;
  /** Answers to requests due in the window, per second of window. */
  achievedReqPerSec: number;
  p50: number; p90: number; p99: number; p999: number; max: number;
  non2xx: number; errors: number;
  /** Requests due in the window and still unanswered 10 s after it (counted as ≥ 10 s in the percentiles). */
  unanswered: number;
  /** ms until every connection had finished its TLS handshake. */
  connectMs: number;
  /** The generator's own lateness: p99 of (sent − due) for requests whose connection was idle. */
  sendLagP99: number;
  /** CPU the generator used during the window, in cores (1 = one core busy all the time). */
  generatorCpu: number;
}

const DRAIN_MS = 10_000;

const pct = (sorted: Float64Array, q: number): number => sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;

export async function openLoop(job: OpenLoopJob): Promise<OpenLoopResult> {
  const url = new URL(job.url);
  const secure = url.protocol === 'https:';
  const port = Number(url.port || (secure ? 443 : 80));
  const head = (i: number): Buffer => Buffer.from(`GET ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\nuser-agent: ${job.userAgent}\r\n` +
    (job.tokens ? `authorization: Bearer ${job.tokens[i % job.tokens.length]}\r\n` : '') + '\r\n', 'latin1');

  interface Conn { sock: Socket | TLSSocket; req: Buffer; queue: number[]; busy: boolean; due: number; buf: Buffer | null }
  const conns: Conn[] = [];
  let windowStart = Infinity;
  let windowEnd = Infinity;
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  let non2xx = 0;
  let errors = 0;
  let outstanding = 0; // due in the window, not yet answered
  const lags: number[] = [];
  let onDrained: (() => void) | null = null;

  const send = (c: Conn, due: number, now: number): void => {
    c.busy = true;
    c.due = due;
    if (due >= windowStart && due < windowEnd && c.queue.length === 0) lags.push(now - due);
    c.sock.write(c.req);
  };
  const answered = (c: Conn, status: number): void => {
    const now = performance.now();
    if (c.due >= windowStart && c.due < windowEnd) {
      if (count === latencies.length) { const grown = new Float64Array(count * 2); grown.set(latencies); latencies = grown; }
      latencies[count++] = now - c.due;
      if (status < 200 || status > 299) non2xx++;
      if (--outstanding === 0 && onDrained) onDrained();
    }
    c.busy = false;
    const next = c.queue.shift();
    if (next !== undefined) send(c, next, now);
  };
  const onData = (c: Conn, chunk: Buffer): void => {
    let buf: Buffer = c.buf ? Buffer.concat([c.buf, chunk]) : chunk;
    for (;;) {
      const end: number = buf.indexOf('\r\n\r\n');
      if (end < 0) break;
      const header: string = buf.toString('latin1', 0, end);
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(header)?.[1] ?? 0);
      if (buf.length < end + 4 + length) break;
      buf = buf.subarray(end + 4 + length);
      answered(c, Number(header.slice(9, 12)));
    }
    c.buf = buf.length > 0 ? buf : null;
  };

  const t0 = performance.now();
  await Promise.all(Array.from({ length: job.connections }, (_, i) => new Promise<void>((resolve, reject) => {
    const sock = secure
      ? connect({ host: url.hostname, port, rejectUnauthorized: false }, () => resolve())
      : tcpConnect({ host: url.hostname, port }, () => resolve());
    sock.setNoDelay(true);
    const c: Conn = { sock, req: head(i), queue: [], busy: false, due: 0, buf: null };
    sock.on('data', (d: Buffer) => onData(c, d));
    sock.on('error', (e) => { errors++; reject(e); });
    sock.on('close', () => { if (c.busy || c.queue.length) errors++; });
    conns.push(c);
  })));
  const connectMs = performance.now() - t0;

  // The schedule: ticks of ~1 ms dispatch every request due by then (a timer, not a busy loop: the
  // generator must leave the CPU to the server on a 2-core machine).
  const start = performance.now() + 20;
  windowStart = start + job.warmS * 1000;
  windowEnd = windowStart + job.durationS * 1000;
  const interval = 1000 / job.rate;
  let k = 0;
  let cpu0: NodeJS.CpuUsage | null = null;
  let cpuWindow = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      if (cpu0 === null && now >= windowStart) { cpu0 = process.cpuUsage(); process.send?.({ window: 'start' }); }
      for (let due = start + k * interval; due <= now && due < windowEnd; due = start + ++k * interval) {
        const c = conns[k % conns.length]!;
        if (due >= windowStart) outstanding++;
        if (c.busy) c.queue.push(due); else send(c, due, now);
      }
      if (start + k * interval < windowEnd) { setTimeout(tick, 1); return; }
      const u = process.cpuUsage(cpu0 ?? undefined);
      cpuWindow = (u.user + u.system) / 1000 / (now - Math.max(windowStart, start));
      process.send?.({ window: 'end' });
      resolve();
    };
    setTimeout(tick, Math.max(0, start - performance.now()));
  });
  // Wait for the window's answers, at most DRAIN_MS.
  if (outstanding > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, DRAIN_MS);
      onDrained = () => { clearTimeout(timer); resolve(); };
    });
  }
  const unanswered = outstanding;
  for (const c of conns) c.sock.destroy();
  const all = new Float64Array(count + unanswered);
  all.set(latencies.subarray(0, count));
  all.fill(DRAIN_MS, count);
  const sorted = all.sort();
  const lagSorted = Float64Array.from(lags).sort();
  return {
    rate: job.rate, connections: job.connections, durationS: job.durationS,
    achievedReqPerSec: count / job.durationS,
    p50: pct(sorted, 0.5), p90: pct(sorted, 0.9), p99: pct(sorted, 0.99), p999: pct(sorted, 0.999), max: pct(sorted, 1),
    non2xx, errors, unanswered, connectMs, sendLagP99: pct(lagSorted, 0.99), generatorCpu: cpuWindow,
  };
}

if (process.send && process.argv[1]?.endsWith('_open-loop.ts')) {
  process.once('message', (job: OpenLoopJob) => {
    // The parent samples the server's CPU at the 'start' and 'end' messages of the window.
    for (const tid of readdirSync('/proc/self/task')) try { setPriority(Number(tid), job.nice); } catch { /* exited */ }
    openLoop(job).then((r) => process.send!(r, () => process.exit(0)), (e: Error) => { console.error(e); process.exit(1); });
  });
}
