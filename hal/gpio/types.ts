// The GPIO interface: a factory that hands out single pins as outputs or inputs. Pins are BCM
// numbers (GPIO17 is header pin 11), never sysfs numbers: translating to the kernel's numbering
// (the Bookworm gpiochip base offset) is the real driver's business, see chip-base.ts.
//
// The contract every factory keeps (tests/contract/hal/gpio-contract.ts):
// - output()/input() reject with HAL_ERR_UNAVAILABLE for a pin that does not exist, a pin that is
//   already open through this factory, or when GPIO is not usable on this machine.
// - Levels are logical: an input opened with activeLow reads true while the pin is low (a
//   pressed button pulling a pulled-up line to ground). Outputs are always active high.
// - watch() callbacks get the logical level after each debounced change, on both edges.
// - After close() a pin's methods reject with HAL_ERR_UNAVAILABLE (read/write) and watchers stop;
//   close() is idempotent and frees the pin for another output()/input().

export interface GpioOutput {
  /** BCM pin number. */
  readonly pin: number;
  write(on: boolean): Promise<void>;
  close(): Promise<void>;
}

export interface GpioInputOptions {
  /** Both edges: a button needs the press and the release to time the press. */
  readonly edge: 'both';
  /** Invert the level (true = reads true while the pin is electrically low). */
  readonly activeLow: boolean;
  /** Report a change only after the line has been stable this long (contact bounce). */
  readonly debounceMs: number;
}

export interface GpioInput {
  /** BCM pin number. */
  readonly pin: number;
  /** The current logical level. */
  read(): Promise<boolean>;
  /** Adds a listener for logical level changes. Listeners are dropped on close(). */
  watch(cb: (level: boolean) => void): void;
  close(): Promise<void>;
}

export interface GpioFactory {
  /** Which implementation this is: 'sim' or 'onoff' (shown in snapshots and logs). */
  readonly kind: string;
  output(bcmPin: number): Promise<GpioOutput>;
  input(bcmPin: number, options: GpioInputOptions): Promise<GpioInput>;
}
