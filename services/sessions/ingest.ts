// Appending an upload body to a session: the body is cut into chunk-sized buffers; each full
// buffer is compressed, encrypted, hashed and written (fdatasync) in parallel with the next
// ones, up to `window` chunks being processed at once. Reading the body waits while the window
// is full, so a fast client is slowed to the pipeline's pace (TCP backpressure) and memory
// stays at ~window × 2 × chunk size.
//
// Written chunks are committed to the store in index order and in groups (every COMMIT_EVERY
// chunks or COMMIT_MS, in the background while the next chunks are processed): one directory
// fsync and one LevelDB batch per group, since a directory fsync forces a journal commit and
// costs as much CPU as encrypting a MiB (measured). At the end the rest is committed, the bytes
// of the unfinished last chunk are sealed as a tail segment and fdatasynced, and one synced
// store write records the new length: that is the acknowledgement. Tail
// files made obsolete by committed chunks are removed only after it. A failure (full disk, I/O)
// drops the uncommitted chunks and keeps the tail as it was; a stop (quota, client gone, delete)
// keeps and acknowledges everything that arrived.
import { LucidError } from '../common/errors.js';
import { processChunk, sealTailSegment, openTailSegments, type SealedChunk, type SessionCrypto } from '../chunks/index.js';
import type { SessionContext } from './context.js';
import type { ChunkRecord, SessionRecord } from './records.js';

const WINDOW_BYTES = 32 * 1024 * 1024;
const COMMIT_EVERY = 8;
const COMMIT_MS = 250;

/** What stays of a chunk once its object is on disk. */
interface Written {
  readonly index: number;
  readonly storedLength: number;
  readonly record: ChunkRecord;
}

interface InFlight {
  readonly index: number;
  readonly done: Promise<Written>;
  settled: boolean;
  error: unknown;
}

export interface AppendOutcome {
  readonly record: SessionRecord;
  /** Why the upload stopped early (quota, disk full, read error…); null when the body ended. */
  readonly error: unknown;
}

export function toRecord(c: SealedChunk): ChunkRecord {
  return { p: c.plainLength, s: c.storedLength, c: c.codec, l: c.leaf.toString('hex') };
}

export class Appender {
  private rec: SessionRecord;
  private buf: Buffer;
  private fill = 0;
  /** Bytes at the start of `buf` that are already durable in the tail file. */
  private durable = 0;
  private nextIndex: number;
  /** Being processed or written, in index order. */
  private readonly inFlight: InFlight[] = [];
  /** Written, not yet committed, in index order. */
  private written: Written[] = [];
  /** The group commit running in the background, if any. */
  private committing: Promise<void> | null = null;
  private lastCommit = performance.now();
  /** Tail files whose bytes are now in committed chunks: removed after the synced write. */
  private readonly obsoleteTails: number[] = [];
  /** A write failed: uncommitted chunks are dropped, the tail stays as it was. */
  private failure: unknown = null;
  /** The upload stopped early for a reason that keeps what arrived (quota, client gone, deleted). */
  private stopReason: unknown = null;
  private readonly cs: number;
  private readonly window: number;
  /** Sealed objects are built in pool buffers too, handed back once written (services/chunks/README.md). */
  private readonly allocObject = (bytes: number): Buffer => this.ctx.pool.acquireAtLeast(bytes);

  constructor(private readonly ctx: SessionContext, rec: SessionRecord, private readonly crypto: SessionCrypto) {
    this.rec = rec;
    this.cs = rec.chunkSize;
    // Big chunks get a smaller window: at most ~32 MiB of plaintext being processed per upload.
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
    while (this.inFlight.length >= this.window && this.failure === null) await this.drain();
    if (this.failure !== null) return;
    const buf = this.buf;
    const index = this.nextIndex++;
    this.buf = this.ctx.pool.acquire(this.cs);
    this.fill = this.durable = 0;
    const entry: InFlight = { index, done: this.process(index, buf), settled: false, error: null };
    entry.done.then(() => { entry.settled = true; }, (err: unknown) => { entry.settled = true; entry.error = err; });
    this.inFlight.push(entry);
  }

  private async process(index: number, plain: Buffer): Promise<Written> {
    // A slot covers the CPU work (gzip, AEAD, hash); the write and its fsync wait outside it.
    const release = await this.ctx.slots.acquire();
    const started = performance.now();
    let sealed: SealedChunk;
    try {
      sealed = await processChunk(this.crypto, index, plain, this.allocObject);
    } finally {
      this.ctx.pool.release(plain);
      release();
    }
    try {
      await this.ctx.disk.reserve(sealed.storedLength);
      await this.ctx.files.writeObject(this.rec.id, sealed);
    } finally {
      // Written and synced, or failed: nothing reads the object's buffer again (the record keeps the leaf).
      this.ctx.pool.release(sealed.backing);
    }
    this.ctx.onChunk({ sessionId: this.rec.id, index, plainBytes: sealed.plainLength, storedBytes: sealed.storedLength, codec: sealed.codec, ms: performance.now() - started });
    return { index, storedLength: sealed.storedLength, record: toRecord(sealed) };
  }

  /** Waits for the oldest chunk to be written; moves every written one in order; commits a group when due. */
  private async drain(): Promise<void> {
    const head = this.inFlight[0];
    if (!head) return;
    await head.done.catch(() => {});
    while (this.inFlight[0]?.settled) {
      const e = this.inFlight[0];
      if (e.error !== null) {
        this.fail(e.error);
        return;
      }
      this.inFlight.shift();
      this.written.push(await e.done);
    }
    if (this.written.length >= COMMIT_EVERY || performance.now() - this.lastCommit >= COMMIT_MS) this.startCommit();
  }

  /**
   * Starts committing the written chunks in the background: chunks go on being dispatched while
   * the directory fsync and the batch run (waiting for them stalled the window every 8 chunks).
   * One commit at a time, so groups are recorded in index order; the next drain starts the next.
   */
  private startCommit(): void {
    if (this.committing !== null || this.written.length === 0 || this.failure !== null) return;
    this.committing = this.commit().catch((err: unknown) => this.fail(err)).finally(() => { this.committing = null; });
  }

  /** Waits for the background commit, then commits whatever is written. */
  private async commitAll(): Promise<void> {
    if (this.committing !== null) await this.committing;
    await this.commit();
  }

  /** One directory fsync (the new entries are durable), then one batch recording the written chunks. */
  private async commit(): Promise<void> {
    if (this.written.length === 0 || this.failure !== null) return;
    const group = this.written.splice(0);
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
      await this.ctx.files.syncSession(before.id);
      await this.ctx.repo.commitChunks(next, group.map((c) => ({ index: c.index, record: c.record })));
    } catch (err) {
      this.written.unshift(...group); // removed with the rest
      this.fail(err);
      return;
    }
    this.rec = next;
    this.lastCommit = performance.now();
    if (before.tail.fileBytes > 0) this.obsoleteTails.push(before.tail.index);
  }

  /**
   * Commits what is in flight, seals the rest as a tail segment and records the new length with
   * a synced write. On a failure, removes the objects of uncommitted chunks and returns it.
   */
  async finish(): Promise<AppendOutcome> {
    while (this.inFlight.length > 0 && this.failure === null) await this.drain();
    await this.commitAll();
    if (this.failure !== null) {
      await this.discardUncommitted();
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
      await this.ctx.disk.headroom();
      await this.ctx.repo.save(this.rec, { sync: true });
    } catch (err) {
      this.fail(err);
    } finally {
      this.ctx.pool.release(this.buf);
    }
    if (this.failure === null) {
      for (const index of this.obsoleteTails) await this.ctx.files.removeTail(this.rec.id, index).catch(() => {});
    }
    return { record: this.rec, error: this.failure ?? this.stopReason };
  }

  private async discardUncommitted(): Promise<void> {
    const left = this.inFlight.splice(0);
    await Promise.all(left.map((e) => e.done.catch(() => {})));
    const indexes = [...this.written.map((w) => w.index), ...left.map((e) => e.index)];
    this.written = [];
    for (const index of indexes) await this.ctx.files.removeObject(this.rec.id, index).catch(() => {});
  }
}
