// Runs the LED contract against every LED driver: simulated, sysfs on fake trees (a GPIO-backed
// LED with max_brightness 1 and a PWM one with 255), the GPIO LED on simulated pins, and — with
// LUCID_HAL_TEST_REAL=1 on a Pi — the board's own ACT LED.
import { readFile } from 'node:fs/promises';
import { createGpioLed, createSimGpio, createSimLed, createSysfsLed } from '../../../hal/index.js';
import { addLed, makeTempRoot, readLed, removeTempRoot } from '../../fixtures/hal/fake-sysfs.js';
import { describeLedContract } from './led-contract.js';
import { REAL, realLedName } from './real-env.js';

describeLedContract('sim', async () => {
  const led = createSimLed();
  return { driver: led, level: async () => led.level };
});

for (const max of [1, 255]) {
  describeLedContract(`sysfs on a fake tree (max_brightness ${max})`, async () => {
    const root = await makeTempRoot();
    await addLed(root, 'ACT', { trigger: 'none [mmc0] timer heartbeat', maxBrightness: max });
    return {
      driver: createSysfsLed({ name: 'ACT', root }),
      level: async () => {
        const { brightness } = await readLed(root, 'ACT');
        return Number(brightness) > 0;
      },
      cleanup: () => removeTempRoot(root),
    };
  });
}

describeLedContract('gpio on simulated pins', async () => {
  const gpio = createSimGpio();
  return { driver: createGpioLed({ gpio, pin: 17 }), level: async () => gpio.outputLevel(17) ?? false };
});

describeLedContract('gpio on simulated pins (active low)', async () => {
  const gpio = createSimGpio();
  return {
    driver: createGpioLed({ gpio, pin: 22, activeLow: true }),
    // The pin sinks the LED's current: electrically low means lit. Never opened = dark.
    level: async () => (gpio.outputLevel(22) === null ? false : gpio.outputLevel(22) === false),
  };
});

if (REAL) {
  describeLedContract(`sysfs on this Pi (${realLedName()})`, async () => {
    const dir = `/sys/class/leds/${realLedName()}`;
    return {
      driver: createSysfsLed({ name: realLedName() }),
      // Only observable while we own it (trigger none); afterwards the kernel trigger drives it.
      level: async () => {
        const trigger = await readFile(`${dir}/trigger`, 'utf8');
        if (!trigger.includes('[none]')) return null;
        return Number(await readFile(`${dir}/brightness`, 'utf8')) > 0;
      },
    };
  });
}
