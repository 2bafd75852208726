// The button's factory reset, as a pure state machine: a press of ≥ 10 s arms it (the LED shows
// `reset-pending`), a second press of any length within the window confirms it, and nothing
// within the window cancels it. Only a confirmed reset does anything: the supervisor writes the
// marker and restarts core, which erases credentials at its start (services/common/reset-marker.ts,
// services/auth/factory-reset.ts). A button already held at boot is never timed (hal/button), so
// a stuck button cannot arm it, and an armed reset needs a release and a new press.
import type { ButtonAction } from '../../services/common/ipc.js';

/** How long the confirming press may take to come (`LUCID_RESET_CONFIRM_MS`). */
export const DEFAULT_CONFIRM_WINDOW_MS = 30_000;

export interface ResetArming {
  /** Epoch ms of the arming press, and the end of its window; null when not armed. */
  readonly armedAt: number | null;
  readonly until: number | null;
}

export const DISARMED: ResetArming = { armedAt: null, until: null };

export type PressOutcome =
  | { readonly effect: 'none'; readonly next: ResetArming }
  | { readonly effect: 'armed'; readonly next: ResetArming }
  | { readonly effect: 'confirmed'; readonly next: ResetArming; readonly armedAt: number };

/** What a press means for the reset. The window's end is inclusive. */
export function pressForReset(state: ResetArming, action: ButtonAction, now: number, windowMs: number): PressOutcome {
  const armed = expire(state, now);
  if (armed.armedAt !== null) return { effect: 'confirmed', next: DISARMED, armedAt: armed.armedAt };
  if (action === 'factory-reset') return { effect: 'armed', next: { armedAt: now, until: now + windowMs } };
  return { effect: 'none', next: armed };
}

/** The arming, or DISARMED once its window has passed. */
export function expire(state: ResetArming, now: number): ResetArming {
  return state.until !== null && now > state.until ? DISARMED : state;
}
