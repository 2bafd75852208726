// Public face of hal/watchdog: the interface, the /dev/watchdog driver and the simulated one.
export type { WatchdogDriver } from './types.js';
export { createDevWatchdog } from './dev-watchdog.js';
export type { DevWatchdogOptions } from './dev-watchdog.js';
export { createSimWatchdog } from './sim-watchdog.js';
export type { SimWatchdog, SimWatchdogOptions } from './sim-watchdog.js';
