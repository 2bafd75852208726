// Long-lived zlib streams that compress or decompress one whole buffer per job, reset() between
// jobs, instead of one zlib.gzip()/gunzip() call per chunk.
//
// Why (measured on Node 24.21, services/chunks/README.md "Memory on Node 24"): a zlib stream
// object is reclaimed only by a full mark-compact there — a scavenge keeps it, unlike on Node 20
// (the same holds for gzip()'s one-shot results, nodejs/node#65600) — and with it every buffer it
// still references: its output buffer, i.e. the result of the call. One gzip()/gunzip() per
// chunk therefore left the compressed chunk (upload) or the whole plaintext (download, verify)
// behind until V8's next mark-compact, which it starts only after ~64 MB of external growth: core's
// peak RSS rose by ~30 MB. A stream that lives on references only its current output buffer; what
// it handed out earlier is young garbage that the next scavenge frees.
//
// Output arrives as pieces: slices of the stream's output buffers (`bufferBytes` each). A job
// starts where the previous one stopped in the current buffer, so its output may span two
// buffers (two pieces, one more trip through the thread pool).
import { constants, createGunzip, createGzip, type Gunzip, type Gzip, type ZlibReset } from 'node:zlib';

/** reset() is on every deflate/inflate stream (node's docs: zlib.reset()); @types/node lists it for Deflate and Inflate only. */
type ZStream = (Gzip | Gunzip) & ZlibReset;

interface Job {
  readonly pieces: Buffer[];
  bytes: number;
  readonly limit: number;
  error: Error | null;
  readonly settle: (err: Error | null) => void;
}

/** One zlib stream doing one job at a time. Unusable after any error (make a new one). */
export class ZlibEngine {
  private job: Job | null = null;
  private broken = false;
  /** Bytes output since the stream was made (where the next job starts in its output buffer). */
  private produced = 0;

  constructor(private readonly stream: ZStream, readonly bufferBytes: number) {
    stream.on('data', (d: Buffer) => this.onData(d));
    stream.on('error', (err: Error) => {
      this.broken = true;
      this.job?.settle(err);
    });
    // A gunzip stream ends itself when bytes follow the gzip member: do not reuse it.
    stream.on('end', () => { this.broken = true; });
  }

  /** Usable for another job. */
  get usable(): boolean {
    return !this.broken && this.job === null;
  }

  /** The next job's output starts at the beginning of a fresh output buffer. */
  get aligned(): boolean {
    return this.produced % this.bufferBytes === 0;
  }

  private onData(d: Buffer): void {
    this.produced += d.length;
    const job = this.job;
    if (job === null) {
      this.broken = true; // output outside a job: never expected; do not trust this stream again
      return;
    }
    job.pieces.push(d);
    job.bytes += d.length;
    if (job.bytes > job.limit && job.error === null) {
      job.error = new Error(`zlib output exceeds ${job.limit} bytes`);
      this.broken = true;
      this.stream.destroy(job.error);
    }
  }

  /** Runs `input` through the stream as one complete gzip member; at most `limit` bytes of output. */
  run(input: Uint8Array, limit: number): Promise<Buffer[]> {
    if (!this.usable) return Promise.reject(new Error('zlib engine is busy or broken'));
    return new Promise((resolve, reject) => {
      const job: Job = {
        pieces: [], bytes: 0, limit, error: null,
        settle: (err) => {
          if (this.job !== job) return;
          this.job = null;
          const e = err ?? job.error;
          if (e) {
            this.broken = true;
            reject(e);
          } else resolve(job.pieces);
        },
      };
      this.job = job;
      this.stream.reset();
      this.stream.write(input, (err) => {
        // Output still buffered in the readable side (only before the stream's first flowing
        // tick): read() hands it to the 'data' listener now.
        while (err == null && this.stream.readableLength > 0 && this.stream.read() !== null);
        job.settle(err ?? null);
      });
    });
  }

  close(): void {
    this.stream.destroy();
  }
}

/**
 * Idle engines kept for reuse, keyed by output buffer size; at most `keep` in all (the least
 * recently used size goes first). A broken engine, or one whose next job would not start at a
 * buffer boundary when `aligned` is asked for, is closed instead of kept.
 */
export class ZlibEnginePool {
  private readonly idle = new Map<number, ZlibEngine[]>();
  private kept = 0;

  constructor(
    private readonly make: (bufferBytes: number) => ZlibEngine,
    private keep: number,
    private readonly requireAligned: boolean,
  ) {}

  /** Keeps at most `keep` idle engines from now on. */
  resize(keep: number): void {
    this.keep = keep;
    this.trim();
  }

  async run(bufferBytes: number, input: Uint8Array, limit: number): Promise<Buffer[]> {
    const list = this.idle.get(bufferBytes);
    let engine = list?.pop();
    if (engine) this.kept--;
    else engine = this.make(bufferBytes);
    try {
      return await engine.run(input, limit);
    } finally {
      this.giveBack(engine);
    }
  }

  private giveBack(engine: ZlibEngine): void {
    if (!engine.usable || (this.requireAligned && !engine.aligned)) {
      engine.close();
      return;
    }
    const size = engine.bufferBytes;
    const list = this.idle.get(size) ?? [];
    this.idle.delete(size); // re-inserted last: Map order is the recency order
    this.idle.set(size, list);
    list.push(engine);
    this.kept++;
    this.trim();
  }

  private trim(): void {
    while (this.kept > this.keep) {
      const [oldest, engines] = this.idle.entries().next().value as [number, ZlibEngine[]];
      const e = engines.shift();
      if (engines.length === 0) this.idle.delete(oldest);
      if (e) {
        e.close();
        this.kept--;
      }
    }
  }

  /** Idle engines (tests). */
  get size(): number {
    return this.kept;
  }

  clear(): void {
    for (const engines of this.idle.values()) for (const e of engines) e.close();
    this.idle.clear();
    this.kept = 0;
  }
}

/** gzip engines: level and memLevel as given, every job a complete gzip member (Z_FINISH). */
export const gzipEngine = (level: number, memLevel: number) => (bufferBytes: number): ZlibEngine =>
  new ZlibEngine(createGzip({ level, memLevel, chunkSize: bufferBytes, flush: constants.Z_FINISH }) as ZStream, bufferBytes);

/** gunzip engines: every job must be one complete gzip member (Z_FINISH: a truncated one is an error). */
export const gunzipEngine = (bufferBytes: number): ZlibEngine =>
  new ZlibEngine(createGunzip({ chunkSize: bufferBytes, flush: constants.Z_FINISH }) as ZStream, bufferBytes);
