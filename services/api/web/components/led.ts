// The status LED, drawn as a circle that follows the device's real pattern: the level is
// recomputed every animation frame from the steps and the moment the pattern began, exactly as
// the device's LED runner does, so the page and the physical LED blink in step (give or take
// clock skew, which the API wrapper measures). A solid pattern is set once and not animated.
import { h, setAttr, setText } from '../dom.js';
// The device's own pattern engine (pure, no imports), so the page cannot drift from the LED.
import { isConstant, levelAt } from '../../../../hal/leds/patterns.js';
import type { LedStatus } from '../types.js';

export interface LedView {
  readonly el: HTMLElement;
  update(led: LedStatus | null, clockSkewMs: number): void;
  destroy(): void;
}

const DESCRIPTIONS: Record<string, string> = {
  booting: 'Fast flicker: starting up',
  ready: 'Solid: all good',
  degraded: 'Slow blink: running with a problem',
  updating: 'Double pulse: installing an update',
  fault: 'SOS: a critical process failed',
  lockdown: 'Long double pulse: emergency lockdown',
  'reset-pending': 'Four quick flashes: press the button again to confirm the factory reset',
};

export function createLed(): LedView {
  const lamp = h('span', { class: 'led', 'data-testid': 'led', 'data-level': 'off', 'data-state': 'unknown', role: 'img', 'aria-label': 'Status LED' });
  const state = h('strong', { class: 'led-state', 'data-testid': 'led-state' }, '—');
  const description = h('span', { class: 'muted' }, '');
  const drivers = h('span', { 'data-testid': 'led-drivers' }, '—');
  const el = h('div', { class: 'led-view' },
    lamp,
    h('div', { class: 'led-text' }, state, description, h('span', { class: 'muted small' }, 'Drivers: ', drivers)),
  );

  let current: LedStatus | null = null;
  let skew = 0;
  let frame = 0;

  const paint = (): void => {
    frame = 0;
    if (!current) return;
    // Device time now = browser time + skew.
    const on = levelAt(current.steps, Date.now() + skew - current.since);
    setAttr(lamp, 'data-level', on ? 'on' : 'off');
    if (!isConstant(current.steps)) frame = requestAnimationFrame(paint);
  };

  return {
    el,
    update(led, clockSkewMs) {
      skew = clockSkewMs;
      const changed = !current || !led || led.state !== current.state || led.since !== current.since
        || JSON.stringify(led.steps) !== JSON.stringify(current.steps);
      current = led;
      if (!led) {
        setAttr(lamp, 'data-state', 'unknown');
        setAttr(lamp, 'data-level', 'off');
        setText(state, 'unknown');
        setText(description, 'The supervisor has not reported the LED yet');
        setText(drivers, '—');
        return;
      }
      setAttr(lamp, 'data-state', led.state);
      setAttr(lamp, 'aria-label', `Status LED: ${led.state}`);
      setText(state, led.state);
      setText(description, DESCRIPTIONS[led.state] ?? '');
      setText(drivers, led.drivers.length ? led.drivers.join(', ') : 'none');
      if (changed) {
        cancelAnimationFrame(frame);
        paint();
      }
    },
    destroy() {
      cancelAnimationFrame(frame);
      current = null;
    },
  };
}
