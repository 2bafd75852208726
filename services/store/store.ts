// The appliance's LevelDB (classic-level). One process owns it (core); everything else asks
// core. Components get sublevels, never the root, so keys cannot collide across areas.
import { ClassicLevel } from 'classic-level';
import type { AbstractSublevel } from 'abstract-level';
import { mkdir } from 'node:fs/promises';
import { LucidError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { Lifecycle } from '../common/lifecycle.js';
import { installLogBarrier } from './log-barrier.js';

export type Encoding = 'json' | 'utf8' | 'buffer' | 'view';
type Root = ClassicLevel<string, string>;
export type Sublevel<V> = AbstractSublevel<Root, string | Buffer | Uint8Array, string, V>;

/**
 * Write options for a write that must survive a power cut once it is acknowledged: LevelDB
 * fsyncs its log before the write resolves (~0.35 ms here, ~2.8k/s), and the store's log
 * barrier (log-barrier.ts) makes every earlier write durable with it. Without it a write is in
 * the OS page cache only and a power cut can take the last seconds of writes back. Which writes
 * need it is decided per area (services/auth/README.md has the auth table).
 */
// (`keyEncoding?: undefined` only lets the type pass as abstract-level's put/del/batch options,
// which do not declare classic-level's `sync`.)
export const DURABLE: Readonly<{ sync: true; keyEncoding?: undefined }> = Object.freeze({ sync: true });

export interface StoreDeps {
  readonly location: string;
  readonly log: Logger;
}

export class Store implements Lifecycle {
  private db: Root | null = null;
  private readonly log: Logger;

  constructor(private readonly deps: StoreDeps) {
    this.log = deps.log.child({ module: 'store' });
  }

  async start(): Promise<void> {
    await mkdir(this.deps.location, { recursive: true, mode: 0o700 });
    // A 2 MiB block cache instead of LevelDB's 8 MiB default: metadata is small and a Pi's RAM is not.
    const db: Root = new ClassicLevel<string, string>(this.deps.location, { valueEncoding: 'utf8', cacheSize: 2 * 1024 * 1024 });
    try {
      await db.open();
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      if (cause?.code === 'LEVEL_LOCKED') {
        throw new LucidError('STORE_ERR_LOCKED', `${this.deps.location} is open in another process`, undefined, { cause: err });
      }
      if (cause?.code === 'LEVEL_CORRUPTION') {
        throw new LucidError('STORE_ERR_CORRUPT', `${this.deps.location} is corrupt`, undefined, { cause: err });
      }
      throw err;
    }
    // A synced write makes every earlier write durable, across LevelDB's log files (log-barrier.ts).
    installLogBarrier(db, this.deps.location);
    this.db = db;
    this.log.info({ location: this.deps.location }, 'store open');
  }

  async stop(): Promise<void> {
    const db = this.db;
    this.db = null;
    if (db) await db.close();
  }

  get isOpen(): boolean {
    return this.db?.status === 'open';
  }

  /** A named area of the store. JSON values unless another encoding is asked for. */
  sublevel<V = unknown>(name: string, valueEncoding: Encoding = 'json'): Sublevel<V> {
    return this.root.sublevel<string, V>(name, { keyEncoding: 'utf8', valueEncoding }) as unknown as Sublevel<V>;
  }

  /** Atomic multi-sublevel writes: `store.batch().put(k, v, { sublevel })…write()`. */
  batch(): ReturnType<Root['batch']> {
    return this.root.batch();
  }

  get root(): Root {
    if (!this.db) throw new LucidError('STORE_ERR_CLOSED');
    return this.db;
  }
}
