// The button's factory reset, as a pure state machine: a press of ≥ 10 s arms it (the LED shows
// `reset-pending`), a second press of any length within the window confirms it, and nothing
// within the window cancels it. Only a confirmed reset does anything: the supervisor writes the
// marker and restarts core, which erases credentials at its start (services/common/reset-marker.ts,
// services/auth/factory-reset.ts). A button already held at boot is never timed (hal/button), so
// a stuck button cannot arm it, and an armed reset needs a release and a new press.
import type { ButtonAction } from '../../services/common/ipc.js';
import type { Logger } from '../../services/common/log.js';
import type { ResetRequest } from '../../services/common/reset-marker.js';

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

export interface ResetDeps {
  /** The child that performs the reset at its next start (core). */
  readonly child: string;
  readonly windowMs?: number;
  readonly via: ResetRequest['via'];
  /** Writes the marker durably (services/common/reset-marker.ts). */
  writeMarker(request: ResetRequest): Promise<void>;
}

/** The edge: holds the arming, writes the marker on confirmation and has the child restarted. */
export class FactoryResetButton {
  private arming: ResetArming = DISARMED;

  constructor(
    private readonly deps: ResetDeps,
    private readonly log: Logger,
    private readonly restart: (child: string) => void,
  ) {}

  /** A press at `now`: what it did for the reset. */
  press(action: ButtonAction, now: number): 'armed' | 'confirmed' | null {
    const outcome = pressForReset(this.arming, action, now, this.deps.windowMs ?? DEFAULT_CONFIRM_WINDOW_MS);
    this.arming = outcome.next;
    if (outcome.effect === 'armed') {
      this.log.warn({ until: outcome.next.until }, 'factory reset requested: press the button again to confirm');
    } else if (outcome.effect === 'confirmed') {
      void this.perform({ v: 1, via: this.deps.via, armedAt: outcome.armedAt, confirmedAt: now });
    }
    return outcome.effect === 'none' ? null : outcome.effect;
  }

  /** Whether a reset waits for its confirmation at `now` (a lapsed one is cancelled here). */
  pending(now: number): boolean {
    const next = expire(this.arming, now);
    if (next !== this.arming) {
      this.log.warn('factory reset not confirmed in time: cancelled');
      this.arming = next;
    }
    return this.arming.armedAt !== null;
  }

  private async perform(request: ResetRequest): Promise<void> {
    try {
      await this.deps.writeMarker(request);
    } catch (err) {
      this.log.error({ err }, 'factory reset confirmed, but its marker could not be written: nothing was reset');
      return;
    }
    this.log.warn({ child: this.deps.child, ...request }, 'factory reset confirmed: restarting core, which erases the credentials');
    this.restart(this.deps.child);
  }
}
