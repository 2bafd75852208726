import { describe, expect, it } from 'vitest';
import {
  BUTTON_ACTIONS, PressTracker, classifyPress, createGpioButton, createSimButton, createSimGpio, isButtonAction, typicalPressMs,
  type ButtonAction,
} from '../../../hal/index.js';
import { FakeClock } from '../../fixtures/hal/fake-clock.js';

describe('classifyPress', () => {
  it('maps hold times to actions at the documented boundaries', () => {
    expect(classifyPress(0)).toBe('short');
    expect(classifyPress(2999)).toBe('short');
    expect(classifyPress(3000)).toBe('long');
    expect(classifyPress(9999)).toBe('long');
    expect(classifyPress(10_000)).toBe('factory-reset');
    expect(classifyPress(Infinity)).toBe('factory-reset');
    expect(() => classifyPress(Number.NaN)).toThrow(RangeError);
  });

  it('has a typical hold for every action that classifies back to it', () => {
    for (const action of BUTTON_ACTIONS) expect(classifyPress(typicalPressMs(action))).toBe(action);
    expect(isButtonAction('long')).toBe(true);
    expect(isButtonAction('double')).toBe(false);
  });
});

describe('PressTracker', () => {
  it('turns press/release timestamps into durations', () => {
    const t = new PressTracker();
    expect(t.update(true, 1000)).toBeNull();
    expect(t.isPressed).toBe(true);
    expect(t.heldFor(1500)).toBe(500);
    expect(t.update(false, 4200)).toBe(3200);
    expect(t.heldFor(5000)).toBeNull();
  });

  it('ignores bounces under 30 ms, duplicate levels and a release without a press', () => {
    const t = new PressTracker();
    expect(t.update(false, 0)).toBeNull();
    expect(t.update(true, 100)).toBeNull();
    expect(t.update(true, 120)).toBeNull(); // duplicate: the press still began at 100
    expect(t.update(false, 129)).toBeNull(); // 29 ms: a bounce
    expect(t.update(true, 200)).toBeNull();
    expect(t.update(false, 230)).toBe(30);
    expect(t.update(false, 240)).toBeNull();
  });

  it('honours a custom bounce threshold and rejects time going backwards', () => {
    const t = new PressTracker({ bounceMs: 100 });
    t.update(true, 0);
    expect(t.update(false, 99)).toBeNull();
    t.update(true, 1000);
    expect(t.update(false, 900)).toBeNull();
  });

  it('does not time a press that was already held when tracking began', () => {
    const t = new PressTracker({ initiallyPressed: true });
    expect(t.heldFor(20_000)).toBeNull();
    expect(t.update(false, 20_000)).toBeNull(); // held since boot: not a factory reset
    t.update(true, 21_000);
    expect(t.update(false, 21_400)).toBe(400);
  });
});

describe('GPIO button details', () => {
  it('ignores the release of a press held since before start()', async () => {
    const clock = new FakeClock();
    const gpio = createSimGpio();
    gpio.simulate(27, false); // already held (active low)
    const button = createGpioButton({ gpio, pin: 27, debounceMs: 0, now: clock.now });
    const seen: ButtonAction[] = [];
    button.onAction((a) => seen.push(a));
    await button.start();
    await clock.advance(15_000);
    gpio.simulate(27, true);
    gpio.simulate(27, false);
    await clock.advance(200);
    gpio.simulate(27, true);
    expect(seen).toEqual(['short']);
    expect(button.id).toBe('gpio:27');
  });

  it('supports an active-high button and frees the pin on stop()', async () => {
    const clock = new FakeClock();
    const gpio = createSimGpio();
    const button = createGpioButton({ gpio, pin: 5, activeLow: false, debounceMs: 0, now: clock.now });
    const seen: Array<[ButtonAction, number]> = [];
    button.onAction((a, ms) => seen.push([a, ms]));
    await button.start();
    expect(gpio.isOpen(5)).toBe(true);
    gpio.simulate(5, true);
    await clock.advance(3500);
    gpio.simulate(5, false);
    await button.stop();
    expect(gpio.isOpen(5)).toBe(false);
    expect(seen).toEqual([['long', 3500]]);
  });

  it('start() rejects with HAL_ERR_UNAVAILABLE when the pin is taken', async () => {
    const gpio = createSimGpio();
    await gpio.output(27);
    await expect(createGpioButton({ gpio, pin: 27 }).start()).rejects.toMatchObject({ code: 'HAL_ERR_UNAVAILABLE' });
  });

  it('reports throwing listeners through onError', async () => {
    const gpio = createSimGpio();
    const clock = new FakeClock();
    const errors: unknown[] = [];
    const button = createGpioButton({ gpio, pin: 6, debounceMs: 0, now: clock.now, onError: (e) => errors.push(e) });
    button.onAction(() => { throw new Error('boom'); });
    await button.start();
    gpio.simulate(6, false);
    await clock.advance(100);
    gpio.simulate(6, true);
    expect(errors).toEqual([expect.objectContaining({ message: 'boom' })]);
  });
});

describe('simulated button details', () => {
  it('press(action) delivers the action with a typical hold, only while started', async () => {
    const button = createSimButton();
    const seen: Array<[ButtonAction, number]> = [];
    button.onAction((a, ms) => seen.push([a, ms]));
    expect(button.press('long')).toBe(false);
    await button.start();
    expect(button.started).toBe(true);
    expect(button.press('long')).toBe(true);
    expect(button.press('factory-reset', 12_345)).toBe(true);
    expect(() => button.press('short', 5000)).toThrow(RangeError);
    expect(seen).toEqual([['long', 4000], ['factory-reset', 12_345]]);
    expect(button.pressFor(10)).toBeNull();
    expect(button.pressFor(3000)).toBe('long');
  });
});
