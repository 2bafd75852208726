// The status LED runner: shows one LedState on a list of LED drivers with timers. The supervisor
// owns one and calls show() as the appliance's health changes. Time and timers are injected so
// unit tests drive hours of blinking in microseconds, and a broken LED (an unplugged GPIO LED,
// a read-only sysfs) is reported through onError and skipped — it never stops the runner.
import { isLedState, levelAt, msUntilChange, patternFor, type LedState, type LedStep } from './patterns.js';
import type { LedDriver } from './types.js';

export interface StatusLedDeps {
  readonly drivers: readonly LedDriver[];
  /** State shown from start() until the first show(). Default 'booting'. */
  readonly initialState?: LedState;
  readonly now?: () => number;
  readonly setTimeout?: (fn: () => void, ms: number) => unknown;
  readonly clearTimeout?: (handle: unknown) => void;
  /** Reports a driver failure: open/close failures each time, set() failures once per streak. */
  readonly onError?: (err: unknown, driverId: string) => void;
}

export interface StatusLedSnapshot {
  readonly state: LedState;
  /** One period of the pattern; it repeats from `since`. */
  readonly steps: readonly LedStep[];
  /** When the state began (deps.now), so a UI can replay the pattern in phase. */
  readonly since: number;
  /** Ids of the drivers that opened and are being driven. */
  readonly drivers: readonly string[];
  /** Level last sent to the drivers; null before start() and after stop(). */
  readonly level: boolean | null;
}

const defaultSetTimeout = (fn: () => void, ms: number): unknown => {
  const handle = setTimeout(fn, ms);
  // The LED must never be the reason a process that wants to exit stays alive.
  handle.unref();
  return handle;
};
const defaultClearTimeout = (handle: unknown): void => clearTimeout(handle as NodeJS.Timeout);

export class StatusLed {
  private readonly now: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  private state: LedState;
  private steps: readonly LedStep[];
  private since: number;
  private running = false;
  private timer: unknown = null;
  private active: LedDriver[] = [];
  private readonly failing = new Set<string>();
  // The level we want shown and the level the drivers last got. One writer loop moves
  // `applied` towards `desired`, so a slow driver coalesces blinks instead of queueing them.
  private desired: boolean | null = null;
  private applied: boolean | null = null;
  private writer: Promise<void> | null = null;
  private starting: Promise<void> | null = null;

  constructor(private readonly deps: StatusLedDeps) {
    this.now = deps.now ?? Date.now;
    this.setTimer = deps.setTimeout ?? defaultSetTimeout;
    this.clearTimer = deps.clearTimeout ?? defaultClearTimeout;
    this.state = deps.initialState ?? 'booting';
    this.steps = patternFor(this.state);
    this.since = this.now();
  }

  /** Switches the pattern. Showing the current state again keeps its phase (no visible hiccup). */
  show(state: LedState): void {
    if (!isLedState(state)) throw new RangeError(`unknown LED state: ${String(state)}`);
    if (state === this.state) return;
    this.state = state;
    this.steps = patternFor(state);
    this.since = this.now();
    if (this.running) this.tick();
  }

  current(): StatusLedSnapshot {
    return {
      state: this.state,
      steps: this.steps,
      since: this.since,
      drivers: this.active.map((d) => d.id),
      level: this.running ? this.desired : null,
    };
  }

  /** Opens every driver (those that fail are reported and left out) and starts the pattern. */
  async start(): Promise<void> {
    if (this.running) return;
    // Overlapping start() calls share one attempt instead of opening every driver twice.
    this.starting ??= this.open().finally(() => {
      this.starting = null;
    });
    await this.starting;
  }

  private async open(): Promise<void> {
    const opened = await Promise.all(this.deps.drivers.map(async (driver) => {
      try {
        await driver.open();
        return driver;
      } catch (err) {
        this.report(err, driver.id);
        return null;
      }
    }));
    this.active = opened.filter((d): d is LedDriver => d !== null);
    this.applied = null;
    this.running = true;
    // The pattern is in phase from the moment the LEDs can show it, not from construction.
    this.since = this.now();
    this.tick();
  }

  /** Stops blinking, darkens the LEDs and closes the drivers, giving up at `deadline` (ms). */
  async stop(options: { readonly deadline: number }): Promise<void> {
    await this.starting;
    if (!this.running) return;
    this.running = false;
    this.cancelTimer();
    const drivers = this.active;
    this.active = [];
    const finish = async (): Promise<void> => {
      await this.writer;
      await Promise.all(drivers.map(async (driver) => {
        try {
          await driver.set(false);
        } catch (err) {
          this.report(err, driver.id, true);
        }
        try {
          await driver.close();
        } catch (err) {
          this.report(err, driver.id);
        }
      }));
    };
    await this.withinDeadline(finish(), options.deadline);
    this.desired = null;
    this.applied = null;
    this.failing.clear();
  }

  private tick(): void {
    this.cancelTimer();
    if (!this.running) return;
    const elapsed = this.now() - this.since;
    this.desired = levelAt(this.steps, elapsed);
    this.flush();
    const wait = msUntilChange(this.steps, elapsed);
    if (Number.isFinite(wait)) this.timer = this.setTimer(() => this.tick(), Math.max(1, Math.ceil(wait)));
  }

  private flush(): void {
    if (this.writer !== null || this.desired === this.applied) return;
    this.writer = (async () => {
      while (this.running && this.desired !== null && this.desired !== this.applied) {
        const target = this.desired;
        await Promise.all(this.active.map((driver) => this.apply(driver, target)));
        this.applied = target;
      }
    })().finally(() => {
      this.writer = null;
    });
  }

  private async apply(driver: LedDriver, on: boolean): Promise<void> {
    try {
      await driver.set(on);
      this.failing.delete(driver.id);
    } catch (err) {
      this.report(err, driver.id, true);
    }
  }

  private report(err: unknown, driverId: string, streak = false): void {
    // A dead LED fails on every blink (10 a second while booting): for set() failures report
    // the first of a streak only, and again once the driver has worked in between.
    if (streak) {
      if (this.failing.has(driverId)) return;
      this.failing.add(driverId);
    }
    try {
      this.deps.onError?.(err, driverId);
    } catch {
      // A throwing error hook must not take the runner down either.
    }
  }

  private cancelTimer(): void {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
  }

  private async withinDeadline(work: Promise<void>, deadline: number): Promise<void> {
    const ms = Math.max(0, deadline - this.now());
    let handle: unknown = null;
    const timeout = new Promise<void>((resolve) => {
      handle = this.setTimer(resolve, ms);
    });
    try {
      await Promise.race([work, timeout]);
    } finally {
      if (handle !== null) this.clearTimer(handle);
    }
  }
}

export function createStatusLed(deps: StatusLedDeps): StatusLed {
  return new StatusLed(deps);
}
