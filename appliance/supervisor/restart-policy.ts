// Pure restart arithmetic: exponential backoff with jitter, and crash-loop detection.

export interface RestartTuning {
  readonly baseMs: number;
  readonly capMs: number;
  /** Jitter as a fraction: the delay is scaled by a factor in [1 - jitter, 1 + jitter]. */
  readonly jitter: number;
  /** A child that exits this many times within the window is marked failed. */
  readonly crashLoopExits: number;
  readonly crashLoopWindowMs: number;
}

export const DEFAULT_TUNING: RestartTuning = {
  baseMs: 1000,
  capMs: 60_000,
  jitter: 0.15,
  crashLoopExits: 5,
  crashLoopWindowMs: 5 * 60_000,
};

/**
 * Delay before restart number `attempt` (1 = first restart): base · 2^(attempt-1), jittered,
 * never above the cap. `random` is in [0, 1).
 */
export function backoffDelay(attempt: number, random: number, tuning: RestartTuning = DEFAULT_TUNING): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 30));
  const raw = Math.min(tuning.capMs, tuning.baseMs * 2 ** exponent);
  const factor = 1 - tuning.jitter + 2 * tuning.jitter * Math.min(Math.max(random, 0), 1);
  return Math.round(Math.min(tuning.capMs, raw * factor));
}

/** Exits still inside the crash-loop window at `now`. */
export function recentExits(exitTimes: readonly number[], now: number, tuning: RestartTuning = DEFAULT_TUNING): number[] {
  return exitTimes.filter((t) => now - t < tuning.crashLoopWindowMs);
}

export function isCrashLoop(exitTimes: readonly number[], now: number, tuning: RestartTuning = DEFAULT_TUNING): boolean {
  return recentExits(exitTimes, now, tuning).length >= tuning.crashLoopExits;
}
