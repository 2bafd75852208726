// The chain in LevelDB (core owns the database). One synced batch per committed block holds the
// block, its commit, its anchors, the credit epochs it touched, the head (with the whole chain
// state snapshot, so a restart needs no replay) and the removal of our own anchors it made final.
// A crash leaves either the previous head or the new one, never half a block. The persisted head
// is what the API reports: an anchor is "final" here only once it is durable.
import type { Block, Commit } from '../codec/block.js';
import { encodeCommit, decodeCommit, decodeBlock } from '../codec/block.js';
import type { AnchorRecord } from '../chain/apply.js';
import type { ChainState, EpochState, ValidatorEntry } from '../chain/state.js';
import type { StatedEpoch } from '../chain/statements.js';
import type { Evidence } from '../consensus/engine-types.js';

/** The part of services/store's Store the ledger uses (a narrow port keeps the test doubles small). */
export interface LevelPort {
  sublevel<V>(name: string, encoding?: 'json' | 'utf8' | 'buffer' | 'view'): SublevelPort<V>;
  batch(): BatchPort;
}

export interface SublevelPort<V> {
  get(key: string): Promise<V | undefined>;
  getMany(keys: string[]): Promise<Array<V | undefined>>;
  put(key: string, value: V, options?: { sync?: boolean }): Promise<void>;
  del(key: string, options?: { sync?: boolean }): Promise<void>;
  iterator(options?: { gte?: string; lte?: string; gt?: string; lt?: string; reverse?: boolean; limit?: number }): AsyncIterableIterator<[string, V]> & { close(): Promise<void> };
}

export interface BatchPort {
  put(key: string, value: unknown, options: { sublevel: unknown }): BatchPort;
  del(key: string, options: { sublevel: unknown }): BatchPort;
  write(options?: { sync?: boolean }): Promise<void>;
}

export interface StoredHead {
  readonly height: number;
  readonly hash: string;
  readonly genesisHash: string;
  readonly state: ChainState;
}

export interface StoredAnchor extends AnchorRecord {}

export interface StoredStatement extends StatedEpoch {
  /** The validators of the statement's height (whose hash its block header carries). */
  readonly validators: readonly ValidatorEntry[];
}

export interface PendingAnchor {
  readonly sessionId: string;
  readonly manifestHash: string;
  readonly merkleRoot: string;
  /** The signed anchor transaction (hex). */
  readonly tx: string;
  readonly createdAt: number;
}

const pad = (n: number): string => n.toString(16).padStart(16, '0');

export class ChainStore {
  private readonly blocks: SublevelPort<Uint8Array>;
  private readonly commits: SublevelPort<Uint8Array>;
  private readonly anchors: SublevelPort<StoredAnchor>;
  private readonly epochs: SublevelPort<EpochState>;
  private readonly meta: SublevelPort<unknown>;
  private readonly pending: SublevelPort<PendingAnchor>;
  private readonly evidenceLog: SublevelPort<Evidence>;
  private readonly statements: SublevelPort<StoredStatement>;

  constructor(private readonly db: LevelPort) {
    this.blocks = db.sublevel<Uint8Array>('ledger-blocks', 'view');
    this.commits = db.sublevel<Uint8Array>('ledger-commits', 'view');
    this.anchors = db.sublevel<StoredAnchor>('ledger-anchors');
    this.epochs = db.sublevel<EpochState>('ledger-epochs');
    this.meta = db.sublevel<unknown>('ledger-meta');
    this.pending = db.sublevel<PendingAnchor>('ledger-pending');
    this.evidenceLog = db.sublevel<Evidence>('ledger-evidence');
    this.statements = db.sublevel<StoredStatement>('ledger-statements');
  }

  async head(): Promise<StoredHead | undefined> {
    return (await this.meta.get('head')) as StoredHead | undefined;
  }

  async genesisHash(): Promise<string | undefined> {
    return (await this.meta.get('genesis')) as string | undefined;
  }

  async setGenesis(hash: string, state: ChainState): Promise<void> {
    await this.db.batch()
      .put('genesis', hash, { sublevel: this.meta })
      .put('head', { height: 0, hash: state.headHash, genesisHash: hash, state } satisfies StoredHead, { sublevel: this.meta })
      .write({ sync: true });
  }

  /** Makes a committed block durable (one synced batch). */
  async commitBlock(c: { height: number; hash: Buffer; bytes: Buffer; commit: Commit; state: ChainState; anchors: readonly AnchorRecord[] }): Promise<void> {
    const b = this.db.batch()
      .put(pad(c.height), c.bytes, { sublevel: this.blocks })
      .put(pad(c.height), encodeCommit(c.commit), { sublevel: this.commits });
    for (const a of c.anchors) {
      b.put(a.manifestHash, a, { sublevel: this.anchors });
      b.del(a.manifestHash, { sublevel: this.pending });
    }
    for (const [epoch, st] of Object.entries(c.state.epochs)) b.put(pad(Number(epoch)), st, { sublevel: this.epochs });
    // A statement made final in this block, with the validators of its height (a proof needs them).
    const st = c.state.stated;
    if (st && st.height === c.height) b.put(pad(st.epoch), { ...st, validators: c.state.lastValidators }, { sublevel: this.statements });
    b.put('head', { height: c.height, hash: c.hash.toString('hex'), genesisHash: c.state.genesisHash, state: c.state } satisfies StoredHead, { sublevel: this.meta });
    await b.write({ sync: true });
  }

  async blockBytes(height: number): Promise<Buffer | undefined> {
    const v = await this.blocks.get(pad(height));
    return v ? Buffer.from(v) : undefined;
  }

  async block(height: number): Promise<Block | undefined> {
    const b = await this.blockBytes(height);
    return b ? decodeBlock(b) : undefined;
  }

  async commitBytes(height: number): Promise<Buffer | undefined> {
    const v = await this.commits.get(pad(height));
    return v ? Buffer.from(v) : undefined;
  }

  async commit(height: number): Promise<Commit | undefined> {
    const b = await this.commitBytes(height);
    return b ? decodeCommit(b) : undefined;
  }

  async anchor(manifestHash: string): Promise<StoredAnchor | undefined> {
    return this.anchors.get(manifestHash);
  }

  async anchorsMany(manifestHashes: string[]): Promise<Array<StoredAnchor | undefined>> {
    return manifestHashes.length === 0 ? [] : this.anchors.getMany(manifestHashes);
  }

  /** Anchors with block time ≥ `since` (to rebuild the recent-anchor index at boot). */
  async *anchorsSince(since: number): AsyncGenerator<StoredAnchor> {
    for await (const [, a] of this.anchors.iterator()) if (a.time >= since) yield a;
  }

  /** The final statement of an epoch (chain/statements.ts), with the validators of its block. */
  async statement(epoch: number): Promise<StoredStatement | undefined> {
    return (await this.statements.get(pad(epoch))) ?? undefined;
  }

  /** Epochs with a final statement in (after, upTo], oldest first. */
  async statedEpochs(after: number | null, upTo: number): Promise<number[]> {
    const out: number[] = [];
    for await (const [k] of this.statements.iterator({ ...(after === null ? {} : { gt: pad(after) }), lte: pad(upTo) })) out.push(parseInt(k, 16));
    return out;
  }

  async epoch(epoch: number): Promise<EpochState | undefined> {
    return this.epochs.get(pad(epoch));
  }

  async epochRange(from: number, to: number): Promise<Array<[number, EpochState]>> {
    const out: Array<[number, EpochState]> = [];
    for await (const [k, v] of this.epochs.iterator({ gte: pad(from), lte: pad(to) })) out.push([parseInt(k, 16), v]);
    return out;
  }

  // ---- evidence of equivocation (kept across restarts: a node's memory is not the record) ------

  /** Synced: evidence is rare, and it must outlive the process that saw it. One per validator and step. */
  async putEvidence(e: Evidence): Promise<void> {
    await this.evidenceLog.put(`${pad(e.height)}:${e.round.toString(16).padStart(8, '0')}:${e.kind}:${e.validator}`, e, { sync: true });
  }

  /** Newest first, at most `limit`. */
  async evidence(limit = 1000): Promise<Evidence[]> {
    const out: Evidence[] = [];
    for await (const [, v] of this.evidenceLog.iterator({ reverse: true, limit })) out.push(v);
    return out;
  }

  // ---- own anchors waiting for a block, and the session feed's cursor --------------------------

  /** Records anchors made from the feed and moves the cursor past them, atomically. */
  async addPending(items: readonly PendingAnchor[], cursor: string | null): Promise<void> {
    const b = this.db.batch();
    for (const p of items) b.put(p.manifestHash, p, { sublevel: this.pending });
    if (cursor !== null) b.put('anchor-cursor', cursor, { sublevel: this.meta });
    await b.write({ sync: true });
  }

  async pendingAnchors(): Promise<PendingAnchor[]> {
    const out: PendingAnchor[] = [];
    for await (const [, v] of this.pending.iterator()) out.push(v);
    return out;
  }

  async anchorCursor(): Promise<string | null> {
    return ((await this.meta.get('anchor-cursor')) as string | undefined) ?? null;
  }
}
