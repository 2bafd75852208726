// The simulated GPIO factory: pins live in memory. Outputs record what was written; a test (or
// the supervisor's simulated button) drives inputs with simulate(pin, high). Debounce behaves
// like onoff's: a change is reported once the line has been quiet for debounceMs, with the level
// it has then — so a bouncy simulated press reports like a bouncy real one.
import { HalError, notOpenError } from '../errors.js';
import type { GpioFactory, GpioInput, GpioInputOptions, GpioOutput } from './types.js';

export interface SimGpioOptions {
  /** Number of lines; BCM 0…lines-1 exist. Default 54 (the BCM2835 controller). */
  readonly lines?: number;
  readonly setTimeout?: (fn: () => void, ms: number) => unknown;
  readonly clearTimeout?: (handle: unknown) => void;
  /** Receives exceptions thrown by watch() callbacks (like the real factory's onError). */
  readonly onError?: (err: unknown, pin: number) => void;
}

export interface SimGpio extends GpioFactory {
  /**
   * Sets the electrical level of a pin (true = high, 3V3). For an open input this is what the
   * outside world does to it; activeLow inverts it into the logical level read() returns.
   */
  simulate(pin: number, high: boolean): void;
  /** The level an output pin drives (its last write), or null if it was never an output. */
  outputLevel(pin: number): boolean | null;
  /** Whether a pin is currently open (as input or output). */
  isOpen(pin: number): boolean;
}

interface InputState {
  readonly options: GpioInputOptions;
  readonly listeners: Array<(level: boolean) => void>;
  lastReported: boolean;
  timer: unknown;
}

class SimGpioFactory implements SimGpio {
  readonly kind = 'sim';
  private readonly lines: number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  private readonly onError: ((err: unknown, pin: number) => void) | undefined;
  /** Electrical level per pin; pins never touched have no entry. */
  private readonly electrical = new Map<number, boolean>();
  private readonly outputs = new Map<number, boolean>();
  private readonly inputs = new Map<number, InputState>();
  private readonly open = new Set<number>();

  constructor(options: SimGpioOptions) {
    this.lines = options.lines ?? 54;
    this.setTimer = options.setTimeout ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = options.clearTimeout ?? ((h) => clearTimeout(h as NodeJS.Timeout));
    this.onError = options.onError;
  }

  async output(pin: number): Promise<GpioOutput> {
    this.claim(pin);
    this.outputs.set(pin, false);
    this.electrical.set(pin, false);
    let closed = false;
    return {
      pin,
      write: async (on: boolean) => {
        if (closed) throw notOpenError(`gpio:${pin}`);
        this.outputs.set(pin, on);
        this.electrical.set(pin, on);
      },
      close: async () => {
        if (closed) return;
        closed = true;
        this.open.delete(pin);
      },
    };
  }

  async input(pin: number, options: GpioInputOptions): Promise<GpioInput> {
    this.claim(pin);
    // An untouched line idles inactive: an active-low button has a pull-up, so it reads high.
    if (!this.electrical.has(pin)) this.electrical.set(pin, options.activeLow);
    const state: InputState = { options, listeners: [], lastReported: this.logical(pin, options), timer: null };
    this.inputs.set(pin, state);
    let closed = false;
    return {
      pin,
      read: async () => {
        if (closed) throw notOpenError(`gpio:${pin}`);
        return this.logical(pin, options);
      },
      watch: (cb) => {
        if (!closed) state.listeners.push(cb);
      },
      close: async () => {
        if (closed) return;
        closed = true;
        if (state.timer !== null) this.clearTimer(state.timer);
        state.listeners.length = 0;
        this.inputs.delete(pin);
        this.open.delete(pin);
      },
    };
  }

  simulate(pin: number, high: boolean): void {
    this.checkPin(pin);
    this.electrical.set(pin, high);
    const state = this.inputs.get(pin);
    if (!state) return;
    if (state.options.debounceMs <= 0) {
      this.report(pin, state);
      return;
    }
    // Trailing debounce: every edge restarts the quiet period.
    if (state.timer !== null) this.clearTimer(state.timer);
    state.timer = this.setTimer(() => {
      state.timer = null;
      this.report(pin, state);
    }, state.options.debounceMs);
  }

  outputLevel(pin: number): boolean | null {
    return this.outputs.get(pin) ?? null;
  }

  isOpen(pin: number): boolean {
    return this.open.has(pin);
  }

  private report(pin: number, state: InputState): void {
    const level = this.logical(pin, state.options);
    if (level === state.lastReported) return;
    state.lastReported = level;
    for (const listener of state.listeners.slice()) {
      // Like an interrupt handler: one bad listener must not starve the others or the caller.
      try {
        listener(level);
      } catch (err) {
        this.onError?.(err, pin);
      }
    }
  }

  private logical(pin: number, options: GpioInputOptions): boolean {
    const high = this.electrical.get(pin) ?? false;
    return options.activeLow ? !high : high;
  }

  private checkPin(pin: number): void {
    if (!Number.isInteger(pin) || pin < 0 || pin >= this.lines) {
      throw new HalError('HAL_ERR_UNAVAILABLE', `no GPIO ${pin} (simulated lines 0–${this.lines - 1})`);
    }
  }

  private claim(pin: number): void {
    this.checkPin(pin);
    if (this.open.has(pin)) throw new HalError('HAL_ERR_UNAVAILABLE', `gpio:${pin} is already open`);
    this.open.add(pin);
  }
}

export function createSimGpio(options: SimGpioOptions = {}): SimGpio {
  return new SimGpioFactory(options);
}
