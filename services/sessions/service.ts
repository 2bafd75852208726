// The sessions service: lifecycle (pure table in state-machine.ts), uploads, finalize, reads,
// verify, crypto-shredding delete, crash recovery at start, and the completed-manifests feed.
// Access control is the routes' job (ownership through canAccessOwned); this class trusts its caller.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { LucidError, isLucidError } from '../common/errors.js';
import type { Lifecycle } from '../common/lifecycle.js';
import type { Logger } from '../common/log.js';
import type { Store } from '../store/index.js';
import {
  keepZlibEngines, BufferPool, ChunkFiles, DiskGuard, Semaphore, inclusionPath, isDiskFull, loadOrCreateMasterKey, newDataKey, wrapDataKey,
  DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE, type CipherName,
} from '../chunks/index.js';
import { KeyRing, type ChunkEvent, type SessionContext } from './context.js';
import { appendBody, checkAppend } from './append.js';
import { keyDamage, recoverSessions } from './recovery.js';
import { damageOf, isQuarantined, type Damage } from './damage.js';
import { readPlain, verifySession } from './reader.js';
import { finalizeSession, type ManifestIdentity } from './finalize.js';
import { newSessionId } from './ids.js';
import { SessionLocks } from './session-lock.js';
import { SessionRepo, type CompletedItem, type CompletedPage, type ListQuery, type SessionRecord, type VerifyResult } from './records.js';
import { transition, type ClientAction } from './state-machine.js';

export interface AnchorLookup {
  /** The anchor of a manifest on the chain, once final; null before. Filled by the ledger. */
  lookup(manifestHash: string): Promise<Record<string, unknown> | null>;
}

export interface SessionServiceDeps {
  readonly store: Store;
  readonly dataDir: string;
  readonly log: Logger;
  readonly identity: ManifestIdentity;
  /** Largest (and default) quota of one session, in plaintext bytes. */
  readonly quotaBytes: number;
  /** Free space the chunk store leaves on its file system. */
  readonly reserveBytes: number;
  readonly defaultCipher: CipherName;
  /** Chunks compressed/encrypted at once across all uploads; default: the CPU cores + 1. */
  readonly concurrency?: number;
  /**
   * Reuse chunk buffers from a pool (default true). With the core's malloc settings a fresh
   * 1 MiB buffer costs no page faults either, but right after gzip work reused ones measured
   * faster on incompressible data: 411 vs 324 MB/s (median of 7 interleaved rounds, ~half the
   * scavenges); in fresh processes and on text the difference is inside the noise
   * (`./build.sh bench pipeline`, buffer_reuse). The pool keeps at most 32 MiB.
   */
  readonly reuseBuffers?: boolean;
  readonly lockTimeoutMs?: number;
  readonly anchors?: AnchorLookup;
  /** False while an emergency control has disabled new sessions (auth's emergency state). */
  readonly mayCreate?: () => boolean;
  readonly onChunk?: (e: ChunkEvent) => void;
}

export interface CreateOptions {
  readonly chunkSize?: number;
  readonly cipher?: CipherName;
  readonly labels?: Readonly<Record<string, string>>;
  readonly quotaBytes?: number;
  readonly owner: string | null;
}

export type CompletedListener = (item: CompletedItem & { cursor: string }) => void;

export class SessionService implements Lifecycle {
  private ctx!: SessionContext;
  private repo!: SessionRepo;
  private readonly locks = new SessionLocks();
  private readonly active = new Map<string, AbortController>();
  private readonly listeners = new Set<CompletedListener>();
  private readonly log: Logger;
  private readonly cores = Math.max(1, availableParallelism());

  constructor(private readonly deps: SessionServiceDeps) {
    this.log = deps.log.child({ module: 'sessions' });
  }

  async start(): Promise<void> {
    const master = await loadOrCreateMasterKey(this.deps.dataDir, this.log);
    this.repo = new SessionRepo(this.deps.store);
    await this.repo.init();
    const files = new ChunkFiles(join(this.deps.dataDir, 'chunks'));
    await files.init();
    const disk = new DiskGuard({ dir: files.root, reserveBytes: this.deps.reserveBytes });
    if (!(await disk.ensureBallast())) this.log.warn('no room for the disk ballast: the disk is full');
    // One more than the cores: while a chunk crosses between the thread pool and the main thread,
    // another keeps its core busy (measured: ~10 % more throughput than one per core).
    const slots = this.deps.concurrency ?? this.cores + 1;
    keepZlibEngines(slots);
    const window = slots + 2;
    this.ctx = {
      repo: this.repo, files, disk, slots: new Semaphore(slots), window,
      pool: new BufferPool({ keepBytes: 32 * 1024 * 1024, reuse: this.deps.reuseBuffers ?? true }),
      keys: new KeyRing(master), log: this.log, onChunk: this.deps.onChunk ?? (() => {}),
    };
    await this.recover();
  }

  async stop(): Promise<void> {
    for (const c of this.active.values()) c.abort();
    this.ctx?.pool.clear();
  }

  // ---- lifecycle ----

  async create(options: CreateOptions): Promise<SessionRecord> {
    if (this.deps.mayCreate && !this.deps.mayCreate()) {
      throw new LucidError('SESS_ERR_CREATION_DISABLED', 'new sessions are disabled by an emergency control (it reverts by itself after 12 h)');
    }
    const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
      throw new LucidError('SESS_ERR_BAD_OPTION', `chunk size must be ${MIN_CHUNK_SIZE}…${MAX_CHUNK_SIZE} bytes`, { chunkSize });
    }
    const quotaBytes = options.quotaBytes ?? this.deps.quotaBytes;
    if (quotaBytes > this.deps.quotaBytes) {
      throw new LucidError('SESS_ERR_BAD_OPTION', `quota may be at most ${this.deps.quotaBytes} bytes on this appliance`, { quotaBytes, max: this.deps.quotaBytes });
    }
    const id = newSessionId();
    const now = new Date().toISOString();
    const dataKey = newDataKey();
    const rec: SessionRecord = {
      v: 1, id, state: 'created', owner: options.owner, labels: { ...(options.labels ?? {}) }, chunkSize,
      cipher: options.cipher ?? this.deps.defaultCipher, quotaBytes,
      wrappedKey: wrapDataKey(this.ctx.keys.masterKey, id, dataKey).toString('base64'),
      createdAt: now, updatedAt: now, startedAt: null, stoppedAt: null, completedAt: null, deletedAt: null,
      received: 0, chunkCount: 0, storedBytes: 0, tail: { index: 0, plain: 0, fileBytes: 0 },
      pausedReason: null, merkleRoot: null, manifestHash: null, failure: null, lastVerify: null,
    };
    dataKey.fill(0);
    await this.ctx.files.createSession(id);
    await this.repo.save(rec);
    this.log.info({ sessionId: id, chunkSize, cipher: rec.cipher }, 'session created');
    return rec;
  }

  async get(id: string): Promise<SessionRecord> {
    const rec = await this.repo.get(id);
    if (!rec) throw new LucidError('SESS_ERR_NOT_FOUND', `no session ${id}`, { sessionId: id });
    return rec;
  }

  list(query: ListQuery): Promise<{ sessions: SessionRecord[]; next: string | null }> {
    return this.repo.list(query);
  }

  /** start, pause, resume, stop. Resuming after a full disk first checks that there is room again. */
  async act(id: string, action: ClientAction): Promise<SessionRecord> {
    // Pausing or stopping a session that is receiving data ends that upload (what arrived is kept
    // and acknowledged) instead of waiting for it.
    if (action === 'pause' || action === 'stop') this.active.get(id)?.abort();
    const release = await this.lock(id);
    try {
      const rec = await this.get(id);
      const state = transition(rec.state, action);
      if (action === 'resume' && rec.pausedReason === 'storage-full') {
        this.ctx.disk.invalidate();
        if (!(await this.ctx.disk.ensureBallast())) throw new LucidError('SESS_ERR_STORAGE_FULL', 'the disk is still full', { received: rec.received });
        // Room for at least one more chunk beyond the reserve, or the next upload fails at once.
        if ((await this.ctx.disk.available()) < rec.chunkSize + this.deps.reserveBytes) {
          throw new LucidError('SESS_ERR_STORAGE_FULL', 'the disk is still full', { received: rec.received });
        }
      }
      const now = new Date().toISOString();
      const next: SessionRecord = {
        ...rec, state, updatedAt: now,
        ...(action === 'start' ? { startedAt: now } : {}),
        ...(action === 'stop' ? { stoppedAt: now } : {}),
        pausedReason: action === 'pause' ? 'user' : null,
      };
      await this.repo.save(next);
      this.log.info({ sessionId: id, from: rec.state, to: state }, 'session transition');
      return next;
    } finally {
      release();
    }
  }

  // ---- data ----

  /**
   * Appends a body at `offset`. Bytes before the acknowledged end must match the stored ones;
   * a start past it is a gap. Returns the record after the acknowledgement (its `received`).
   */
  async append(id: string, offset: number, body: AsyncIterable<Buffer>, contentLength: number | null): Promise<SessionRecord> {
    const pre = await this.get(id);
    checkAppend(pre, offset, contentLength);
    const release = await this.lock(id);
    const abort = new AbortController();
    this.active.set(id, abort);
    try {
      const rec = await this.get(id);
      checkAppend(rec, offset, contentLength);
      const out = await appendBody(this.ctx, rec, offset, body, abort.signal);
      if (out.error !== null) await this.failAppend(out.record, out.error);
      return out.record;
    } finally {
      this.active.delete(id);
      release();
    }
  }

  /** Maps the reason an upload stopped to its error; a full disk also pauses the session. */
  private async failAppend(rec: SessionRecord, error: unknown): Promise<never> {
    if (isDiskFull(error)) {
      // Free the ballast first: the store needs room to record the pause.
      await this.ctx.disk.releaseBallast();
      const paused: SessionRecord = { ...rec, state: 'paused', pausedReason: 'storage-full', updatedAt: new Date().toISOString() };
      await this.repo.save(paused);
      this.log.warn({ sessionId: rec.id, received: rec.received, err: error }, 'disk full: session paused');
      throw new LucidError('SESS_ERR_STORAGE_FULL', 'the disk is full; the session was paused. Free space, resume it and re-send from `received`', {
        received: rec.received, ...(isLucidError(error) ? error.details : {}),
      });
    }
    if (isLucidError(error)) throw new LucidError(error.code, error.message, { ...(error.details ?? {}), received: rec.received }, { cause: error });
    throw error;
  }

  async finalize(id: string): Promise<SessionRecord> {
    const release = await this.lock(id);
    try {
      const rec = await this.get(id);
      transition(rec.state, 'finalize');
      if (isQuarantined(rec)) {
        // A quarantined session is finalized only once its data is whole again (a file put back).
        const damage = await this.damageOf(rec);
        if (damage) throw new LucidError('SESS_ERR_DAMAGED', damage.message, { reason: damage.reason, ...(damage.index !== undefined ? { index: damage.index } : {}) });
      }
      const processing: SessionRecord = { ...rec, state: transition(rec.state, 'finalize'), failure: null, updatedAt: new Date().toISOString() };
      await this.repo.save(processing);
      return await this.runFinalize(processing);
    } finally {
      release();
    }
  }

  private async runFinalize(rec: SessionRecord): Promise<SessionRecord> {
    const { record, cursor } = await finalizeSession(this.ctx, rec, this.deps.identity);
    if (record.state === 'completed' && cursor !== null) {
      const item = {
        sessionId: record.id, manifestHash: record.manifestHash!, merkleRoot: record.merkleRoot!, completedAt: record.completedAt!,
        chunkCount: record.chunkCount, chunkSize: record.chunkSize, totalBytes: record.received, cursor,
      };
      for (const listener of this.listeners) {
        try {
          listener(item);
        } catch (err) {
          this.log.error({ err }, 'completed listener failed');
        }
      }
    }
    return record;
  }

  async manifest(id: string): Promise<string> {
    const rec = await this.get(id);
    const text = rec.state === 'completed' || rec.state === 'deleted' ? await this.repo.manifest(id) : null;
    if (text === null) throw new LucidError('SESS_ERR_INVALID_STATE', `a ${rec.state} session has no manifest yet`, { state: rec.state });
    return text;
  }

  /** The plaintext [start, end) of a completed session, authenticated chunk by chunk. */
  content(rec: SessionRecord, start: number, end: number): AsyncGenerator<Buffer> {
    if (rec.state !== 'completed') throw new LucidError('SESS_ERR_INVALID_STATE', `content is served once the session is completed (it is ${rec.state})`, { state: rec.state });
    return readPlain(this.ctx, rec, this.ctx.keys.cryptoFor(rec), start, end);
  }

  /** Path and size of a committed, stored chunk object. */
  async chunkObject(rec: SessionRecord, index: number): Promise<{ path: string; size: number; leaf: string }> {
    if (rec.state === 'deleted') throw new LucidError('SESS_ERR_DELETED', undefined, { sessionId: rec.id });
    const chunk = index < rec.chunkCount ? await this.repo.chunk(rec.id, index) : null;
    if (!chunk) throw new LucidError('CHUNK_ERR_NOT_FOUND', `session ${rec.id} has ${rec.chunkCount} committed chunks`, { index, chunkCount: rec.chunkCount });
    return { path: this.ctx.files.objectPath(rec.id, index), size: chunk.s, leaf: chunk.l };
  }

  async proof(rec: SessionRecord, index: number): Promise<{ index: number; treeSize: number; leaf: string; root: string; path: string[] }> {
    if (rec.state !== 'completed' || rec.merkleRoot === null) {
      throw new LucidError('SESS_ERR_INVALID_STATE', `proofs exist once the session is completed (it is ${rec.state})`, { state: rec.state });
    }
    if (index >= rec.chunkCount) throw new LucidError('CHUNK_ERR_NOT_FOUND', `session ${rec.id} has ${rec.chunkCount} chunks`, { index, chunkCount: rec.chunkCount });
    const leaves = (await this.repo.chunkRecords(rec.id)).map((c) => Buffer.from(c.l, 'hex'));
    return { index, treeSize: leaves.length, leaf: leaves[index]!.toString('hex'), root: rec.merkleRoot, path: inclusionPath(leaves, index).map((p) => p.toString('hex')) };
  }

  /**
   * A storage challenge (the ledger's): the stored object of chunk `index` of the completed session
   * anchored as `manifestHash`, with its RFC 6962 audit path; null when this node no longer holds
   * it (unknown, deleted, another manifest, a missing file).
   */
  async storedChunk(q: { sessionId: string; manifestHash: string; index: number }): Promise<{ object: Buffer; path: Buffer[] } | null> {
    const rec = await this.repo.get(q.sessionId);
    if (!rec || rec.state !== 'completed' || rec.manifestHash !== q.manifestHash || !Number.isSafeInteger(q.index) || q.index < 0 || q.index >= rec.chunkCount) return null;
    const leaves = (await this.repo.chunkRecords(rec.id)).map((c) => Buffer.from(c.l, 'hex'));
    if (leaves.length !== rec.chunkCount) return null;
    try {
      return { object: await this.ctx.files.readObject(rec.id, q.index), path: inclusionPath(leaves, q.index) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async verify(id: string): Promise<{ record: SessionRecord; result: VerifyResult }> {
    const release = await this.lock(id);
    try {
      const rec = await this.get(id);
      // A quarantined session without its data key still gets its storage checked.
      const crypto = isQuarantined(rec) && keyDamage(this.ctx, rec) !== null ? null : this.ctx.keys.cryptoFor(rec);
      const result = await verifySession(this.ctx, rec, crypto);
      const record: SessionRecord = { ...rec, lastVerify: result };
      await this.repo.save(record);
      if (!result.ok) this.log.warn({ sessionId: id, bad: result.bad }, 'verify found bad chunks');
      return { record, result };
    } finally {
      release();
    }
  }

  /** Crypto-shredding: the wrapped data key is destroyed first (durably), then the files. */
  async delete(id: string): Promise<SessionRecord> {
    this.active.get(id)?.abort();
    const release = await this.lock(id);
    try {
      const rec = await this.get(id);
      transition(rec.state, 'delete');
      const now = new Date().toISOString();
      const tomb: SessionRecord = { ...rec, state: 'deleted', wrappedKey: null, deletedAt: now, updatedAt: now, tail: { index: rec.tail.index, plain: 0, fileBytes: 0 } };
      await this.repo.save(tomb);
      this.ctx.keys.forget(id);
      // LevelDB keeps an overwritten value until compaction: push the old record (with the key) out.
      await this.deps.store.root.compactRange(`!sessions!${id}`, `!sessions!${id}`).catch((err: unknown) => this.log.warn({ err }, 'compaction after delete failed'));
      await this.ctx.files.removeSession(id);
      await this.repo.clearChunks(id);
      this.log.info({ sessionId: id }, 'session deleted (data key destroyed)');
      return tomb;
    } finally {
      release();
    }
  }

  /** Emergency control: stops every recording or paused session. Returns how many. */
  async stopAll(): Promise<number> {
    let n = 0;
    for (const id of await this.repo.openIds()) {
      const rec = await this.repo.get(id);
      if (rec && (rec.state === 'recording' || rec.state === 'paused')) {
        await this.act(id, 'stop').then(() => n++, (err: unknown) => this.log.warn({ err, sessionId: id }, 'stop failed'));
      }
    }
    return n;
  }

  async anchorOf(rec: SessionRecord): Promise<Record<string, unknown> | null> {
    if (!this.deps.anchors || rec.manifestHash === null) return null;
    try {
      return await this.deps.anchors.lookup(rec.manifestHash);
    } catch (err) {
      this.log.warn({ err, sessionId: rec.id }, 'anchor lookup failed');
      return null;
    }
  }

  // ---- completed-manifests feed (the ledger anchors from it) ----

  async listCompletedSince(cursor: string | null, limit = 1000): Promise<CompletedPage> {
    const page = await this.repo.completedSince(cursor, Math.max(1, Math.min(limit, 10_000)));
    if (page.skipped > 0) this.log.error({ after: cursor, skipped: page.skipped }, 'completed-sessions feed: unreadable items skipped (not anchored)');
    return { items: page.items, cursor: page.cursor };
  }

  onCompleted(listener: CompletedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- internals ----

  private lock(id: string): Promise<() => void> {
    return this.locks.acquire(id, this.deps.lockTimeoutMs ?? 30_000);
  }

  /** The damage of a session's stored data now (damage.ts), or null when it is whole. */
  private async damageOf(rec: SessionRecord): Promise<Damage | null> {
    if (rec.failure?.reason === 'record-unreadable') return { reason: 'record-unreadable', message: rec.failure.message };
    const key = keyDamage(this.ctx, rec);
    if (key) return key;
    try {
      return damageOf(rec, (await this.repo.readableChunkRecords(rec.id)).records, await this.ctx.files.survey(rec.id));
    } catch (err) {
      return { reason: 'files-unreadable', message: `the session's files cannot be read: ${(err as Error).message}` };
    }
  }

  private async recover(): Promise<void> {
    await recoverSessions(this.ctx, (rec) => this.runFinalize(rec));
  }
}
