// The status-LED pattern engine. Pure: a state maps to one period of on/off steps that repeats,
// and the level at any moment is a function of the time elapsed since the state began. The
// runner (status-led.ts) never accumulates timer drift because it recomputes from elapsed time.
// The table of patterns, and why each looks the way it does, is in hal/leds/README.md.

export const LED_STATES = ['booting', 'ready', 'degraded', 'updating', 'fault', 'lockdown', 'reset-pending'] as const;
export type LedState = (typeof LED_STATES)[number];

export interface LedStep {
  readonly on: boolean;
  readonly ms: number;
}

const step = (on: boolean, ms: number): LedStep => Object.freeze({ on, ms });
const freeze = (steps: LedStep[]): readonly LedStep[] => Object.freeze(steps);

// Morse timing for the fault pattern: a dot is one unit, a dash three, the gap inside a letter
// one unit, between letters three, and before the repeat seven (the standard word gap).
const UNIT = 150;
const dots = (lastGap: number): LedStep[] => [
  step(true, UNIT), step(false, UNIT), step(true, UNIT), step(false, UNIT), step(true, UNIT), step(false, lastGap),
];
const dashes = (lastGap: number): LedStep[] => [
  step(true, 3 * UNIT), step(false, UNIT), step(true, 3 * UNIT), step(false, UNIT), step(true, 3 * UNIT), step(false, lastGap),
];

const PATTERNS: Readonly<Record<LedState, readonly LedStep[]>> = Object.freeze({
  // Fast, even flicker: "busy, not yet serving". The same rhythm as most routers while booting.
  booting: freeze([step(true, 100), step(false, 100)]),
  // Solid on: nothing to look at. One step is enough; the period only matters for snapshots.
  ready: freeze([step(true, 1000)]),
  // Slow, even blink: working but something is wrong (a non-critical child down, disk low).
  degraded: freeze([step(true, 500), step(false, 500)]),
  // Two short pulses then a pause: "heartbeat" rhythm, distinct from any even blink.
  updating: freeze([step(true, 150), step(false, 150), step(true, 150), step(false, 1050)]),
  // SOS (· · · — — — · · ·): universally read as an alarm and impossible to mistake for a blink.
  fault: freeze([...dots(3 * UNIT), ...dashes(3 * UNIT), ...dots(7 * UNIT)]),
  // Long double pulse: mostly on, two deliberate flashes per 3 s, slower than anything else.
  lockdown: freeze([step(true, 800), step(false, 200), step(true, 800), step(false, 1200)]),
  // Four quick flashes, then a pause: "answer me" — the factory reset waits for its confirming
  // press. Faster and more numerous than any other pulse group, so it reads as a question.
  'reset-pending': freeze([
    step(true, 60), step(false, 60), step(true, 60), step(false, 60), step(true, 60), step(false, 60), step(true, 60), step(false, 760),
  ]),
});

export function isLedState(value: unknown): value is LedState {
  return typeof value === 'string' && (LED_STATES as readonly string[]).includes(value);
}

/** One period of the pattern for a state. The array and its steps are frozen and shared. */
export function patternFor(state: LedState): readonly LedStep[] {
  const steps = PATTERNS[state];
  if (steps === undefined) throw new RangeError(`unknown LED state: ${String(state)}`);
  return steps;
}

// A step that cannot take time (0, negative, NaN, Infinity) is skipped. This is the zero-length
// guard: a pattern made only of such steps has no period, and naive modulo arithmetic on it
// would produce NaN or loop forever.
const usable = (s: LedStep): boolean => Number.isFinite(s.ms) && s.ms > 0;

/** Total length of one period in ms, counting only usable steps (0 for a degenerate pattern). */
export function periodMs(steps: readonly LedStep[]): number {
  let total = 0;
  for (const s of steps) if (usable(s)) total += s.ms;
  return total;
}

/** True when the level never changes: no usable steps, or all usable steps share one level. */
export function isConstant(steps: readonly LedStep[]): boolean {
  let first: boolean | undefined;
  for (const s of steps) {
    if (!usable(s)) continue;
    if (first === undefined) first = s.on;
    else if (s.on !== first) return false;
  }
  return true;
}

/** Where `elapsedMs` falls in the period: the usable step index and the ms left in that step. */
function locate(steps: readonly LedStep[], elapsedMs: number): { index: number; remaining: number } | null {
  const period = periodMs(steps);
  if (period === 0) return null;
  // Negative or non-finite elapsed times come from a clock that stepped backwards or a bad
  // input; treating them as the start of the pattern is the only sensible reading.
  const t = Number.isFinite(elapsedMs) && elapsedMs > 0 ? elapsedMs % period : 0;
  let start = 0;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    if (!usable(s)) continue;
    if (t < start + s.ms) return { index: i, remaining: start + s.ms - t };
    start += s.ms;
  }
  // Floating-point remainders can land exactly on the period's end; that is the first step.
  const firstIndex = steps.findIndex(usable);
  return { index: firstIndex, remaining: steps[firstIndex]!.ms };
}

/** The LED level `elapsedMs` after the pattern started. An empty/degenerate pattern is off. */
export function levelAt(steps: readonly LedStep[], elapsedMs: number): boolean {
  const at = locate(steps, elapsedMs);
  return at === null ? false : steps[at.index]!.on;
}

/**
 * Milliseconds from `elapsedMs` until the level next changes, merging consecutive steps of the
 * same level. Infinity for a constant pattern, so a runner knows it can stop scheduling.
 */
export function msUntilChange(steps: readonly LedStep[], elapsedMs: number): number {
  if (isConstant(steps)) return Infinity;
  const at = locate(steps, elapsedMs)!;
  const level = steps[at.index]!.on;
  let wait = at.remaining;
  // Not constant, so a step of the other level exists and this walk ends within one period.
  for (let k = 1; k <= steps.length; k++) {
    const s = steps[(at.index + k) % steps.length]!;
    if (!usable(s)) continue;
    if (s.on !== level) return wait;
    wait += s.ms;
  }
  return wait;
}
