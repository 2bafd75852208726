import { describe, expect, it } from 'vitest';
import {
  LED_STATES, isConstant, isLedState, levelAt, msUntilChange, patternFor, periodMs, type LedStep,
} from '../../../hal/index.js';

const blink: LedStep[] = [{ on: true, ms: 100 }, { on: false, ms: 300 }];

describe('patternFor', () => {
  it('gives the documented pattern for each state', () => {
    expect(patternFor('booting')).toEqual([{ on: true, ms: 100 }, { on: false, ms: 100 }]);
    expect(patternFor('ready')).toEqual([{ on: true, ms: 1000 }]);
    expect(patternFor('degraded')).toEqual([{ on: true, ms: 500 }, { on: false, ms: 500 }]);
    expect(patternFor('updating')).toEqual([
      { on: true, ms: 150 }, { on: false, ms: 150 }, { on: true, ms: 150 }, { on: false, ms: 1050 },
    ]);
    expect(patternFor('lockdown')).toEqual([
      { on: true, ms: 800 }, { on: false, ms: 200 }, { on: true, ms: 800 }, { on: false, ms: 1200 },
    ]);
  });

  it('spells SOS in Morse for fault: three dots, three dashes, three dots', () => {
    const fault = patternFor('fault');
    const flashes = fault.filter((s) => s.on).map((s) => (s.ms === 150 ? '.' : s.ms === 450 ? '-' : '?')).join('');
    expect(flashes).toBe('...---...');
    // Letter gaps of 3 units after S and O, the 7-unit word gap before it repeats.
    expect(fault[5]).toEqual({ on: false, ms: 450 });
    expect(fault[11]).toEqual({ on: false, ms: 450 });
    expect(fault[17]).toEqual({ on: false, ms: 1050 });
    expect(periodMs(fault)).toBe(5100);
  });

  it('gives every state a distinct pattern, frozen against callers', () => {
    const shapes = new Set(LED_STATES.map((s) => JSON.stringify(patternFor(s))));
    expect(shapes.size).toBe(LED_STATES.length);
    expect(Object.isFrozen(patternFor('fault'))).toBe(true);
    expect(Object.isFrozen(patternFor('fault')[0])).toBe(true);
  });

  it('rejects unknown states', () => {
    expect(() => patternFor('party' as never)).toThrow(RangeError);
    expect(isLedState('fault')).toBe(true);
    expect(isLedState('party')).toBe(false);
    expect(isLedState(3)).toBe(false);
  });
});

describe('levelAt', () => {
  it('follows the steps within the first period', () => {
    expect(levelAt(blink, 0)).toBe(true);
    expect(levelAt(blink, 99)).toBe(true);
    expect(levelAt(blink, 100)).toBe(false);
    expect(levelAt(blink, 399)).toBe(false);
    expect(levelAt(blink, 400)).toBe(true);
  });

  it('repeats far beyond the first period (a week of uptime)', () => {
    const week = 7 * 24 * 3600 * 1000;
    expect(levelAt(blink, week)).toBe(true); // a multiple of 400
    expect(levelAt(blink, week + 150)).toBe(false);
    expect(levelAt(patternFor('fault'), 5100 * 1_000_000 + 5)).toBe(true);
    expect(levelAt(patternFor('fault'), 5100 * 1_000_000 + 151)).toBe(false);
  });

  it('treats negative and non-finite elapsed times as the start', () => {
    expect(levelAt(blink, -50)).toBe(true);
    expect(levelAt(blink, Number.NaN)).toBe(true);
    expect(levelAt(blink, Infinity)).toBe(true);
  });

  it('guards zero-length patterns: empty or all-zero steps are off, never NaN or a hang', () => {
    expect(levelAt([], 1234)).toBe(false);
    expect(levelAt([{ on: true, ms: 0 }, { on: false, ms: 0 }], 10)).toBe(false);
    expect(periodMs([{ on: true, ms: 0 }])).toBe(0);
    // Zero, negative and non-finite steps are skipped, the rest still works.
    const mixed: LedStep[] = [{ on: true, ms: 0 }, { on: false, ms: 50 }, { on: true, ms: -5 }, { on: true, ms: 50 }, { on: false, ms: Infinity }];
    expect(periodMs(mixed)).toBe(100);
    expect(levelAt(mixed, 10)).toBe(false);
    expect(levelAt(mixed, 60)).toBe(true);
  });
});

describe('msUntilChange', () => {
  it('counts down to the next edge', () => {
    expect(msUntilChange(blink, 0)).toBe(100);
    expect(msUntilChange(blink, 30)).toBe(70);
    expect(msUntilChange(blink, 100)).toBe(300);
    expect(msUntilChange(blink, 399)).toBe(1);
    expect(msUntilChange(blink, 400 * 1000 + 250)).toBe(150);
  });

  it('merges consecutive steps of the same level, across the period boundary', () => {
    const steps: LedStep[] = [{ on: true, ms: 100 }, { on: true, ms: 50 }, { on: false, ms: 100 }, { on: false, ms: 25 }];
    expect(msUntilChange(steps, 0)).toBe(150);
    expect(msUntilChange(steps, 200)).toBe(75); // 50 left of the first off step + 25
    const wrap: LedStep[] = [{ on: true, ms: 100 }, { on: false, ms: 100 }, { on: true, ms: 100 }];
    expect(msUntilChange(wrap, 250)).toBe(150); // rest of the last on step + the first one
  });

  it('is Infinity for constant patterns', () => {
    expect(msUntilChange(patternFor('ready'), 12345)).toBe(Infinity);
    expect(msUntilChange([{ on: false, ms: 10 }, { on: false, ms: 20 }], 0)).toBe(Infinity);
    expect(msUntilChange([], 0)).toBe(Infinity);
    expect(isConstant([{ on: true, ms: 0 }, { on: false, ms: 10 }])).toBe(true);
    expect(isConstant(blink)).toBe(false);
  });

  it('agrees with levelAt: the level holds until the change and flips at it', () => {
    for (const state of LED_STATES) {
      const steps = patternFor(state);
      if (isConstant(steps)) continue;
      for (let t = 0; t < 2 * periodMs(steps); t += 37) {
        const wait = msUntilChange(steps, t);
        expect(levelAt(steps, t + wait - 1)).toBe(levelAt(steps, t));
        expect(levelAt(steps, t + wait)).toBe(!levelAt(steps, t));
      }
    }
  });
});
