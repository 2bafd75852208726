// Trust time for a device without a real-time clock (a Pi): max(system clock, a persisted floor).
// The floor starts at the image's build time and moves forward only from verified metadata (the
// `x-lucid-signed-at` of a timestamp TUF accepted), never from the clock, so a device whose clock
// says 1970 still updates while replayed expired metadata is still refused. When the root
// rotates the timestamp keys, a floor those keys set is reset to the build time (Uptane's advice:
// a compromised timestamp key must not be able to push the floor into the future for good).
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../../services/common/fs-atomic.js';

export interface FloorRecord {
  /** Seconds since the epoch. */
  readonly floor: number;
  /** The timestamp role's key IDs (sorted) when the floor was set. */
  readonly timestampKeys: readonly string[];
}

export class TimeFloor {
  constructor(private readonly file: string, private readonly buildTime: number) {}

  async read(): Promise<FloorRecord> {
    try {
      const raw = JSON.parse(await readFile(this.file, 'utf8')) as Partial<FloorRecord>;
      if (Number.isSafeInteger(raw.floor) && Array.isArray(raw.timestampKeys)) {
        return { floor: Math.max(raw.floor!, this.buildTime), timestampKeys: raw.timestampKeys.filter((k) => typeof k === 'string') };
      }
    } catch { /* missing or torn: start from the build time */ }
    return { floor: this.buildTime, timestampKeys: [] };
  }

  /** The floor in effect under a root whose timestamp keys are `keys`. */
  async effective(keys: readonly string[]): Promise<number> {
    const record = await this.read();
    return sameKeys(record.timestampKeys, keys) || record.timestampKeys.length === 0 ? record.floor : this.buildTime;
  }

  /** Moves the floor forward to `signedAt` (seconds) set by metadata signed with `keys`. */
  async advance(signedAt: number, keys: readonly string[]): Promise<number> {
    const current = await this.effective(keys);
    const next = Math.max(current, Math.floor(signedAt));
    const sorted = [...keys].sort();
    const record = await this.read();
    if (next !== record.floor || !sameKeys(record.timestampKeys, sorted)) {
      await writeFileAtomic(this.file, `${JSON.stringify({ floor: next, timestampKeys: sorted })}\n`);
    }
    return next;
  }
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  const x = [...a].sort();
  const y = [...b].sort();
  return x.length === y.length && x.every((k, i) => k === y[i]);
}

/** The reference time TUF checks expiry against (ms since the epoch). */
export function trustTimeMs(clockMs: number, floorSeconds: number): number {
  return Math.max(clockMs, floorSeconds * 1000);
}
