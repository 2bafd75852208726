// Completed sessions → anchor transactions, crash-safely. The feeder reads the source from its
// persisted cursor, signs an anchor per manifest, and stores the anchors as "pending" together
// with the new cursor in one synced LevelDB batch before handing them to the mempool. After a
// crash, pending anchors go back into the mempool and the cursor resumes where it was; a manifest
// seen twice is anchored once (pending and final anchors are checked first). A pending anchor
// leaves the store in the same batch as the block that makes it final.
import type { Logger } from '../../common/log.js';
import { isUuid, signTx } from '../codec/tx.js';
import { anchorSizeProblem } from '../credits/book.js';
import type { ChainStore, PendingAnchor } from '../store/chain-store.js';
import type { AnchorSource, CompletedManifest } from './source.js';

export interface AnchorFeederDeps {
  readonly log: Logger;
  readonly source: AnchorSource;
  readonly store: ChainStore;
  readonly chainId: string;
  readonly nodeKey: Buffer;
  readonly sign: (msg: Uint8Array) => Buffer;
  /** Hands a signed anchor transaction to the engine (mempool + batched gossip). */
  readonly submit: (tx: Buffer) => void;
  readonly now?: () => number;
  readonly batch?: number;
}

const HEX32 = /^[0-9a-f]{64}$/;

export class AnchorFeeder {
  private unsubscribe: (() => void) | null = null;
  private running: Promise<void> = Promise.resolve();
  private again = false;
  private busy = false;
  private stopped = false;

  constructor(private readonly deps: AnchorFeederDeps) {}

  async start(): Promise<void> {
    for (const p of await this.deps.store.pendingAnchors()) this.deps.submit(Buffer.from(p.tx, 'hex'));
    this.unsubscribe = this.deps.source.onCompleted(() => this.poke());
    this.poke();
    await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    await this.running.catch(() => {});
  }

  /** Catch up with the source (coalesces bursts of notifications into one pass). */
  poke(): void {
    if (this.stopped) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    this.running = this.drain().catch((err: unknown) => {
      this.deps.log.error({ err }, 'anchor feed failed; retrying on the next completion');
    }).finally(() => {
      this.busy = false;
      if (this.again) {
        this.again = false;
        this.poke();
      }
    });
  }

  private async drain(): Promise<void> {
    for (;;) {
      const cursor = await this.deps.store.anchorCursor();
      const { items, cursor: next } = await this.deps.source.listCompletedSince(cursor, this.deps.batch ?? 4096);
      if (items.length === 0) return;
      const known = await this.deps.store.anchorsMany(items.map((i) => i.manifestHash));
      const fresh: PendingAnchor[] = [];
      items.forEach((item, i) => {
        const p = known[i] ? null : this.toPending(item);
        if (p) fresh.push(p);
      });
      await this.deps.store.addPending(fresh, next);
      for (const p of fresh) this.deps.submit(Buffer.from(p.tx, 'hex'));
      if (fresh.length > 0) this.deps.log.info({ anchors: fresh.length }, 'sessions queued for anchoring');
      if (next === cursor || this.stopped) return;
    }
  }

  private toPending(item: CompletedManifest): PendingAnchor | null {
    const sizes = { chunkCount: item.chunkCount, chunkSize: item.chunkSize, totalBytes: item.totalBytes };
    const whole = (n: unknown): boolean => Number.isSafeInteger(n) && (n as number) >= 0;
    if (!HEX32.test(item.manifestHash) || !HEX32.test(item.merkleRoot) || !isUuid(item.sessionId)
      || !whole(sizes.chunkCount) || sizes.chunkCount > 0xffffffff || !whole(sizes.chunkSize) || !whole(sizes.totalBytes) || anchorSizeProblem(sizes) !== null) {
      this.deps.log.warn({ sessionId: item.sessionId, ...sizes }, 'completed session with a malformed manifest hash, root, id or sizes; not anchored');
      return null;
    }
    const tx = signTx(this.deps.chainId, {
      type: 'anchor', sessionId: item.sessionId, manifestHash: Buffer.from(item.manifestHash, 'hex'),
      merkleRoot: Buffer.from(item.merkleRoot, 'hex'), node: this.deps.nodeKey, ...sizes,
    }, this.deps.sign);
    return { sessionId: item.sessionId, manifestHash: item.manifestHash, merkleRoot: item.merkleRoot, tx: tx.toString('hex'), createdAt: (this.deps.now ?? Date.now)() };
  }
}
