// An external status LED on a GPIO output (through the GPIO factory, so it runs on the real
// onoff pins on a Pi and on the simulated pins everywhere else). The LED is wired between the
// pin and ground through a resistor (active high) unless `activeLow` says it sinks into the pin.
import { notOpenError } from '../errors.js';
import type { GpioFactory, GpioOutput } from '../gpio/types.js';
import type { LedDriver } from './types.js';

export interface GpioLedOptions {
  readonly gpio: GpioFactory;
  /** BCM GPIO number (header numbering as on pinout.xyz, not the sysfs number). */
  readonly pin: number;
  /** True when the LED lights with the pin low (LED from 3V3 into the pin). Default false. */
  readonly activeLow?: boolean;
}

class GpioLed implements LedDriver {
  readonly id: string;
  private output: GpioOutput | null = null;
  private opening: Promise<GpioOutput> | null = null;

  constructor(private readonly options: GpioLedOptions) {
    this.id = `gpio:${options.pin}`;
  }

  async open(): Promise<void> {
    if (this.output) return;
    // Two overlapping open() calls must not request the pin twice (the second would be "busy").
    this.opening ??= this.options.gpio.output(this.options.pin);
    try {
      const output = await this.opening;
      this.output = output;
      await this.write(false);
    } finally {
      this.opening = null;
    }
  }

  async set(on: boolean): Promise<void> {
    await this.write(on);
  }

  async close(): Promise<void> {
    const output = this.output;
    if (!output) return;
    this.output = null;
    try {
      await output.write(this.options.activeLow === true);
    } finally {
      await output.close();
    }
  }

  private async write(on: boolean): Promise<void> {
    if (!this.output) throw notOpenError(this.id);
    await this.output.write(this.options.activeLow === true ? !on : on);
  }
}

export function createGpioLed(options: GpioLedOptions): LedDriver {
  return new GpioLed(options);
}
