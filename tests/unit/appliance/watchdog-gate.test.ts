// The systemd watchdog gate (appliance/supervisor/watchdog-gate.ts): the pure verdict, and the
// gate's timers against a real event loop that is made to stall.
import { afterEach, describe, expect, it } from 'vitest';
import { watchdogVerdict, WatchdogGate, LoopLag, type Verdict } from '../../../appliance/supervisor/watchdog-gate.js';
import type { ChildStatus } from '../../../services/common/ipc.js';

const limits = { maxLagMs: 5000, failedLimitMs: 15 * 60_000 };

describe('watchdog verdict', () => {
  it('pets while the loop is on time and no critical child has been failing too long', () => {
    expect(watchdogVerdict({ ...limits, lagMs: 4999, faulted: [{ name: 'core', forMs: 15 * 60_000 }] })).toEqual({ pet: true });
  });

  it('withholds the ping after a turn later than the lag limit', () => {
    const v = watchdogVerdict({ ...limits, lagMs: 5001, faulted: [] });
    expect(v).toMatchObject({ pet: false, cause: 'loop-lag' });
    expect(!v.pet && v.reason).toMatch(/5001 ms late \(limit 5000 ms\)/);
  });

  it('withholds it while the longest-failing critical child is past the failed limit', () => {
    const v = watchdogVerdict({ ...limits, lagMs: 0, faulted: [{ name: 'x', forMs: 1000 }, { name: 'core', forMs: 15 * 60_000 + 1 }] });
    expect(v).toMatchObject({ pet: false, cause: 'child-failed' });
    expect(!v.pet && v.reason).toMatch(/^core has been failing for 900 s \(limit 900 s\)/);
  });
});

const busy = (ms: number): void => {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* a stuck event loop */ }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Waits (up to 5 s: a loaded machine) until `ok()` holds. */
async function until(ok: () => boolean): Promise<void> {
  const end = performance.now() + 5000;
  while (!ok() && performance.now() < end) await sleep(10);
  expect(ok()).toBe(true);
}

let gate: WatchdogGate | undefined;
afterEach(() => { gate?.stop(); gate = undefined; });

describe('watchdog gate on a real event loop', () => {
  it('pings every interval, stops while the loop stalls, and resumes after', async () => {
    const pings: number[] = [];
    const changes: Verdict[] = [];
    gate = new WatchdogGate({
      maxLagMs: 300, failedLimitMs: 60_000, intervalMs: 100, children: () => [],
      ping: () => pings.push(performance.now()), onChange: (v) => changes.push(v),
    });
    gate.start();
    await until(() => pings.length >= 3);
    // Stalls of 700 ms with 20 ms awake in between: a ping timer fires after each (setInterval
    // would ping every time), but every interval saw a late turn, so none may be sent.
    const before = pings.length;
    for (let i = 0; i < 4; i++) {
      busy(700);
      await sleep(20);
    }
    expect(pings.length - before).toBe(0);
    expect(changes[0]).toMatchObject({ pet: false, cause: 'loop-lag' });
    await until(() => pings.length - before >= 2);
    expect(changes.at(-1)).toEqual({ pet: true });
  });

  it('stops pinging once a critical child has been failing past the limit, and pings again once it is ready', async () => {
    let phase: ChildStatus['phase'] = 'failed';
    const child = (): ChildStatus => ({
      name: 'core', critical: true, phase, pid: null, restarts: 4, startedAt: 0, readyAt: null, nextStartAt: null, lastExit: null,
      failedReason: 'crash loop', failedSince: phase === 'ready' ? null : 1,
    });
    const pings: number[] = [];
    gate = new WatchdogGate({ maxLagMs: 10_000, failedLimitMs: 300, intervalMs: 50, children: () => [child()], ping: () => pings.push(performance.now()), onChange: () => {} });
    gate.start();
    await until(() => pings.length >= 1);
    const first = pings[0]!;
    await sleep(800);
    // Pings only while the failure is younger than 300 ms (counted from the gate's first look,
    // which came one interval before the first ping).
    expect(pings.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...pings) - first).toBeLessThanOrEqual(300 + 20);
    phase = 'ready';
    const count = pings.length;
    await until(() => pings.length > count);
  });

  it('LoopLag reports the worst lateness once and starts afresh', async () => {
    const lag = new LoopLag(20);
    lag.start();
    await sleep(50);
    busy(200);
    await sleep(30);
    expect(lag.takeMax()).toBeGreaterThanOrEqual(150);
    await sleep(60);
    expect(lag.takeMax()).toBeLessThan(150);
    lag.stop();
  });
});
