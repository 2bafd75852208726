// Shared pieces of the pipeline benchmark: the raw parallel gzip-6 limit and one run of the
// real pipeline (SessionService.append into a temp data dir: compression on the libuv pool,
// AEAD, SHA-256 leaves, object files with fsync, LevelDB commits), measured in this process.
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Store } from '../../services/store/index.js';
import { SessionService, type ChunkEvent } from '../../services/sessions/index.js';
import { generateKeyPairSync, sign, createPublicKey } from 'node:crypto';

const gzipAsync = promisify(gzip);
export const MiB = 1024 * 1024;

export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}

/** Parallel zlib gzip-6 of every chunk, `inFlight` at a time: MB/s of input. */
export async function rawGzipLimit(data: Buffer, chunkSize: number, inFlight: number): Promise<number> {
  return (await rawGzip(data, chunkSize, inFlight)).mbps;
}

/** Parallel gzip-6 at zlib's defaults (the raw limit); `memLevel` 9 is what the pipeline uses (codec.ts). */
export async function rawGzip(data: Buffer, chunkSize: number, inFlight: number, memLevel = 8): Promise<{ mbps: number; cpuMsPerMB: number }> {
  const t = performance.now();
  const c = cpuSeconds();
  let next = 0;
  const n = Math.ceil(data.length / chunkSize);
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      await gzipAsync(data.subarray(i * chunkSize, Math.min(data.length, (i + 1) * chunkSize)), { level: 6, memLevel, chunkSize: 64 * 1024 });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { mbps: data.length / 1e6 / ((performance.now() - t) / 1000), cpuMsPerMB: ((cpuSeconds() - c) * 1000) / (data.length / 1e6) };
}

const cpuSeconds = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

export interface PipelineRun {
  readonly mbps: number;
  /** Process CPU time (all threads) per MB of input: robust to other load on the machine. */
  readonly cpuMsPerMB: number;
  readonly ratio: number;
  readonly chunkMs: number[];
  readonly codecs: Record<string, number>;
}

/** The real pipeline on `data`, repeated `repeat` times into one session. */
export async function runPipeline(data: Buffer, options: { chunkSize: number; concurrency?: number; reuseBuffers?: boolean; repeat?: number; cipher?: 'aes-256-gcm' | 'xchacha20-poly1305' }): Promise<PipelineRun> {
  const dir = mkdtempSync(join(tmpdir(), 'lucid-bench-pipe-'));
  const log = pino({ level: 'silent' });
  const store = new Store({ location: join(dir, 'store'), log });
  await store.start();
  const { privateKey } = generateKeyPairSync('ed25519');
  const pub = createPublicKey(privateKey).export({ format: 'jwk' }).x!;
  const events: ChunkEvent[] = [];
  const service = new SessionService({
    store, dataDir: dir, log, quotaBytes: Number.MAX_SAFE_INTEGER, reserveBytes: 0,
    identity: { nodeId: 'bench', publicKeyHex: Buffer.from(pub, 'base64url').toString('hex'), sign: (m) => sign(null, m, privateKey) },
    defaultCipher: options.cipher ?? 'aes-256-gcm',
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    ...(options.reuseBuffers !== undefined ? { reuseBuffers: options.reuseBuffers } : {}), // else the service's default
    onChunk: (e) => events.push(e),
  });
  try {
    await service.start();
    const rec = await service.create({ owner: null, chunkSize: options.chunkSize });
    await service.act(rec.id, 'start');
    const repeat = options.repeat ?? 1;
    // 64 KiB pieces, like a socket delivers them.
    async function* body(): AsyncGenerator<Buffer> {
      for (let r = 0; r < repeat; r++) for (let at = 0; at < data.length; at += 64 * 1024) yield data.subarray(at, Math.min(data.length, at + 64 * 1024));
    }
    const t = performance.now();
    const c = cpuSeconds();
    const out = await service.append(rec.id, 0, body(), null);
    const cpu = cpuSeconds() - c;
    const seconds = (performance.now() - t) / 1000;
    const codecs: Record<string, number> = {};
    for (const e of events) codecs[e.codec] = (codecs[e.codec] ?? 0) + 1;
    const plain = events.reduce((a, e) => a + e.plainBytes, 0);
    const stored = events.reduce((a, e) => a + e.storedBytes, 0);
    return { mbps: out.received / 1e6 / seconds, cpuMsPerMB: (cpu * 1000) / (out.received / 1e6), ratio: plain / stored, chunkMs: events.map((e) => e.ms), codecs };
  } finally {
    await service.stop();
    await store.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
