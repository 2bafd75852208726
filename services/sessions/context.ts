// What the session operations share: the store repository, the chunk files, the disk guard, the
// buffer pool, the compression slots and the key ring. Built once by the service.
import { LucidError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { unwrapDataKey, type BufferPool, type ChunkFiles, type DiskGuard, type Semaphore, type SessionCrypto } from '../chunks/index.js';
import type { SessionRecord, SessionRepo } from './records.js';

/** Per-chunk timing, for metrics and the benchmark. */
export interface ChunkEvent {
  readonly sessionId: string;
  readonly index: number;
  readonly plainBytes: number;
  readonly storedBytes: number;
  readonly codec: 'raw' | 'gzip';
  /** From the chunk being full to its object being durable on disk. */
  readonly ms: number;
}

export interface SessionContext {
  readonly repo: SessionRepo;
  readonly files: ChunkFiles;
  readonly disk: DiskGuard;
  readonly pool: BufferPool;
  /** Bounds chunks being compressed/encrypted/written at once, across all sessions. */
  readonly slots: Semaphore;
  /** Chunks of one upload in flight between "full" and "committed". */
  readonly window: number;
  readonly keys: KeyRing;
  readonly log: Logger;
  readonly onChunk: (e: ChunkEvent) => void;
}

/** Unwrapped data keys of recently used sessions, kept in memory (a Pi re-unwrapping per request would be wasteful, not unsafe). */
export class KeyRing {
  private readonly cache = new Map<string, Buffer>();

  constructor(private readonly master: Buffer, private readonly max = 64) {}

  /** The appliance master key (wraps new data keys). */
  get masterKey(): Buffer {
    return this.master;
  }

  cryptoFor(rec: SessionRecord): SessionCrypto {
    if (rec.wrappedKey === null || rec.state === 'deleted') {
      throw new LucidError('SESS_ERR_DELETED', 'the session was deleted; its data key is destroyed', { sessionId: rec.id });
    }
    let key = this.cache.get(rec.id);
    if (!key) {
      key = unwrapDataKey(this.master, rec.id, Buffer.from(rec.wrappedKey, 'base64'));
      if (this.cache.size >= this.max) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(rec.id, key);
    }
    return { sessionId: rec.id, cipher: rec.cipher, key };
  }

  forget(id: string): void {
    const key = this.cache.get(id);
    key?.fill(0);
    this.cache.delete(id);
  }
}
