// The status-LED level at a moment, as the device computes it (hal/leds/patterns.ts): one period
// of on/off steps repeats from `since`. A copy rather than an import because the browser bundle
// must not reach into hal/ (import rules, DESIGN §3); tests/e2e/web-ui.test.ts checks the page
// against hal's own levelAt so the two cannot drift apart unnoticed.
import type { LedStep } from './types.js';

// Steps that cannot take time are skipped, so a degenerate pattern never divides by zero.
const usable = (s: LedStep): boolean => Number.isFinite(s.ms) && s.ms > 0;

export function periodMs(steps: readonly LedStep[]): number {
  let total = 0;
  for (const s of steps) if (usable(s)) total += s.ms;
  return total;
}

/** True when the level never changes (then nothing needs animating). */
export function isConstant(steps: readonly LedStep[]): boolean {
  const levels = new Set(steps.filter(usable).map((s) => s.on));
  return levels.size <= 1;
}

/** The level `elapsedMs` after the pattern started. An empty/degenerate pattern is off. */
export function levelAt(steps: readonly LedStep[], elapsedMs: number): boolean {
  const period = periodMs(steps);
  if (period === 0) return false;
  const t = Number.isFinite(elapsedMs) && elapsedMs > 0 ? elapsedMs % period : 0;
  let start = 0;
  for (const s of steps) {
    if (!usable(s)) continue;
    start += s.ms;
    if (t < start) return s.on;
  }
  // A floating-point remainder can land exactly on the period's end: that is the first step.
  return steps.find(usable)?.on ?? false;
}
