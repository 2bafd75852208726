// The anchors of the scoring window by manifest hash: storage challenges point into it and a
// manifest anchored inside the window cannot be anchored again. Rebuilt at boot from the store
// (every anchor record carries its block time); pruned one epoch behind the window so that no
// node ever forgets an entry another node still counts.
import type { AnchorRecord, RecentAnchors } from './apply.js';
import { epochOf, windowEpochs, type ChainState } from './state.js';

export class RecentAnchorIndex implements RecentAnchors {
  private readonly byManifest = new Map<string, { merkleRoot: string; time: number }>();

  get(manifestHash: string): { readonly merkleRoot: string; readonly time: number } | undefined {
    return this.byManifest.get(manifestHash);
  }

  add(records: readonly Pick<AnchorRecord, 'manifestHash' | 'merkleRoot' | 'time'>[]): void {
    for (const r of records) if (!this.byManifest.has(r.manifestHash)) this.byManifest.set(r.manifestHash, { merkleRoot: r.merkleRoot, time: r.time });
  }

  /** Drops entries older than the window (minus one epoch of slack) of the given head. */
  prune(state: ChainState): void {
    const oldest = epochOf(state.params, state.headTime) - windowEpochs(state.params);
    for (const [k, v] of this.byManifest) if (epochOf(state.params, v.time) < oldest) this.byManifest.delete(k);
  }

  /** Earliest block time that must be loaded at boot for this head. */
  static loadFrom(state: ChainState): number {
    return (epochOf(state.params, state.headTime) - windowEpochs(state.params)) * state.params.epochMs;
  }

  get size(): number {
    return this.byManifest.size;
  }
}
