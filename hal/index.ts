// Public face of the hardware abstraction layer. Importing it has no side effects and loads no
// native code: onoff is imported only inside createOnoffGpio's first use, the sd_notify addon
// only on the first notify(). hal/ imports nothing else of ours (an architecture test checks).
export { HAL_ERROR_CODES, HalError, isHalError } from './errors.js';
export type { HalErrorCode } from './errors.js';
export * from './leds/index.js';
export * from './gpio/index.js';
export * from './button/index.js';
export * from './watchdog/index.js';
export * from './system/index.js';
export * from './wallet/index.js';
