// The button's factory reset as a pure state machine (appliance/supervisor/factory-reset.ts).
import { describe, expect, it } from 'vitest';
import { DISARMED, expire, pressForReset } from '../../../appliance/supervisor/factory-reset.js';

const W = 30_000;

describe('factory reset confirmation', () => {
  it('a ≥ 10 s press only arms it; a second press of any length within the window confirms it', () => {
    const armed = pressForReset(DISARMED, 'factory-reset', 1000, W);
    expect(armed).toEqual({ effect: 'armed', next: { armedAt: 1000, until: 31_000 } });
    for (const action of ['short', 'long', 'factory-reset'] as const) {
      expect(pressForReset(armed.next, action, 31_000, W)).toEqual({ effect: 'confirmed', next: DISARMED, armedAt: 1000 });
    }
  });

  it('is cancelled when the window passes without a press; a late press arms nothing by itself', () => {
    const armed = pressForReset(DISARMED, 'factory-reset', 1000, W).next;
    expect(expire(armed, 31_000)).toBe(armed);
    expect(expire(armed, 31_001)).toEqual(DISARMED);
    expect(pressForReset(armed, 'short', 31_001, W)).toEqual({ effect: 'none', next: DISARMED });
    // A late ≥ 10 s press starts a new request rather than confirming the old one.
    expect(pressForReset(armed, 'factory-reset', 40_000, W)).toEqual({ effect: 'armed', next: { armedAt: 40_000, until: 70_000 } });
  });

  it('short and long presses never arm it', () => {
    expect(pressForReset(DISARMED, 'short', 1, W).effect).toBe('none');
    expect(pressForReset(DISARMED, 'long', 1, W).effect).toBe('none');
  });
});
