// Appending an upload body to a session: the body is cut into chunk-sized buffers; each full
// buffer is compressed, encrypted, hashed and written (temp file, fsync, rename) in parallel with
// the next ones, up to `window` chunks in flight; chunks are committed to the store strictly in
// index order. Reading the body waits while the window is full, so a fast client is slowed to
// the pipeline's pace (TCP backpressure) and memory stays at ~window × 3 × chunk size.
//
// At the end, the bytes of the unfinished last chunk are sealed as a tail segment and fsynced,
// then one synced store write records the new length: that is the acknowledgement. A failure
// (full disk, quota, client gone) keeps every chunk committed before it and the tail as it was.
import { LucidError } from '../common/errors.js';
import { processChunk, sealTailSegment, openTailSegments, type SealedChunk, type SessionCrypto } from '../chunks/index.js';
import type { SessionContext } from './context.js';
import type { ChunkRecord, SessionRecord } from './records.js';

const WINDOW_BYTES = 32 * 1024 * 1024;

interface InFlight {
  readonly index: number;
  readonly done: Promise<SealedChunk>;
  settled: boolean;
  error: unknown;
}

export interface AppendOutcome {
  readonly record: SessionRecord;
  /** Why the upload stopped early (quota, disk full, read error…); null when the body ended. */
  readonly error: unknown;
}

export class Appender {
  private rec: SessionRecord;
  private buf: Buffer;
  private fill = 0;
  /** Bytes at the start of `buf` that are already durable in the tail file. */
  private durable = 0;
  private nextIndex: number;
  private readonly inFlight: InFlight[] = [];
  /** A write failed: uncommitted chunks are dropped, the tail stays as it was. */
  private failure: unknown = null;
  /** The upload stopped early for a reason that keeps what arrived (quota, client gone, deleted). */
  private stopReason: unknown = null;
  private readonly cs: number;
  private readonly window: number;

  constructor(private readonly ctx: SessionContext, rec: SessionRecord, private readonly crypto: SessionCrypto) {
    this.rec = rec;
    this.cs = rec.chunkSize;
    // Big chunks get a smaller window: at most ~32 MiB of plaintext in flight per upload.
    this.window = Math.max(2, Math.min(ctx.window, Math.floor(WINDOW_BYTES / this.cs)));
    this.buf = ctx.pool.acquire(this.cs);
    this.nextIndex = rec.chunkCount;
  }

  /** Loads the durable tail into the first chunk buffer. */
  async loadTail(): Promise<void> {
    const t = this.rec.tail;
    if (t.plain === 0) return;
    const file = await this.ctx.files.readTail(this.rec.id, t.index, t.fileBytes);
    const n = openTailSegments(this.crypto, t.index, file, this.buf);
    if (n !== t.plain) throw new LucidError('CHUNK_ERR_CORRUPT', `tail of chunk ${t.index} holds ${n} bytes, not ${t.plain}`, { index: t.index, reason: 'tail-length' });
    this.fill = this.durable = n;
  }

  /** True once the upload cannot take more bytes (failed or stopped). */
  get stopped(): boolean {
    return this.failure !== null || this.stopReason !== null;
  }

  private fail(err: unknown): void {
    this.failure ??= err;
  }

  /** Stops taking bytes; what arrived so far is still committed and acknowledged by finish(). */
  stop(reason: unknown): void {
    this.stopReason ??= reason;
  }

  /** Plaintext bytes the session would hold if everything pushed so far were committed. */
  get position(): number {
    return this.nextIndex * this.cs + this.fill;
  }

  /** Copies a piece of the body in, dispatching every chunk it completes. */
  async push(piece: Buffer): Promise<void> {
    let off = 0;
    while (off < piece.length && !this.stopped) {
      const n = Math.min(this.cs - this.fill, piece.length - off);
      piece.copy(this.buf, this.fill, off, off + n);
      this.fill += n;
      off += n;
      if (this.fill === this.cs) await this.dispatch();
    }
  }

  private async dispatch(): Promise<void> {
    while (this.inFlight.length >= this.window && this.failure === null) await this.commitReady();
    if (this.failure !== null) return;
    const buf = this.buf;
    const index = this.nextIndex++;
    this.buf = this.ctx.pool.acquire(this.cs);
    this.fill = this.durable = 0;
    const entry: InFlight = { index, done: this.process(index, buf), settled: false, error: null };
    entry.done.then(() => { entry.settled = true; }, (err: unknown) => { entry.settled = true; entry.error = err; });
    this.inFlight.push(entry);
  }

  private async process(index: number, plain: Buffer): Promise<SealedChunk> {
    // A slot covers the CPU work (gzip, AEAD, hash); the write and its fsync wait outside it.
    const release = await this.ctx.slots.acquire();
    const started = performance.now();
    let sealed: SealedChunk;
    try {
      sealed = await processChunk(this.crypto, index, plain);
    } finally {
      this.ctx.pool.release(plain);
      release();
    }
    await this.ctx.disk.reserve(sealed.storedLength);
    await this.ctx.files.writeObject(this.rec.id, sealed);
    this.ctx.onChunk({ sessionId: this.rec.id, index, plainBytes: sealed.plainLength, storedBytes: sealed.storedLength, codec: sealed.codec, ms: performance.now() - started });
    return sealed;
  }

  /** Waits for the oldest chunk, then commits it and every later one already on disk, in one batch. */
  private async commitReady(): Promise<void> {
    const head = this.inFlight[0];
    if (!head) return;
    await head.done.catch(() => {});
    const group: SealedChunk[] = [];
    while (this.inFlight[0]?.settled) {
      const e = this.inFlight[0];
      if (e.error !== null) {
        this.fail(e.error);
        break;
      }
      this.inFlight.shift();
      group.push(await e.done);
    }
    if (group.length === 0) return;
    const before = this.rec;
    const count = before.chunkCount + group.length;
    const next: SessionRecord = {
      ...before,
      chunkCount: count,
      received: count * this.cs,
      storedBytes: before.storedBytes + group.reduce((a, c) => a + c.storedLength, 0),
      tail: { index: count, plain: 0, fileBytes: 0 },
      updatedAt: new Date().toISOString(),
    };
    try {
      // The renames must be durable before the store can say the chunks exist.
      await this.ctx.files.syncSession(before.id);
      await this.ctx.repo.commitChunks(next, group.map((c) => ({ index: c.index, record: toRecord(c) })));
    } catch (err) {
      // Not committed: these objects are removed with the rest of the window.
      this.inFlight.unshift(...group.map((c) => ({ index: c.index, done: Promise.resolve(c), settled: true, error: null })));
      this.fail(err);
      return;
    }
    this.rec = next;
    if (before.tail.fileBytes > 0) await this.ctx.files.removeTail(before.id, before.tail.index).catch(() => {});
  }

  /**
   * Commits what is in flight, seals the rest as a tail segment and records the new length with
   * a synced write. On a failure, undoes the writes of uncommitted chunks and returns it.
   */
  async finish(): Promise<AppendOutcome> {
    while (this.inFlight.length > 0 && this.failure === null) await this.commitReady();
    if (this.failure !== null) {
      await this.discardInFlight();
      this.ctx.pool.release(this.buf);
      return { record: this.rec, error: this.failure };
    }
    try {
      if (this.fill > this.durable) {
        const index = this.nextIndex;
        const at = this.rec.tail.index === index ? this.rec.tail.fileBytes : 0;
        const segment = sealTailSegment(this.crypto, index, this.durable, this.buf.subarray(this.durable, this.fill));
        await this.ctx.disk.reserve(segment.length);
        await this.ctx.files.appendTail(this.rec.id, index, at, segment);
        this.rec = { ...this.rec, tail: { index, plain: this.fill, fileBytes: at + segment.length }, received: index * this.cs + this.fill, updatedAt: new Date().toISOString() };
        this.durable = this.fill;
      }
      await this.ctx.repo.save(this.rec, { sync: true });
    } catch (err) {
      this.fail(err);
    } finally {
      this.ctx.pool.release(this.buf);
    }
    return { record: this.rec, error: this.failure ?? this.stopReason };
  }

  private async discardInFlight(): Promise<void> {
    const left = this.inFlight.splice(0);
    await Promise.all(left.map((e) => e.done.catch(() => {})));
    for (const e of left) await this.ctx.files.removeObject(this.rec.id, e.index).catch(() => {});
  }
}

export function toRecord(c: SealedChunk): ChunkRecord {
  return { p: c.plainLength, s: c.storedLength, c: c.codec, l: c.leaf.toString('hex') };
}
