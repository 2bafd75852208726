// The real push button: a momentary switch from a GPIO to ground with the pull-up enabled, so
// the line reads low while pressed (active low). Presses are timed from the edges the GPIO
// layer reports after debouncing and classified on release.
import type { GpioFactory, GpioInput } from '../gpio/types.js';
import { BOUNCE_MS, classifyPress, PressTracker } from './classify.js';
import { ButtonListeners } from './listeners.js';
import type { ButtonDriver, ButtonListener } from './types.js';

export interface GpioButtonOptions {
  readonly gpio: GpioFactory;
  /** BCM GPIO number. */
  readonly pin: number;
  /** Default true: the usual wiring is pin → switch → GND with the internal pull-up. */
  readonly activeLow?: boolean;
  /**
   * Debounce in the GPIO layer (ms of quiet line before an edge counts). 20 ms suits ordinary
   * tactile switches; it also delays every edge by that much, which shortens nothing in net.
   */
  readonly debounceMs?: number;
  /** Presses shorter than this are ignored. Default BOUNCE_MS (30 ms). */
  readonly bounceMs?: number;
  readonly now?: () => number;
  /** Reports listener exceptions. */
  readonly onError?: (err: unknown) => void;
}

class GpioButton implements ButtonDriver {
  readonly id: string;
  private readonly now: () => number;
  private readonly listeners: ButtonListeners;
  private input: GpioInput | null = null;
  private starting: Promise<void> | null = null;
  // Bumped on every start/stop so edges from a closed input (a late debounce timer) are dropped.
  private generation = 0;

  constructor(private readonly options: GpioButtonOptions) {
    this.id = `gpio:${options.pin}`;
    this.now = options.now ?? Date.now;
    this.listeners = new ButtonListeners(options.onError);
  }

  onAction(cb: ButtonListener): () => void {
    return this.listeners.add(cb);
  }

  async start(): Promise<void> {
    if (this.input) return;
    this.starting ??= this.open().finally(() => {
      this.starting = null;
    });
    await this.starting;
  }

  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    const input = this.input;
    if (!input) return;
    this.input = null;
    this.generation++;
    await input.close();
  }

  private async open(): Promise<void> {
    const input = await this.options.gpio.input(this.options.pin, {
      edge: 'both',
      activeLow: this.options.activeLow ?? true,
      debounceMs: this.options.debounceMs ?? 20,
    });
    let initiallyPressed: boolean;
    try {
      initiallyPressed = await input.read();
    } catch (err) {
      await input.close();
      throw err;
    }
    const generation = ++this.generation;
    const tracker = new PressTracker({ bounceMs: this.options.bounceMs ?? BOUNCE_MS, initiallyPressed });
    input.watch((pressed) => {
      if (generation !== this.generation) return;
      const duration = tracker.update(pressed, this.now());
      if (duration !== null) this.listeners.emit(classifyPress(duration), duration);
    });
    this.input = input;
  }
}

export function createGpioButton(options: GpioButtonOptions): ButtonDriver {
  return new GpioButton(options);
}
