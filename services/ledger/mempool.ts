// Transactions waiting for a block, in arrival order (the proposer takes them first come, first
// served). Signatures are checked once, on entry (after the cheap refusals); the ids of checked
// transactions are kept so block validation does not check them again. Bounded in bytes: when full, new remote
// transactions are refused (local ones are kept by their owner and gossiped again later).
import { decodeTx, txId, txSignBytes, type Tx } from './codec/tx.js';
import type { Verifier } from './crypto.js';

export interface MempoolEntry {
  readonly id: string;
  readonly bytes: Buffer;
  readonly tx: Tx;
  readonly local: boolean;
  readonly addedAt: number;
}

export type AddResult = 'added' | 'known' | 'invalid' | 'refused' | 'full' | 'duplicate-anchor';

export interface MempoolDeps {
  readonly chainId: string;
  readonly verifier: Verifier;
  readonly maxBytes?: number;
  /** True when the manifest is already anchored (within the window the chain checks). */
  readonly isAnchored?: (manifestHash: string) => boolean;
  /** False when the chain would refuse the transaction now (membership: chain/admission.ts). */
  readonly admissible?: (tx: Tx) => boolean;
}

export class Mempool {
  private readonly entries = new Map<string, MempoolEntry>();
  private readonly anchorIds = new Map<string, string>(); // manifest hash → tx id
  private readonly verifiedIds = new Set<string>();
  private size = 0;

  constructor(private readonly deps: MempoolDeps) {}

  get count(): number { return this.entries.size; }
  get bytes(): number { return this.size; }

  /** Ids whose signature was verified (block validation skips them). Bounded. */
  readonly verified = {
    has: (id: string): boolean => this.verifiedIds.has(id),
    add: (id: string): void => {
      if (this.verifiedIds.size > 200_000) this.verifiedIds.delete(this.verifiedIds.values().next().value!);
      this.verifiedIds.add(id);
    },
  };

  add(bytes: Buffer, local: boolean, now: number): AddResult {
    const id = txId(bytes);
    if (this.entries.has(id)) return 'known';
    let tx: Tx;
    try {
      tx = decodeTx(bytes);
    } catch {
      return 'invalid';
    }
    // The cheap refusals first: a transaction we would drop anyway (a membership change the chain
    // refuses, an anchor already waiting or anchored, no room) costs no signature check — a
    // flood of them, or every node gossiping its own anchor of one manifest, stays cheap.
    if (this.deps.admissible && !this.deps.admissible(tx)) return 'refused';
    if (tx.type === 'anchor') {
      const m = tx.manifestHash.toString('hex');
      if (this.anchorIds.has(m) || this.deps.isAnchored?.(m)) return 'duplicate-anchor';
    }
    if (!local && this.size + bytes.length > (this.deps.maxBytes ?? 32 * 1024 * 1024)) return 'full';
    // Our own transactions were signed here a moment ago; everyone else's are checked.
    if (!local && !this.verifiedIds.has(id)) {
      if (!this.deps.verifier.verify(tx.node, txSignBytes(this.deps.chainId, bytes), tx.signature)) return 'invalid';
      this.verified.add(id);
    }
    if (local) this.verified.add(id);
    this.entries.set(id, { id, bytes, tx, local, addedAt: now });
    if (tx.type === 'anchor') this.anchorIds.set(tx.manifestHash.toString('hex'), id);
    this.size += bytes.length;
    return 'added';
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  remove(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    this.size -= e.bytes.length;
    if (e.tx.type === 'anchor') this.anchorIds.delete(e.tx.manifestHash.toString('hex'));
  }

  /** Forget what a committed block included, and anchors it made duplicates. */
  removeCommitted(txs: readonly Buffer[], anchoredManifests: readonly string[]): void {
    for (const tx of txs) this.remove(txId(tx));
    for (const m of anchoredManifests) {
      const id = this.anchorIds.get(m);
      if (id) this.remove(id);
    }
  }

  *candidates(): Iterable<Buffer> {
    for (const e of this.entries.values()) yield e.bytes;
  }

  list(): MempoolEntry[] {
    return [...this.entries.values()];
  }

  local(): MempoolEntry[] {
    return [...this.entries.values()].filter((e) => e.local);
  }
}
