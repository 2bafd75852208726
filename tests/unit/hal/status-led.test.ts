import { describe, expect, it } from 'vitest';
import { HalError, createSimLed, createStatusLed, levelAt, patternFor, type LedDriver } from '../../../hal/index.js';
import { FakeClock } from '../../fixtures/hal/fake-clock.js';

function setup(options: { drivers?: LedDriver[] } = {}) {
  const clock = new FakeClock();
  const led = createSimLed({ now: clock.now });
  const errors: Array<{ err: unknown; id: string }> = [];
  const status = createStatusLed({
    drivers: options.drivers ?? [led],
    now: clock.now,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    onError: (err, id) => errors.push({ err, id }),
  });
  const t0 = clock.now();
  // History as offsets from the start, easier to read than epoch milliseconds.
  const history = () => led.history.map((c) => [c.at - t0, c.on]);
  return { clock, led, status, errors, t0, history };
}

describe('StatusLed', () => {
  it('shows booting (100/100) from start() and drives the LED through each edge', async () => {
    const { clock, status, history } = setup();
    await status.start();
    await clock.advance(450);
    expect(history()).toEqual([[0, true], [100, false], [200, true], [300, false], [400, true]]);
    expect(status.current()).toMatchObject({ state: 'booting', since: clock.now() - 450, drivers: ['sim'], level: true });
  });

  it('holds a constant pattern without scheduling timers', async () => {
    const { clock, led, status } = setup();
    status.show('ready');
    await status.start();
    await clock.advance(10);
    expect(led.level).toBe(true);
    expect(clock.pending).toBe(0);
    await clock.advance(60_000);
    expect(led.history).toHaveLength(1);
  });

  it('switches pattern on show(), restarting its phase, and ignores a repeated show()', async () => {
    const { clock, status, history } = setup();
    await status.start();
    await clock.advance(150); // booting: on 0–100, off from 100
    status.show('degraded'); // at 150: on for 500
    const since = status.current().since;
    await clock.advance(300);
    status.show('degraded'); // same state: no phase reset
    expect(status.current().since).toBe(since);
    await clock.advance(800);
    expect(history()).toEqual([[0, true], [100, false], [150, true], [650, false], [1150, true]]);
    expect(status.current().steps).toBe(patternFor('degraded'));
  });

  it('does not drift: with every timer firing late, each change still matches the pattern', async () => {
    const clock = new FakeClock();
    const led = createSimLed({ now: clock.now });
    // An event loop that is always 7 ms late. A runner that scheduled "100 ms after the last
    // tick" would slip 7 ms per edge and be out of phase within a few seconds of SOS.
    const status = createStatusLed({
      drivers: [led], now: clock.now, clearTimeout: clock.clearTimeout,
      setTimeout: (fn, ms) => clock.setTimeout(fn, ms + 7),
    });
    status.show('fault');
    await status.start();
    const since = status.current().since;
    await clock.advance(60_050);
    const steps = patternFor('fault');
    expect(led.history.length).toBeGreaterThan(200);
    for (const change of led.history) {
      const t = (change.at - since) % 5100;
      // A change made up to 7 ms late shows the level of the step that began just before it.
      expect(levelAt(steps, change.at - since - 7)).toBe(change.on);
      expect(t).toBeGreaterThanOrEqual(0);
    }
    // 60.05 s is 11 whole periods + 3950 ms: inside the third dot of the second S.
    expect(levelAt(steps, clock.now() - since)).toBe(true);
    expect(led.level).toBe(true);
  });

  it('reports a failing driver once per streak and keeps driving the others', async () => {
    const clock = new FakeClock();
    const good = createSimLed({ id: 'good', now: clock.now });
    const bad = createSimLed({ id: 'bad', now: clock.now });
    const errors: string[] = [];
    const status = createStatusLed({
      drivers: [bad, good], now: clock.now, setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout,
      onError: (err, id) => errors.push(`${id}:${(err as HalError).code}`),
    });
    await status.start();
    bad.simulateFailure(true);
    await clock.advance(1000); // ten more edges, all failing on `bad`
    expect(errors).toEqual(['bad:HAL_ERR_IO']);
    expect(good.history).toHaveLength(11);
    bad.simulateFailure(false);
    await clock.advance(100);
    bad.simulateFailure(true);
    await clock.advance(100);
    expect(errors).toEqual(['bad:HAL_ERR_IO', 'bad:HAL_ERR_IO']);
  });

  it('leaves out a driver that cannot open, and survives a throwing onError', async () => {
    const clock = new FakeClock();
    const good = createSimLed({ id: 'good', now: clock.now });
    const missing: LedDriver = {
      id: 'sysfs:nope',
      open: async () => { throw new HalError('HAL_ERR_UNAVAILABLE', 'no LED'); },
      set: async () => { throw new Error('must not be called'); },
      close: async () => undefined,
    };
    const status = createStatusLed({
      drivers: [missing, good], now: clock.now, setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout,
      onError: () => { throw new Error('logger broke'); },
    });
    await status.start();
    await clock.advance(250);
    expect(status.current().drivers).toEqual(['good']);
    expect(good.history.map((c) => c.on)).toEqual([true, false, true]);
  });

  it('coalesces blinks behind a slow driver instead of queueing them', async () => {
    const clock = new FakeClock();
    const writes: boolean[] = [];
    let release: (() => void) | null = null;
    const slow: LedDriver = {
      id: 'slow',
      open: async () => undefined,
      set: (on) => { writes.push(on); return new Promise<void>((resolve) => { release = resolve; }); },
      close: async () => undefined,
    };
    const status = createStatusLed({ drivers: [slow], now: clock.now, setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout });
    await status.start();
    await clock.advance(550); // five edges pass while the first write hangs
    expect(writes).toEqual([true]);
    (release as (() => void) | null)?.();
    await clock.advance(0);
    // Only the level wanted now (550 ms: off) is written next.
    expect(writes).toEqual([true, false]);
  });

  it('stop() darkens and closes the drivers, stops the timers, and is idempotent', async () => {
    const { clock, led, status } = setup();
    await status.start();
    await clock.advance(50);
    expect(led.level).toBe(true);
    await status.stop({ deadline: clock.now() + 1000 });
    expect(led.level).toBe(false);
    expect(led.isOpen).toBe(false);
    expect(clock.pending).toBe(0);
    expect(status.current().level).toBeNull();
    await status.stop({ deadline: clock.now() + 1000 });
    status.show('fault'); // recorded, not shown
    expect(led.isOpen).toBe(false);
    expect(status.current().state).toBe('fault');
  });

  it('stop() gives up at the deadline when a driver hangs', async () => {
    const clock = new FakeClock();
    const hung: LedDriver = {
      id: 'hung', open: async () => undefined, set: async () => undefined, close: () => new Promise<void>(() => undefined),
    };
    const status = createStatusLed({ drivers: [hung], now: clock.now, setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout });
    await status.start();
    let stopped = false;
    const stopping = status.stop({ deadline: clock.now() + 500 }).then(() => { stopped = true; });
    await clock.advance(499);
    expect(stopped).toBe(false);
    await clock.advance(1);
    await stopping;
    expect(stopped).toBe(true);
  });

  it('can be started again after stop()', async () => {
    const { clock, led, status } = setup();
    await status.start();
    await status.stop({ deadline: clock.now() + 100 });
    status.show('degraded');
    await status.start();
    await clock.advance(600);
    expect(led.isOpen).toBe(true);
    expect(led.level).toBe(false);
    expect(status.current()).toMatchObject({ state: 'degraded', level: false });
  });

  it('opens each driver once when start() calls overlap, and stop() waits for a pending start', async () => {
    const clock = new FakeClock();
    let opens = 0;
    const led = createSimLed({ now: clock.now });
    const counting: LedDriver = { id: 'counting', open: async () => { opens++; await led.open(); }, set: (on) => led.set(on), close: () => led.close() };
    const status = createStatusLed({ drivers: [counting], now: clock.now, setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout });
    const starts = [status.start(), status.start()];
    await status.stop({ deadline: clock.now() + 100 });
    await Promise.all(starts);
    expect(opens).toBe(1);
    expect(led.isOpen).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('rejects an unknown state from untyped callers', () => {
    const { status } = setup();
    expect(() => status.show('party' as never)).toThrow(RangeError);
  });
});
