// The simulated watchdog: counts kicks and remembers whether the last close was clean, so the
// supervisor's keep-alive loop can be tested (and shown in snapshots) without a device that
// reboots the test machine.
import { HalError, notOpenError } from '../errors.js';
import type { WatchdogDriver } from './types.js';

export interface SimWatchdogOptions {
  readonly id?: string;
  readonly now?: () => number;
}

export interface SimWatchdog extends WatchdogDriver {
  readonly isOpen: boolean;
  /** Kicks since construction (across re-opens). */
  readonly kicks: number;
  /** deps.now() of the last kick, or null. */
  readonly lastKickAt: number | null;
  /** True once close() ran after the last open(); false while open or if never closed. */
  readonly closedCleanly: boolean;
  /** Makes open() reject with HAL_ERR_UNAVAILABLE, like a device held by another process. */
  simulateBusy(busy: boolean): void;
}

class SimWatchdogDriver implements SimWatchdog {
  readonly id: string;
  private readonly now: () => number;
  private open_ = false;
  private kickCount = 0;
  private lastKick: number | null = null;
  private clean = false;
  private busy = false;

  constructor(options: SimWatchdogOptions) {
    this.id = options.id ?? 'sim';
    this.now = options.now ?? Date.now;
  }

  get isOpen(): boolean { return this.open_; }
  get kicks(): number { return this.kickCount; }
  get lastKickAt(): number | null { return this.lastKick; }
  get closedCleanly(): boolean { return this.clean; }

  simulateBusy(busy: boolean): void {
    this.busy = busy;
  }

  async open(): Promise<void> {
    if (this.open_) return;
    if (this.busy) throw new HalError('HAL_ERR_UNAVAILABLE', `${this.id}: device busy (simulated)`);
    this.open_ = true;
    this.clean = false;
  }

  async kick(): Promise<void> {
    if (!this.open_) throw notOpenError(this.id);
    this.kickCount++;
    this.lastKick = this.now();
  }

  async close(): Promise<void> {
    if (!this.open_) return;
    this.open_ = false;
    this.clean = true;
  }
}

export function createSimWatchdog(options: SimWatchdogOptions = {}): SimWatchdog {
  return new SimWatchdogDriver(options);
}
