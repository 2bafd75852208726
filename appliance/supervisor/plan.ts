// plan(state, target, now) → steps. Pure: no I/O, no timers, no randomness except what is passed
// in. The supervisor executes the steps at the edge and re-plans on every event and tick
// (balena-supervisor's split, DESIGN §4.6). Tests drive it with a hand-made clock.
import type { ChildPhase, ExitInfo } from '../../services/common/ipc.js';
import type { ChildSpec } from './children.js';
import { backoffDelay, isCrashLoop, recentExits, retryDelay, type RestartTuning } from './restart-policy.js';

export interface ChildState {
  readonly spec: ChildSpec;
  readonly phase: ChildPhase;
  readonly pid: number | null;
  readonly startedAt: number | null;
  readonly readyAt: number | null;
  readonly lastSeenAt: number | null;
  readonly nextStartAt: number | null;
  readonly restarts: number;
  /** Times of unexpected exits, for backoff and crash-loop detection. */
  readonly exitTimes: readonly number[];
  readonly lastExit: ExitInfo | null;
  /** An exit observed by the executor that the plan has not decided on yet. */
  readonly pendingExit: ExitInfo | null;
  /** Set when the supervisor killed the child on purpose (its exit gets this reason). */
  readonly killReason: string | null;
  readonly signalSent: 'SIGTERM' | 'SIGKILL' | null;
  readonly failedReason: string | null;
  /**
   * Failures in a row (0: none). A failed child is retried slowly (restart-policy.ts retryDelay);
   * a retry that exits again before it has been ready for a crash-loop window fails at once with
   * the next, longer delay. Back to 0 once the child has been ready for a whole window.
   */
  readonly failures: number;
  /** When the current failure streak began; null again as soon as the child is ready. */
  readonly failedSince: number | null;
  /**
   * Starts in a row killed for not getting ready in time (0 or absent: none); back to 0 once
   * the child is ready. Each one doubles the next start's ready deadline (readyDeadlineMs).
   */
  readonly readyTimeouts?: number;
}

/** At most 8× the spec's ready timeout (30 s → 4 min for core). */
export const READY_TIMEOUT_MAX_FACTOR = 8;

/**
 * How long this start may take to report ready: the spec's timeout, doubled for every start in a
 * row that ran out of it. A slow board (a Pi 4 on a worn SD card, a starved emulated guest) whose
 * start takes 40 s must not be killed at 30 s forever, crash-loop and end in the slow retry and
 * systemd's start limit; a child that is stuck still gets killed, only later.
 */
export function readyDeadlineMs(c: ChildState): number {
  const factor = Math.min(2 ** (c.readyTimeouts ?? 0), READY_TIMEOUT_MAX_FACTOR);
  return c.spec.readyTimeoutMs * factor;
}

export type Target = { readonly mode: 'run' } | { readonly mode: 'stop'; readonly deadline: number };

export type Step =
  | { readonly kind: 'start'; readonly name: string }
  | { readonly kind: 'signal'; readonly name: string; readonly signal: 'SIGTERM' | 'SIGKILL'; readonly reason: string }
  | { readonly kind: 'schedule'; readonly name: string; readonly at: number; readonly exitTimes: readonly number[] }
  | {
    readonly kind: 'fail'; readonly name: string; readonly reason: string; readonly exitTimes: readonly number[];
    /** Failures in a row, this one included. */
    readonly failures: number;
    /** When the slow retry starts it; null for a child whose restart policy is `never`. */
    readonly retryAt: number | null;
  }
  /** The child has been ready for a whole crash-loop window: its failure streak is over. */
  | { readonly kind: 'stable'; readonly name: string }
  | { readonly kind: 'settle'; readonly name: string; readonly phase: 'stopped' | 'idle' };

export interface PlanInput {
  readonly children: readonly ChildState[];
  /** Start order (dependencies first). */
  readonly order: readonly string[];
  readonly target: Target;
  readonly now: number;
  readonly tuning: RestartTuning;
  /** In [0, 1); the jitter for any restart scheduled by this plan. */
  readonly random: number;
  /** How many heartbeat intervals may pass silently before the child is killed. */
  readonly missedHeartbeats: number;
}

const ALIVE: ReadonlySet<ChildPhase> = new Set(['starting', 'ready', 'stopping']);

export function isAlive(c: ChildState): boolean {
  return ALIVE.has(c.phase) && c.pendingExit === null;
}

export function plan(input: PlanInput): Step[] {
  const byName = new Map(input.children.map((c) => [c.spec.name, c]));
  const ordered = input.order.map((n) => byName.get(n)).filter((c): c is ChildState => c !== undefined);
  const steps: Step[] = [];

  // Exits come first in both modes: an observed exit must be settled before anything else.
  for (const c of ordered) {
    if (c.pendingExit) steps.push(settleExit(c, c.pendingExit, input));
  }
  return input.target.mode === 'run'
    ? steps.concat(planRun(ordered, byName, input))
    : steps.concat(planStop(ordered, byName, input, input.target.deadline));
}

function settleExit(c: ChildState, exit: ExitInfo, input: PlanInput): Step {
  const name = c.spec.name;
  if (input.target.mode === 'stop') return { kind: 'settle', name, phase: 'stopped' };
  // An operator-requested restart is not a failure: start again now, without backoff.
  if (c.killReason === 'restart-requested') return { kind: 'schedule', name, at: input.now, exitTimes: c.exitTimes };
  const clean = exit.code === 0 && exit.signal === null && exit.reason === 'exit';
  if (c.spec.restart === 'never' || (c.spec.restart === 'on-failure' && clean)) {
    return clean
      ? { kind: 'settle', name, phase: 'stopped' }
      : { kind: 'fail', name, reason: `exited (${describeExit(exit)}) and restart policy is ${c.spec.restart}`, exitTimes: c.exitTimes, failures: c.failures + 1, retryAt: null };
  }
  const exitTimes = [...recentExits(c.exitTimes, input.now, input.tuning), exit.at];
  const failed = (reason: string): Step => {
    const failures = c.failures + 1;
    return { kind: 'fail', name, reason, exitTimes, failures, retryAt: input.now + retryDelay(failures, input.random, input.tuning) };
  };
  // A slow retry that did not last: no second round of fast restarts, the next retry waits longer.
  if (c.failures > 0) return failed(`failed again after a retry (${describeExit(exit)}); ${c.failures + 1} failures in a row`);
  if (isCrashLoop(exitTimes, input.now, input.tuning)) {
    return failed(`crash loop: ${exitTimes.length} exits in ${Math.round(input.tuning.crashLoopWindowMs / 1000)} s (last: ${describeExit(exit)})`);
  }
  return { kind: 'schedule', name, at: input.now + backoffDelay(exitTimes.length, input.random, input.tuning), exitTimes };
}

function planRun(ordered: readonly ChildState[], byName: Map<string, ChildState>, input: PlanInput): Step[] {
  const steps: Step[] = [];
  const depsReady = (c: ChildState): boolean =>
    c.spec.after.every((d) => byName.get(d)?.phase === 'ready' && byName.get(d)?.pendingExit === null);
  for (const c of ordered) {
    if (c.pendingExit) continue;
    const name = c.spec.name;
    switch (c.phase) {
      case 'idle':
      case 'stopped':
        if (c.phase === 'idle' && depsReady(c)) steps.push({ kind: 'start', name });
        break;
      case 'backoff':
        if (c.nextStartAt !== null && input.now >= c.nextStartAt && depsReady(c)) steps.push({ kind: 'start', name });
        break;
      case 'starting':
        if (c.signalSent === 'SIGKILL') break;
        if (c.startedAt !== null && input.now - c.startedAt > readyDeadlineMs(c)) {
          steps.push({ kind: 'signal', name, signal: 'SIGKILL', reason: 'ready-timeout' });
        } else if (c.lastSeenAt !== null && silentTooLong(c, input)) {
          // Only once the child has spoken: before its first heartbeat it is still loading its
          // code (seconds for core's bundle on a Pi 4 or a loaded machine), bounded by the ready timeout.
          steps.push({ kind: 'signal', name, signal: 'SIGKILL', reason: 'heartbeat-missed' });
        }
        break;
      case 'ready':
        if (c.failures > 0 && c.readyAt !== null && input.now - c.readyAt >= input.tuning.crashLoopWindowMs) steps.push({ kind: 'stable', name });
        if (c.signalSent === 'SIGKILL') break;
        if (silentTooLong(c, input)) steps.push({ kind: 'signal', name, signal: 'SIGKILL', reason: 'heartbeat-missed' });
        break;
      case 'failed':
        // The slow retry: a failed child is never given up on (unless its policy is `never`).
        if (c.nextStartAt !== null && input.now >= c.nextStartAt && depsReady(c)) steps.push({ kind: 'start', name });
        break;
      case 'stopping':
        break;
    }
  }
  return steps;
}

function silentTooLong(c: ChildState, input: PlanInput): boolean {
  const since = c.lastSeenAt ?? c.startedAt;
  // Half an interval of slack so a heartbeat that is merely late by scheduling jitter is not a miss.
  return since !== null && input.now - since > (input.missedHeartbeats + 0.5) * c.spec.heartbeatMs;
}

function planStop(ordered: readonly ChildState[], byName: Map<string, ChildState>, input: PlanInput, deadline: number): Step[] {
  const steps: Step[] = [];
  // A child is stopped only after every child that depends on it has exited (reverse order).
  const dependentsAlive = (name: string): boolean =>
    ordered.some((o) => o.spec.after.includes(name) && isAlive(o));
  for (const c of [...ordered].reverse()) {
    if (c.pendingExit) continue;
    const name = c.spec.name;
    if (c.phase === 'backoff' || c.phase === 'idle') {
      steps.push({ kind: 'settle', name, phase: 'stopped' });
      continue;
    }
    if (!isAlive(c)) continue;
    if (input.now >= deadline) {
      if (c.signalSent !== 'SIGKILL') steps.push({ kind: 'signal', name, signal: 'SIGKILL', reason: 'stop-deadline' });
    } else if (c.signalSent === null && !dependentsAlive(name)) {
      steps.push({ kind: 'signal', name, signal: 'SIGTERM', reason: 'stopped' });
    }
  }
  return steps;
}

export function describeExit(exit: ExitInfo): string {
  const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
  return exit.reason === 'exit' ? how : `${exit.reason}, ${how}`;
}

/** Every child settled (nothing alive, nothing pending): the stop is complete. */
export function allSettled(children: readonly ChildState[]): boolean {
  return children.every((c) => !isAlive(c) && c.pendingExit === null && c.phase !== 'starting' && c.phase !== 'ready');
}
