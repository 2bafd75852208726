// The simulated button: the web UI's "press" control and tests use it. press(action) delivers
// an action straight away; pressFor(ms) goes through the same classification as a real press,
// including the bounce threshold, so the thresholds are exercised without a button.
import { BOUNCE_MS, classifyPress, typicalPressMs, type ButtonAction } from './classify.js';
import { ButtonListeners } from './listeners.js';
import type { ButtonDriver, ButtonListener } from './types.js';

export interface SimButtonOptions {
  readonly id?: string;
  readonly bounceMs?: number;
  readonly onError?: (err: unknown) => void;
}

export interface SimButton extends ButtonDriver {
  readonly started: boolean;
  /**
   * Delivers `action` now, as if held `pressMs` (default: a typical hold for that action).
   * Returns false (nothing delivered) while the button is stopped.
   */
  press(action: ButtonAction, pressMs?: number): boolean;
  /** A press held `ms`: returns the action delivered, or null (stopped, or a bounce). */
  pressFor(ms: number): ButtonAction | null;
}

class SimButtonDriver implements SimButton {
  readonly id: string;
  private readonly listeners: ButtonListeners;
  private running = false;

  constructor(private readonly options: SimButtonOptions) {
    this.id = options.id ?? 'sim';
    this.listeners = new ButtonListeners(options.onError);
  }

  get started(): boolean {
    return this.running;
  }

  async start(): Promise<void> {
    this.running = true;
  }

  async stop(): Promise<void> {
    this.running = false;
  }

  onAction(cb: ButtonListener): () => void {
    return this.listeners.add(cb);
  }

  press(action: ButtonAction, pressMs?: number): boolean {
    if (!this.running) return false;
    const ms = pressMs ?? typicalPressMs(action);
    // A caller naming both must not be able to produce an action its duration contradicts.
    if (classifyPress(ms) !== action) throw new RangeError(`a ${ms} ms press is not '${action}'`);
    this.listeners.emit(action, ms);
    return true;
  }

  pressFor(ms: number): ButtonAction | null {
    if (!this.running || !(ms >= (this.options.bounceMs ?? BOUNCE_MS))) return null;
    const action = classifyPress(ms);
    this.listeners.emit(action, ms);
    return action;
  }
}

export function createSimButton(options: SimButtonOptions = {}): SimButton {
  return new SimButtonDriver(options);
}
