// Runs the button contract against the simulated button and against the GPIO button on
// simulated pins, where a fake clock supplies both the hold time and the GPIO debounce timers,
// so a 25 s factory-reset hold takes no real time.
import { createGpioButton, createSimButton, createSimGpio } from '../../../hal/index.js';
import { FakeClock } from '../../fixtures/hal/fake-clock.js';
import { describeButtonContract } from './button-contract.js';

describeButtonContract('sim', async () => {
  const button = createSimButton();
  return { driver: button, pressFor: async (ms) => void button.pressFor(ms) };
});

describeButtonContract('gpio on simulated pins (active low, 20 ms debounce)', async () => {
  const clock = new FakeClock();
  const gpio = createSimGpio({ setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout });
  const pin = 27;
  const driver = createGpioButton({ gpio, pin, debounceMs: 20, now: clock.now });
  return {
    driver,
    pressFor: async (ms) => {
      // Pressed pulls the pulled-up line to ground.
      gpio.simulate(pin, false);
      await clock.advance(ms);
      gpio.simulate(pin, true);
      await clock.advance(100);
    },
  };
});
