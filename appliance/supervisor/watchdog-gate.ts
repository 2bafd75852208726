// When the supervisor may tell systemd "I am alive" (WATCHDOG=1). A ping that is sent whenever a
// timer fires proves only that the event loop ran once in a while. This gate withholds it when
//  - the loop is stuck: some turn since the last ping came later than `maxLagMs` (a supervisor
//    that cannot answer its children's heartbeats for seconds is not supervising), or
//  - a critical child has been failing for longer than `failedLimitMs`: the supervisor's own slow
//    retries have not brought it back, so systemd restarts the whole tree (and, after repeated
//    restarts, reboots the board: image/pi/lucid-appliance.service, appliance/README.md).
// The verdict is pure; `LoopLag` and `WatchdogGate` are the edge (timers, the monotonic clock).
import type { ChildStatus } from '../../services/common/ipc.js';
import { isFaulted } from './led-state.js';

export interface GateLimits {
  /** A turn of the event loop later than this withholds the next ping (`LUCID_LOOP_LAG_LIMIT_MS`). */
  readonly maxLagMs: number;
  /** A critical child failing for longer than this withholds every ping (`LUCID_FAILED_LIMIT_MS`). */
  readonly failedLimitMs: number;
}

export type Verdict =
  | { readonly pet: true }
  | { readonly pet: false; readonly cause: 'loop-lag' | 'child-failed'; readonly reason: string };

export interface VerdictInput extends GateLimits {
  /** The latest any timer fired since the previous verdict, ms. */
  readonly lagMs: number;
  /** For each faulted critical child: how long it has been failing, ms (monotonic). */
  readonly faulted: ReadonlyArray<{ readonly name: string; readonly forMs: number }>;
}

export function watchdogVerdict(input: VerdictInput): Verdict {
  if (input.lagMs > input.maxLagMs) {
    return { pet: false, cause: 'loop-lag', reason: `event loop stuck: a turn came ${Math.round(input.lagMs)} ms late (limit ${input.maxLagMs} ms)` };
  }
  const worst = input.faulted.reduce<{ name: string; forMs: number } | null>((w, f) => (w === null || f.forMs > w.forMs ? f : w), null);
  if (worst !== null && worst.forMs > input.failedLimitMs) {
    return { pet: false, cause: 'child-failed', reason: `${worst.name} has been failing for ${Math.round(worst.forMs / 1000)} s (limit ${Math.round(input.failedLimitMs / 1000)} s): systemd restarts the tree` };
  }
  return { pet: true };
}

type Clock = () => number;
const monotonic: Clock = () => performance.now();

/**
 * Measures how late the event loop runs timers: a timer every `sampleMs` notes how far past its
 * due time it fired. Monotonic time, so a clock step (a Pi without RTC meets NTP at boot) is
 * not a stall.
 */
export class LoopLag {
  private timer: NodeJS.Timeout | undefined;
  private due = 0;
  private max = 0;

  constructor(private readonly sampleMs: number, private readonly clock: Clock = monotonic) {}

  start(): void {
    this.due = this.clock() + this.sampleMs;
    this.timer = setTimeout(() => this.sample(), this.sampleMs);
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  /** Notes the lateness of a timer that was due at `due` (monotonic ms), e.g. the ping's own. */
  note(due: number): void {
    this.max = Math.max(this.max, this.clock() - due);
  }

  /** The largest lateness since the last call, and a fresh start. */
  takeMax(): number {
    this.note(this.due);
    const max = this.max;
    this.max = 0;
    return max;
  }

  private sample(): void {
    this.note(this.due);
    this.due = this.clock() + this.sampleMs;
    this.timer = setTimeout(() => this.sample(), this.sampleMs);
  }
}

export interface GateDeps extends GateLimits {
  /** The systemd ping interval (WATCHDOG_USEC / 2). */
  readonly intervalMs: number;
  readonly children: () => readonly ChildStatus[];
  readonly ping: () => void;
  /** Called when the verdict changes (withheld with a reason, or petting again). */
  readonly onChange: (verdict: Verdict) => void;
  readonly clock?: Clock;
}

/** Pings systemd every `intervalMs` while the verdict allows it. */
export class WatchdogGate {
  private readonly clock: Clock;
  private readonly lag: LoopLag;
  private readonly faultedAt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private due = 0;
  private last: Verdict = { pet: true };

  constructor(private readonly deps: GateDeps) {
    this.clock = deps.clock ?? monotonic;
    // Sampled often enough that a stall shorter than a ping interval is still seen.
    this.lag = new LoopLag(Math.max(50, Math.min(250, Math.floor(deps.intervalMs / 4))), this.clock);
  }

  start(): void {
    this.lag.start();
    this.schedule();
  }

  stop(): void {
    this.lag.stop();
    clearTimeout(this.timer);
  }

  private schedule(): void {
    this.due = this.clock() + this.deps.intervalMs;
    this.timer = setTimeout(() => this.tick(), this.deps.intervalMs);
  }

  private tick(): void {
    // This timer's own lateness counts too: after a stall it may run before the sampler does.
    this.lag.note(this.due);
    const now = this.clock();
    const faulted: Array<{ name: string; forMs: number }> = [];
    const seen = new Set<string>();
    for (const c of this.deps.children()) {
      if (!isFaulted(c)) continue;
      seen.add(c.name);
      if (!this.faultedAt.has(c.name)) this.faultedAt.set(c.name, now);
      faulted.push({ name: c.name, forMs: now - this.faultedAt.get(c.name)! });
    }
    for (const name of [...this.faultedAt.keys()]) if (!seen.has(name)) this.faultedAt.delete(name);
    const verdict = watchdogVerdict({ maxLagMs: this.deps.maxLagMs, failedLimitMs: this.deps.failedLimitMs, lagMs: this.lag.takeMax(), faulted });
    if (verdict.pet) this.deps.ping();
    const cause = (v: Verdict): string => (v.pet ? 'pet' : v.cause);
    if (cause(verdict) !== cause(this.last)) this.deps.onChange(verdict);
    this.last = verdict;
    this.schedule();
  }
}
