// The simulated LED: what the supervisor uses off-device, and what the web UI mirrors. It
// remembers the current level and a bounded history of changes so a test (or a person looking at
// a snapshot) can check that a pattern really blinked, not just that it was asked to.
import { HalError, notOpenError } from '../errors.js';
import type { LedDriver } from './types.js';

export interface LedChange {
  /** Time of the change, from deps.now (ms). */
  readonly at: number;
  readonly on: boolean;
}

export interface SimLedOptions {
  readonly id?: string;
  readonly now?: () => number;
  /** How many changes to keep; older ones are dropped first. Default 256. */
  readonly historyLimit?: number;
}

export interface SimLed extends LedDriver {
  /** Current level (false while closed). */
  readonly level: boolean;
  readonly isOpen: boolean;
  /** Level changes, oldest first, at most historyLimit entries. Repeated levels are not recorded. */
  readonly history: readonly LedChange[];
  /** Makes subsequent set() calls reject with HAL_ERR_IO (true) or succeed again (false). */
  simulateFailure(failing: boolean): void;
}

class SimLedDriver implements SimLed {
  readonly id: string;
  private readonly now: () => number;
  private readonly limit: number;
  private readonly changes: LedChange[] = [];
  private on = false;
  private open_ = false;
  private failing = false;

  constructor(options: SimLedOptions) {
    this.id = options.id ?? 'sim';
    this.now = options.now ?? Date.now;
    const limit = options.historyLimit ?? 256;
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`historyLimit must be a positive integer: ${limit}`);
    this.limit = limit;
  }

  get level(): boolean {
    return this.on;
  }

  get isOpen(): boolean {
    return this.open_;
  }

  get history(): readonly LedChange[] {
    return this.changes.slice();
  }

  simulateFailure(failing: boolean): void {
    this.failing = failing;
  }

  async open(): Promise<void> {
    this.open_ = true;
  }

  async set(on: boolean): Promise<void> {
    if (!this.open_) throw notOpenError(this.id);
    if (this.failing) throw new HalError('HAL_ERR_IO', `${this.id}: simulated write failure`);
    this.record(on);
  }

  async close(): Promise<void> {
    if (!this.open_) return;
    // Like a real LED handed back: dark once nobody drives it.
    this.record(false);
    this.open_ = false;
  }

  private record(on: boolean): void {
    if (on === this.on) return;
    this.on = on;
    this.changes.push({ at: this.now(), on });
    if (this.changes.length > this.limit) this.changes.splice(0, this.changes.length - this.limit);
  }
}

export function createSimLed(options: SimLedOptions = {}): SimLed {
  return new SimLedDriver(options);
}
