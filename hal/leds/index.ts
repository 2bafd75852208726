// Public face of hal/leds: the pure pattern engine, the LED driver interface, its drivers and
// the status-LED runner that the supervisor owns.
export { LED_STATES, isConstant, isLedState, levelAt, msUntilChange, patternFor, periodMs } from './patterns.js';
export type { LedState, LedStep } from './patterns.js';
export type { LedDriver } from './types.js';
export { activeTrigger, createSysfsLed } from './sysfs-led.js';
export type { SysfsLedOptions } from './sysfs-led.js';
export { createGpioLed } from './gpio-led.js';
export type { GpioLedOptions } from './gpio-led.js';
export { createSimLed } from './sim-led.js';
export type { LedChange, SimLed, SimLedOptions } from './sim-led.js';
export { StatusLed, createStatusLed } from './status-led.js';
export type { StatusLedDeps, StatusLedSnapshot } from './status-led.js';
