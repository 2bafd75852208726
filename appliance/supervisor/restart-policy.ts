// Pure restart arithmetic: exponential backoff with jitter, crash-loop detection, and the slow
// retry of a child that has failed (README "Supervisor": never a dead box).

export interface RestartTuning {
  readonly baseMs: number;
  readonly capMs: number;
  /** Jitter as a fraction: the delay is scaled by a factor in [1 - jitter, 1 + jitter]. */
  readonly jitter: number;
  /** A child that exits this many times within the window is marked failed. */
  readonly crashLoopExits: number;
  readonly crashLoopWindowMs: number;
  /**
   * A failed child is started again after this long (`LUCID_FAILED_RETRY_MS`), doubling with
   * every failed retry up to `failedRetryMaxMs` (`LUCID_FAILED_RETRY_MAX_MS`). It is never given
   * up on: whatever broke it (a full disk, a file put back, a USB device, the clock) may be fixed
   * without anyone touching the supervisor.
   */
  readonly failedRetryMs: number;
  readonly failedRetryMaxMs: number;
}

export const DEFAULT_TUNING: RestartTuning = {
  baseMs: 1000,
  capMs: 60_000,
  jitter: 0.15,
  crashLoopExits: 5,
  crashLoopWindowMs: 5 * 60_000,
  // 1, 2, 4, 8, 15, 15, … minutes: a transient cause clears within minutes; a permanent one
  // costs a Pi one start of core (~2 s of CPU and a few log lines) every 15 minutes.
  failedRetryMs: 60_000,
  failedRetryMaxMs: 15 * 60_000,
};

function jittered(raw: number, random: number, jitter: number, cap: number): number {
  const factor = 1 - jitter + 2 * jitter * Math.min(Math.max(random, 0), 1);
  return Math.round(Math.min(cap, raw * factor));
}

/**
 * Delay before restart number `attempt` (1 = first restart): base · 2^(attempt-1), jittered,
 * never above the cap. `random` is in [0, 1).
 */
export function backoffDelay(attempt: number, random: number, tuning: RestartTuning = DEFAULT_TUNING): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 30));
  return jittered(Math.min(tuning.capMs, tuning.baseMs * 2 ** exponent), random, tuning.jitter, tuning.capMs);
}

/**
 * Delay before the slow retry of a child that has failed `failures` times in a row (1 = it has
 * just failed for the first time): failedRetryMs · 2^(failures-1), jittered, never above
 * failedRetryMaxMs. Jitter keeps several appliances on one bad network from retrying in step.
 */
export function retryDelay(failures: number, random: number, tuning: RestartTuning = DEFAULT_TUNING): number {
  const exponent = Math.max(0, Math.min(failures - 1, 30));
  return jittered(Math.min(tuning.failedRetryMaxMs, tuning.failedRetryMs * 2 ** exponent), random, tuning.jitter, tuning.failedRetryMaxMs);
}

/** Exits still inside the crash-loop window at `now`. */
export function recentExits(exitTimes: readonly number[], now: number, tuning: RestartTuning = DEFAULT_TUNING): number[] {
  return exitTimes.filter((t) => now - t < tuning.crashLoopWindowMs);
}

export function isCrashLoop(exitTimes: readonly number[], now: number, tuning: RestartTuning = DEFAULT_TUNING): boolean {
  return recentExits(exitTimes, now, tuning).length >= tuning.crashLoopExits;
}
