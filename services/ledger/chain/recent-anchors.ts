// The anchors of the scoring window by manifest hash and by node: storage challenges point into
// it and a manifest anchored inside the window cannot be anchored again. Rebuilt at boot from the
// store (every anchor record carries its block time); pruned one epoch behind the window so that
// no node ever forgets an entry another node still counts. Readers filter by block time, so
// entries that linger longer never change a result.
import type { AnchorRecord, RecentAnchors } from './apply.js';
import { epochOf, windowEpochs, type ChainState } from './state.js';

const order = (a: AnchorRecord, b: AnchorRecord): number => a.height - b.height || a.txIndex - b.txIndex;

export class RecentAnchorIndex implements RecentAnchors {
  private readonly byManifest = new Map<string, AnchorRecord>();
  private readonly perNode = new Map<string, AnchorRecord[]>();

  get(manifestHash: string): AnchorRecord | undefined {
    return this.byManifest.get(manifestHash);
  }

  /** This node's anchors, oldest first (block height, then place in the block). */
  byNode(node: string): readonly AnchorRecord[] {
    return this.perNode.get(node) ?? [];
  }

  /** Nodes with anchors in the index, sorted. */
  nodes(): string[] {
    return [...this.perNode.keys()].sort();
  }

  add(records: readonly AnchorRecord[]): void {
    for (const r of records) {
      if (this.byManifest.has(r.manifestHash)) continue;
      this.byManifest.set(r.manifestHash, r);
      const list = this.perNode.get(r.node) ?? [];
      const last = list[list.length - 1];
      list.push(r);
      // Blocks arrive in order; the store's boot scan does not (it reads by manifest hash).
      if (last && order(last, r) > 0) list.sort(order);
      this.perNode.set(r.node, list);
    }
  }

  /** Drops entries older than the window (minus one epoch of slack) of the given head. */
  prune(state: ChainState): void {
    const oldest = epochOf(state.params, state.headTime) - windowEpochs(state.params);
    const old = (r: AnchorRecord): boolean => epochOf(state.params, r.time) < oldest;
    for (const [k, v] of this.byManifest) if (old(v)) this.byManifest.delete(k);
    for (const [node, list] of this.perNode) {
      if (!old(list[0]!)) continue; // oldest first: nothing to drop
      const kept = list.filter((r) => !old(r));
      if (kept.length === 0) this.perNode.delete(node);
      else this.perNode.set(node, kept);
    }
  }

  /** Earliest block time that must be loaded at boot for this head. */
  static loadFrom(state: ChainState): number {
    return (epochOf(state.params, state.headTime) - windowEpochs(state.params)) * state.params.epochMs;
  }

  get size(): number {
    return this.byManifest.size;
  }
}
