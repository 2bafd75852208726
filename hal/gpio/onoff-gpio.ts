// The real GPIO factory, on onoff (sysfs GPIO + epoll for edge interrupts). onoff is an
// optionalDependency with a native part (epoll), so it is loaded here only, with a dynamic
// import on first use: simulated mode, the web UI and the tests never load native code.
//
// onoff hard-codes /sys/class/gpio, so unlike the LED and watchdog drivers this one cannot be
// pointed at a fake tree. Its contract suite therefore runs here against the simulated factory
// only, and against this driver on a real Pi with LUCID_HAL_TEST_REAL=1 (see hal/README.md).
// The base-offset and option mapping is unit tested through the injectable `load`.
import { HalError, describeError, errnoOf, ioError, notOpenError, openError } from '../errors.js';
import { headerChip, readGpioChips, sysfsGpioNumber, type GpioChip } from './chip-base.js';
import type { GpioFactory, GpioInput, GpioInputOptions, GpioOutput } from './types.js';

/** The slice of onoff's Gpio this driver uses (structural, so tests can inject a double). */
export interface OnoffGpioLike {
  read(): Promise<0 | 1>;
  write(value: 0 | 1): Promise<void>;
  watch(callback: (err: Error | null | undefined, value: 0 | 1) => void): void;
  unwatchAll(): void;
  unexport(): void;
}

export interface OnoffModuleLike {
  readonly Gpio: {
    new (gpio: number, direction: 'in' | 'out', edge?: 'none' | 'both', options?: { debounceTimeout?: number; activeLow?: boolean }): OnoffGpioLike;
    readonly accessible: boolean;
  };
}

export interface OnoffGpioOptions {
  /** Root for reading /sys/class/gpio/gpiochip* (the base offset). Default '/'. */
  readonly root?: string;
  /** Loads onoff. Default: `await import('onoff')`. */
  readonly load?: () => Promise<OnoffModuleLike>;
  /** Reports errors delivered to watch callbacks (epoll failures), which have no caller. */
  readonly onError?: (err: unknown, pin: number) => void;
}

async function loadOnoff(): Promise<OnoffModuleLike> {
  const mod = (await import('onoff')) as unknown as Partial<OnoffModuleLike> & { default?: OnoffModuleLike };
  // onoff is CommonJS: Node exposes `Gpio` as a named export, bundlers sometimes only `default`.
  const Gpio = mod.Gpio ?? mod.default?.Gpio;
  if (!Gpio) throw new Error('onoff does not export Gpio');
  return { Gpio };
}

class OnoffGpioFactory implements GpioFactory {
  readonly kind = 'onoff';
  private ready: Promise<{ onoff: OnoffModuleLike; chip: GpioChip }> | null = null;
  private readonly open = new Set<number>();

  constructor(private readonly options: OnoffGpioOptions) {}

  async output(pin: number): Promise<GpioOutput> {
    const gpio = await this.claim(pin, (onoff, n) => new onoff.Gpio(n, 'out'));
    let closed = false;
    return {
      pin,
      write: async (on) => {
        if (closed) throw notOpenError(`gpio:${pin}`);
        try {
          await gpio.write(on ? 1 : 0);
        } catch (err) {
          throw ioError(`gpio:${pin} write`, err);
        }
      },
      close: async () => {
        if (closed) return;
        closed = true;
        this.release(pin, gpio);
      },
    };
  }

  async input(pin: number, options: GpioInputOptions): Promise<GpioInput> {
    const gpio = await this.claim(pin, (onoff, n) => new onoff.Gpio(n, 'in', options.edge, {
      activeLow: options.activeLow,
      // onoff debounces with lodash.debounce (trailing); 0 means report every interrupt.
      debounceTimeout: Math.max(0, Math.round(options.debounceMs)),
    }));
    let closed = false;
    return {
      pin,
      read: async () => {
        if (closed) throw notOpenError(`gpio:${pin}`);
        try {
          return (await gpio.read()) === 1;
        } catch (err) {
          throw ioError(`gpio:${pin} read`, err);
        }
      },
      watch: (cb) => {
        if (closed) return;
        gpio.watch((err, value) => {
          if (err) {
            this.options.onError?.(ioError(`gpio:${pin} watch`, err), pin);
            return;
          }
          // This runs inside onoff's epoll callback, where a throw would be uncaught.
          try {
            cb(value === 1);
          } catch (cbErr) {
            this.options.onError?.(cbErr, pin);
          }
        });
      },
      close: async () => {
        if (closed) return;
        closed = true;
        gpio.unwatchAll();
        this.release(pin, gpio);
      },
    };
  }

  private async claim(pin: number, make: (onoff: OnoffModuleLike, sysfsNumber: number) => OnoffGpioLike): Promise<OnoffGpioLike> {
    const { onoff, chip } = await this.prepare();
    const number = sysfsGpioNumber(chip, pin);
    // onoff happily "opens" a pin that is already exported, so two owners would fight over it
    // silently; refuse the second one like the simulated factory does.
    if (this.open.has(pin)) throw new HalError('HAL_ERR_UNAVAILABLE', `gpio:${pin} is already open`);
    this.open.add(pin);
    try {
      return make(onoff, number);
    } catch (err) {
      this.open.delete(pin);
      // EINVAL from the export file means the kernel has no such GPIO number (a wrong base
      // offset, the bug this module exists to avoid); EBUSY means a kernel driver owns the pin.
      // Both say "this pin is not available", not "I/O failed".
      if (errnoOf(err) === 'EINVAL') {
        throw new HalError('HAL_ERR_UNAVAILABLE', `gpio:${pin} (sysfs ${number}): ${describeError(err)}`, { cause: err });
      }
      throw openError(`gpio:${pin} (sysfs ${number})`, err);
    }
  }

  private release(pin: number, gpio: OnoffGpioLike): void {
    this.open.delete(pin);
    try {
      gpio.unexport();
    } catch {
      // Unexport fails only if the pin vanished; nothing to hand back then.
    }
  }

  private prepare(): Promise<{ onoff: OnoffModuleLike; chip: GpioChip }> {
    this.ready ??= (async () => {
      const chip = headerChip(await readGpioChips(this.options.root ?? '/'));
      let onoff: OnoffModuleLike;
      try {
        onoff = await (this.options.load ?? loadOnoff)();
      } catch (err) {
        throw new HalError('HAL_ERR_UNAVAILABLE', `onoff cannot be loaded: ${describeError(err)}`, { cause: err });
      }
      if (!onoff.Gpio.accessible) {
        throw new HalError('HAL_ERR_UNAVAILABLE', 'sysfs GPIO is not accessible (/sys/class/gpio/export)');
      }
      return { onoff, chip };
    })();
    // A failed preparation is not cached: the pins may become available (udev, a late module).
    this.ready.catch(() => { this.ready = null; });
    return this.ready;
  }
}

export function createOnoffGpio(options: OnoffGpioOptions = {}): GpioFactory {
  return new OnoffGpioFactory(options);
}
