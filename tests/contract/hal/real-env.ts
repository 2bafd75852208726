// Switches for running the contract suites against real hardware on a Raspberry Pi:
//   LUCID_HAL_TEST_REAL=1            enable the real-hardware runs (skipped everywhere else)
//   LUCID_HAL_TEST_LED=ACT           on-board LED under /sys/class/leds to blink (default ACT)
//   LUCID_HAL_TEST_GPIO_OUT=23       a free pin used as an output under test
//   LUCID_HAL_TEST_GPIO_IN=24        a free pin used as an input under test …
//   LUCID_HAL_TEST_GPIO_DRIVE=25     … wired with a jumper to this pin, which the harness drives
// See hal/README.md ("Running the contract tests on a Pi").

export const REAL = process.env['LUCID_HAL_TEST_REAL'] === '1';

export function realPin(name: 'OUT' | 'IN' | 'DRIVE', fallback: number): number {
  const text = process.env[`LUCID_HAL_TEST_GPIO_${name}`];
  if (text === undefined || text === '') return fallback;
  const pin = Number(text);
  if (!Number.isInteger(pin) || pin < 0) throw new Error(`LUCID_HAL_TEST_GPIO_${name} must be a BCM pin number: ${text}`);
  return pin;
}

export const realLedName = (): string => process.env['LUCID_HAL_TEST_LED'] || 'ACT';
