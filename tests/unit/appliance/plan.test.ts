import { describe, expect, it } from 'vitest';
import { plan, allSettled, readyDeadlineMs, type ChildState, type PlanInput, type Step } from '../../../appliance/supervisor/plan.js';
import { backoffDelay, DEFAULT_TUNING, isCrashLoop, retryDelay } from '../../../appliance/supervisor/restart-policy.js';
import { startOrder, validateTable, type ChildSpec } from '../../../appliance/supervisor/children.js';

const spec = (name: string, over: Partial<ChildSpec> = {}): ChildSpec => ({
  name, entry: `/x/${name}.mjs`, critical: true, restart: 'always', after: [], env: {}, nodeArgs: [], subscribe: false,
  heartbeatMs: 1000, readyTimeoutMs: 30_000, ...over,
});
const state = (s: ChildSpec, over: Partial<ChildState> = {}): ChildState => ({
  spec: s, phase: 'idle', pid: null, startedAt: null, readyAt: null, lastSeenAt: null, nextStartAt: null, restarts: 0,
  exitTimes: [], lastExit: null, pendingExit: null, killReason: null, signalSent: null, failedReason: null,
  failures: 0, failedSince: null, ...over,
});
const input = (children: ChildState[], over: Partial<PlanInput> = {}): PlanInput => ({
  children, order: startOrder(children.map((c) => c.spec)), target: { mode: 'run' }, now: 100_000,
  tuning: DEFAULT_TUNING, random: 0.5, missedHeartbeats: 3, ...over,
});
const kinds = (steps: Step[]): string[] => steps.map((s) => `${s.kind}:${s.name}${'signal' in s ? `:${s.signal}` : ''}`);

describe('restart policy', () => {
  it('backs off exponentially from 1 s to a 60 s cap, with bounded jitter', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(n, 0.5))).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
    expect(backoffDelay(1, 0)).toBe(850);
    expect(backoffDelay(1, 0.999999)).toBe(1150);
    expect(backoffDelay(20, 0.999999)).toBe(60000);
  });

  it('retries a failed child slowly: 1, 2, 4, 8, 15, 15 … minutes, jittered ±15 %, never given up', () => {
    const minutes = [1, 2, 3, 4, 5, 6, 50].map((n) => retryDelay(n, 0.5) / 60_000);
    expect(minutes).toEqual([1, 2, 4, 8, 15, 15, 15]);
    expect(retryDelay(1, 0)).toBe(51_000);
    expect(retryDelay(1, 0.999999)).toBe(69_000);
    expect(retryDelay(9, 0.999999)).toBe(15 * 60_000);
    // Configurable (LUCID_FAILED_RETRY_MS / _MAX_MS), which is how integration tests run in seconds.
    const fast = { ...DEFAULT_TUNING, failedRetryMs: 1000, failedRetryMaxMs: 3000 };
    expect([1, 2, 3, 4].map((n) => retryDelay(n, 0.5, fast))).toEqual([1000, 2000, 3000, 3000]);
  });

  it('detects a crash loop at 5 exits within 5 minutes only', () => {
    const now = 1_000_000;
    expect(isCrashLoop([now - 1, now - 2, now - 3, now - 4], now)).toBe(false);
    expect(isCrashLoop([now - 1, now - 2, now - 3, now - 4, now - 5], now)).toBe(true);
    expect(isCrashLoop([now - 400_000, now - 2, now - 3, now - 4, now - 5], now)).toBe(false);
  });
});

describe('child table', () => {
  it('orders by dependencies and rejects cycles and unknown dependencies', () => {
    expect(startOrder([spec('b', { after: ['a'] }), spec('a'), spec('c', { after: ['b'] })])).toEqual(['a', 'b', 'c']);
    expect(() => validateTable([spec('a', { after: ['b'] }), spec('b', { after: ['a'] })])).toThrow(/cycle/);
    expect(() => validateTable([spec('a', { after: ['zz'] })])).toThrow(/unknown "zz"/);
    expect(() => validateTable([spec('a'), spec('a')])).toThrow(/duplicate/);
  });
});

describe('plan (run)', () => {
  it('starts children in dependency order, each after its dependencies are ready', () => {
    const a = spec('a'); const b = spec('b', { after: ['a'] });
    expect(kinds(plan(input([state(a), state(b)])))).toEqual(['start:a']);
    expect(kinds(plan(input([state(a, { phase: 'starting', startedAt: 99_000, lastSeenAt: 99_000 }), state(b)])))).toEqual([]);
    expect(kinds(plan(input([state(a, { phase: 'ready', lastSeenAt: 99_900 }), state(b)])))).toEqual(['start:b']);
  });

  it('schedules a restart with backoff after an unexpected exit', () => {
    const exit = { code: 1, signal: null, reason: 'exit', at: 100_000 };
    const steps = plan(input([state(spec('a'), { phase: 'ready', pendingExit: exit })]));
    expect(steps).toEqual([{ kind: 'schedule', name: 'a', at: 101_000, exitTimes: [100_000] }]);
  });

  it('starts a backed-off child only once its time has come', () => {
    const c = state(spec('a'), { phase: 'backoff', nextStartAt: 100_500 });
    expect(kinds(plan(input([c])))).toEqual([]);
    expect(kinds(plan(input([c], { now: 100_500 })))).toEqual(['start:a']);
  });

  it('marks a crash-looping child failed, with a slow retry scheduled instead of a fast restart', () => {
    const exit = { code: 1, signal: null, reason: 'exit', at: 100_000 };
    const c = state(spec('a'), { phase: 'ready', pendingExit: exit, exitTimes: [60_000, 70_000, 80_000, 90_000] });
    const [step] = plan(input([c]));
    expect(step).toMatchObject({ kind: 'fail', failures: 1, retryAt: 100_000 + 60_000 });
    expect(step && 'reason' in step && step.reason).toMatch(/crash loop: 5 exits/);
  });

  it('starts a failed child again when its retry is due (and its dependencies are ready), never before', () => {
    const failed = state(spec('a'), { phase: 'failed', failures: 1, failedSince: 40_000, nextStartAt: 160_000, failedReason: 'crash loop' });
    expect(kinds(plan(input([failed], { now: 159_999 })))).toEqual([]);
    expect(kinds(plan(input([failed], { now: 160_000 })))).toEqual(['start:a']);
    const dep = state(spec('b', { after: ['a'] }), { phase: 'failed', failures: 1, nextStartAt: 1 });
    expect(kinds(plan(input([state(spec('a'), { phase: 'backoff', nextStartAt: 999_999 }), dep], { now: 160_000 })))).toEqual([]);
    // Policy `never`: failed for good, nothing scheduled.
    const never = state(spec('a', { restart: 'never' }), { phase: 'ready', pendingExit: { code: 1, signal: null, reason: 'exit', at: 100_000 } });
    expect(plan(input([never]))[0]).toMatchObject({ kind: 'fail', retryAt: null });
  });

  it('a retry that exits again fails at once with the next, longer delay (no second round of fast restarts)', () => {
    const exit = { code: 1, signal: null, reason: 'exit', at: 500_000 };
    // Its earlier exits have left the crash-loop window: without the streak it would restart in 1 s.
    const retried = state(spec('a'), { phase: 'starting', pendingExit: exit, failures: 2, failedSince: 10_000, exitTimes: [10_000] });
    const [step] = plan(input([retried], { now: 500_000 }));
    expect(step).toMatchObject({ kind: 'fail', failures: 3, retryAt: 500_000 + 4 * 60_000 });
    expect(step && 'reason' in step && step.reason).toMatch(/failed again after a retry.*3 failures in a row/);
  });

  it('ends a failure streak once the child has been ready for a whole crash-loop window', () => {
    const ready = (readyAt: number) => state(spec('a'), { phase: 'ready', readyAt, lastSeenAt: 400_000, failures: 3 });
    expect(kinds(plan(input([ready(400_000 - 299_999)], { now: 400_000 })))).toEqual([]);
    expect(plan(input([ready(400_000 - 300_000)], { now: 400_000 }))).toEqual([{ kind: 'stable', name: 'a' }]);
    expect(kinds(plan(input([state(spec('a'), { phase: 'ready', readyAt: 0, lastSeenAt: 400_000 })], { now: 400_000 })))).toEqual([]);
  });

  it('kills a child that missed three heartbeats, and one that never became ready', () => {
    const silent = state(spec('a'), { phase: 'ready', lastSeenAt: 100_000 - 3600 });
    expect(kinds(plan(input([silent])))).toEqual(['signal:a:SIGKILL']);
    const alive = state(spec('a'), { phase: 'ready', lastSeenAt: 100_000 - 3400 });
    expect(kinds(plan(input([alive])))).toEqual([]);
    // Still loading its code (never heard from): only the ready timeout applies, not the heartbeat rule.
    const loading = state(spec('a'), { phase: 'starting', startedAt: 100_000 - 10_000, lastSeenAt: null });
    expect(kinds(plan(input([loading])))).toEqual([]);
    const wedged = state(spec('a'), { phase: 'starting', startedAt: 100_000 - 10_000, lastSeenAt: 100_000 - 3600 });
    expect(kinds(plan(input([wedged])))).toEqual(['signal:a:SIGKILL']);
    const slow = state(spec('a'), { phase: 'starting', startedAt: 100_000 - 30_001, lastSeenAt: 99_999 });
    expect(plan(input([slow]))).toEqual([{ kind: 'signal', name: 'a', signal: 'SIGKILL', reason: 'ready-timeout' }]);
  });

  it('doubles the ready deadline after every start in a row that ran out of it, up to 8× (a slow board is not killed forever)', () => {
    const starting = (age: number, readyTimeouts: number) =>
      state(spec('a'), { phase: 'starting', startedAt: 100_000 - age, lastSeenAt: 99_999, readyTimeouts });
    // 30 s, then 60, 120, 240, and 240 s again: a start that takes 40 s succeeds on the second try.
    for (const [n, limit] of [[0, 30_000], [1, 60_000], [2, 120_000], [3, 240_000], [9, 240_000]] as const) {
      expect(kinds(plan(input([starting(limit, n)], { now: 100_000 })))).toEqual([]);
      expect(plan(input([starting(limit + 1, n)], { now: 100_000 }))).toEqual([{ kind: 'signal', name: 'a', signal: 'SIGKILL', reason: 'ready-timeout' }]);
    }
    expect(readyDeadlineMs(starting(0, 2))).toBe(120_000);
    expect(readyDeadlineMs(state(spec('a')))).toBe(30_000); // absent: none yet
  });

  it('follows restart policies: never → failed on error, stopped on a clean exit; on-failure restarts errors only', () => {
    const clean = { code: 0, signal: null, reason: 'exit', at: 100_000 };
    const crash = { code: null, signal: 'SIGSEGV', reason: 'crash', at: 100_000 };
    expect(plan(input([state(spec('a', { restart: 'never' }), { phase: 'ready', pendingExit: clean })]))[0]).toMatchObject({ kind: 'settle', phase: 'stopped' });
    expect(plan(input([state(spec('a', { restart: 'never' }), { phase: 'ready', pendingExit: crash })]))[0]).toMatchObject({ kind: 'fail' });
    expect(plan(input([state(spec('a', { restart: 'on-failure' }), { phase: 'ready', pendingExit: clean })]))[0]).toMatchObject({ kind: 'settle' });
    expect(plan(input([state(spec('a', { restart: 'on-failure' }), { phase: 'ready', pendingExit: crash })]))[0]).toMatchObject({ kind: 'schedule' });
  });

  it('restarts at once, without counting a failure, when a restart was requested', () => {
    const exit = { code: 0, signal: null, reason: 'restart-requested', at: 100_000 };
    const c = state(spec('a'), { phase: 'ready', pendingExit: exit, killReason: 'restart-requested', exitTimes: [1] });
    expect(plan(input([c]))).toEqual([{ kind: 'schedule', name: 'a', at: 100_000, exitTimes: [1] }]);
  });
});

describe('plan (stop)', () => {
  const a = spec('a'); const b = spec('b', { after: ['a'] });
  const running = (s: ChildSpec, over: Partial<ChildState> = {}) => state(s, { phase: 'ready', pid: 1, lastSeenAt: 100_000, ...over });

  it('stops in reverse dependency order: dependents first', () => {
    const steps = plan(input([running(a), running(b)], { target: { mode: 'stop', deadline: 110_000 } }));
    expect(kinds(steps)).toEqual(['signal:b:SIGTERM']);
    const next = plan(input([running(a), state(b, { phase: 'stopped' })], { target: { mode: 'stop', deadline: 110_000 } }));
    expect(kinds(next)).toEqual(['signal:a:SIGTERM']);
  });

  it('SIGKILLs whatever is alive at the deadline, and settles backed-off children', () => {
    const steps = plan(input([running(a, { signalSent: 'SIGTERM' }), state(b, { phase: 'backoff', nextStartAt: 200_000 })],
      { target: { mode: 'stop', deadline: 100_000 } }));
    expect(kinds(steps)).toEqual(['settle:b', 'signal:a:SIGKILL']);
  });

  it('settles exits as stopped, never restarting, and reports completion', () => {
    const exit = { code: 0, signal: null, reason: 'stopped', at: 100_000 };
    const children = [state(a, { phase: 'stopping', pendingExit: exit })];
    expect(plan(input(children, { target: { mode: 'stop', deadline: 110_000 } }))).toEqual([{ kind: 'settle', name: 'a', phase: 'stopped' }]);
    expect(allSettled(children)).toBe(false);
    expect(allSettled([state(a, { phase: 'stopped' })])).toBe(true);
  });
});
