// Evidence of equivocation: the first value each validator signed for each (height, round, step),
// and the pair of values when it signs a second, different one. Kept for the last 10 heights;
// at most 1000 pieces of evidence, oldest dropped first. Pure bookkeeping for engine.ts.
import type { Evidence } from './engine-types.js';

const MAX_EVIDENCE = 1000;
const KEEP_HEIGHTS = 10;

export class EquivocationLog {
  readonly evidence: Evidence[] = [];
  private readonly first = new Map<string, string>();

  static key(height: number, round: number, kind: string, validator: string): string {
    return `${height}:${round}:${kind}:${validator}`;
  }

  /** The value first seen under `key` (undefined: none yet). */
  seen(key: string): string | undefined {
    return this.first.get(key);
  }

  /** Records what this node signed itself (restored after a restart). */
  record(key: string, value: string): void {
    this.first.set(key, value);
  }

  /** Notes a signed value; returns new evidence when it contradicts the first one, else null. */
  note(key: string, value: string, e: Omit<Evidence, 'first' | 'second'>): Evidence | null {
    const seen = this.first.get(key);
    if (seen === undefined) {
      this.first.set(key, value);
      return null;
    }
    if (seen === value) return null;
    if (this.evidence.some((x) => x.validator === e.validator && x.height === e.height && x.round === e.round && x.kind === e.kind)) return null;
    const evidence: Evidence = { ...e, first: seen, second: value };
    this.evidence.push(evidence);
    if (this.evidence.length > MAX_EVIDENCE) this.evidence.shift();
    return evidence;
  }

  /** Forgets what is older than KEEP_HEIGHTS below `height`. */
  prune(height: number): void {
    for (const k of this.first.keys()) if (Number(k.split(':')[0]) < height - KEEP_HEIGHTS) this.first.delete(k);
  }
}
