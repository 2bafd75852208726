// The one push button's meaning is in how long it is held: a short press acknowledges, a long
// press (3 s) shows the setup code, and a 10 s hold asks for a factory reset. Pure, so the
// thresholds are unit tested without a button and shared by the real and simulated drivers.

export const BUTTON_ACTIONS = ['short', 'long', 'factory-reset'] as const;
export type ButtonAction = (typeof BUTTON_ACTIONS)[number];

/** Held at least this long: 'long' (show the setup code). */
export const LONG_PRESS_MS = 3000;
/** Held at least this long: 'factory-reset'. Long enough that nobody does it by accident. */
export const FACTORY_RESET_MS = 10_000;
/** Presses shorter than this are contact bounce or electrical noise, not a person. */
export const BOUNCE_MS = 30;

export function isButtonAction(value: unknown): value is ButtonAction {
  return typeof value === 'string' && (BUTTON_ACTIONS as readonly string[]).includes(value);
}

/** The action for a press held `ms` milliseconds (the caller has already discarded bounces). */
export function classifyPress(ms: number): ButtonAction {
  if (Number.isNaN(ms)) throw new RangeError('press duration is NaN');
  if (ms >= FACTORY_RESET_MS) return 'factory-reset';
  if (ms >= LONG_PRESS_MS) return 'long';
  return 'short';
}

/** A representative hold time for each action, for simulated presses that name the action. */
export function typicalPressMs(action: ButtonAction): number {
  switch (action) {
    case 'short': return 200;
    case 'long': return LONG_PRESS_MS + 1000;
    case 'factory-reset': return FACTORY_RESET_MS + 1000;
  }
}

export interface PressTrackerOptions {
  /** Presses shorter than this are ignored. Default BOUNCE_MS. */
  readonly bounceMs?: number;
  /**
   * The level at the moment tracking starts. If the button is already held (someone leaning on
   * it at boot), its press began at an unknown time, so that first release is ignored rather
   * than timed from boot — a boot-time hold must never count as a 10 s factory reset.
   */
  readonly initiallyPressed?: boolean;
}

/**
 * Turns logical level changes (true = pressed) with timestamps into press durations. Repeated
 * reports of the same level are ignored (interrupt handlers may report an edge twice), and so
 * are presses shorter than bounceMs. Chatter inside one press is the GPIO layer's job
 * (debounceMs on the input); this only has to be robust to what gets through.
 */
export class PressTracker {
  private readonly bounceMs: number;
  private pressed: boolean;
  private pressedAt: number | null = null;

  constructor(options: PressTrackerOptions = {}) {
    this.bounceMs = options.bounceMs ?? BOUNCE_MS;
    this.pressed = options.initiallyPressed ?? false;
  }

  /** Whether the button is held right now, as far as the tracker knows. */
  get isPressed(): boolean {
    return this.pressed;
  }

  /**
   * Feeds one level change. Returns the duration of a press that just ended, or null when
   * nothing completed (a press began, a duplicate level, a bounce, an untimed boot-time press).
   */
  update(pressed: boolean, atMs: number): number | null {
    if (pressed === this.pressed) return null;
    this.pressed = pressed;
    if (pressed) {
      this.pressedAt = atMs;
      return null;
    }
    const startedAt = this.pressedAt;
    this.pressedAt = null;
    if (startedAt === null) return null;
    // A clock that stepped backwards yields a negative duration; that is not a press.
    const duration = atMs - startedAt;
    if (!(duration >= this.bounceMs)) return null;
    return duration;
  }

  /** How long the current press has lasted at `nowMs`, or null when not pressed (or untimed). */
  heldFor(nowMs: number): number | null {
    return this.pressed && this.pressedAt !== null ? Math.max(0, nowMs - this.pressedAt) : null;
  }
}
