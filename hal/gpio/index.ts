// Public face of hal/gpio: the pin interface, the Bookworm base-offset logic, the real (onoff,
// loaded lazily) and the simulated factory.
export type { GpioFactory, GpioInput, GpioInputOptions, GpioOutput } from './types.js';
export { HEADER_CHIP_LABELS, MIN_HEADER_LINES, gpioBase, headerChip, readGpioChips, sysfsGpioNumber } from './chip-base.js';
export type { GpioChip } from './chip-base.js';
export { createOnoffGpio } from './onoff-gpio.js';
export type { OnoffGpioLike, OnoffGpioOptions, OnoffModuleLike } from './onoff-gpio.js';
export { createSimGpio } from './sim-gpio.js';
export type { SimGpio, SimGpioOptions } from './sim-gpio.js';
