// Runs the GPIO contract against the simulated factory. onoff hard-codes /sys/class/gpio and
// cannot be pointed at a fake tree, so the real factory runs only on a Pi with
// LUCID_HAL_TEST_REAL=1 and a jumper between LUCID_HAL_TEST_GPIO_IN and _DRIVE.
import { createOnoffGpio, createSimGpio, type GpioOutput } from '../../../hal/index.js';
import { describeGpioContract } from './gpio-contract.js';
import { REAL, realPin } from './real-env.js';

describeGpioContract('sim', async () => {
  const factory = createSimGpio({ onError: () => undefined });
  return {
    factory,
    outputPin: 17,
    inputPin: 27,
    missingPin: 54,
    driveInput: async (high) => factory.simulate(27, high),
    outputLevel: async () => factory.outputLevel(17),
    settleMs: 60,
  };
});

if (REAL) {
  describeGpioContract('onoff on this Pi', async () => {
    const factory = createOnoffGpio({ onError: () => undefined });
    const [outputPin, inputPin, drivePin] = [realPin('OUT', 23), realPin('IN', 24), realPin('DRIVE', 25)];
    let drive: GpioOutput | null = null;
    return {
      factory,
      outputPin,
      inputPin,
      missingPin: 200,
      driveInput: async (high) => {
        drive ??= await factory.output(drivePin);
        await drive.write(high);
      },
      outputLevel: async () => null,
      settleMs: 150,
      cleanup: async () => {
        await drive?.close();
      },
    };
  });
}
