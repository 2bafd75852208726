// An on-board LED through the kernel's LED class: /sys/class/leds/<name>/{trigger,brightness,
// max_brightness}. No native code. The kernel normally drives ACT/PWR from a trigger (mmc0 disk
// activity, default-on, heartbeat …); we switch the trigger to `none` while we own the LED and
// put the previous one back on close, so a stopped runtime leaves the board as it found it.
import { HalError, ioError, notOpenError, openError } from '../errors.js';
import { isDirectory, readIntOrNull, readTextOrNull, underRoot, writeAttr } from '../sysfs-io.js';
import type { LedDriver } from './types.js';

export interface SysfsLedOptions {
  /** Directory name under /sys/class/leds, e.g. 'ACT', 'PWR', 'led0'. */
  readonly name: string;
  /** Root under which /sys is looked up; tests pass a temp dir. Default '/'. */
  readonly root?: string;
}

/**
 * The active trigger of a trigger file: the bracketed entry of e.g. `none [mmc0] timer`.
 * Null when nothing is bracketed (some drivers list triggers without marking one).
 */
export function activeTrigger(text: string): string | null {
  const match = /\[([^\]\s]+)\]/.exec(text);
  return match ? match[1]! : null;
}

class SysfsLed implements LedDriver {
  readonly id: string;
  private readonly dir: string;
  private opened = false;
  private maxBrightness = 1;
  private previousTrigger: string | null = null;

  constructor(private readonly options: SysfsLedOptions) {
    if (!/^[^/\0]+$/.test(options.name) || options.name === '.' || options.name === '..') {
      throw new HalError('HAL_ERR_UNAVAILABLE', `invalid LED name: ${JSON.stringify(options.name)}`);
    }
    this.id = `sysfs:${options.name}`;
    this.dir = underRoot(options.root ?? '/', `/sys/class/leds/${options.name}`);
  }

  async open(): Promise<void> {
    if (this.opened) return;
    if (!(await isDirectory(this.dir))) {
      throw new HalError('HAL_ERR_UNAVAILABLE', `${this.id}: no LED at ${this.dir}`);
    }
    const triggerText = await readTextOrNull(`${this.dir}/trigger`);
    // An LED without a trigger file (rare, but some GPIO LEDs lack it) has nothing to restore.
    this.previousTrigger = triggerText === null ? null : activeTrigger(triggerText);
    // max_brightness is 1 for GPIO-backed LEDs, 255 for PWM ones; writing 1 to a PWM LED
    // would light it barely visibly, so use the real maximum when we can read it.
    const max = await readIntOrNull(`${this.dir}/max_brightness`);
    this.maxBrightness = max !== null && max > 0 ? max : 1;
    if (triggerText !== null && this.previousTrigger !== 'none') {
      try {
        await writeAttr(`${this.dir}/trigger`, 'none');
      } catch (err) {
        throw openError(`${this.id}: cannot take over the LED (trigger)`, err);
      }
    }
    this.opened = true;
  }

  async set(on: boolean): Promise<void> {
    if (!this.opened) throw notOpenError(this.id);
    try {
      await writeAttr(`${this.dir}/brightness`, String(on ? this.maxBrightness : 0));
    } catch (err) {
      throw ioError(`${this.id}: write brightness`, err);
    }
  }

  async close(): Promise<void> {
    if (!this.opened) return;
    this.opened = false;
    let failure: unknown;
    try {
      // Dark first: with the `none` trigger restored the kernel would leave our last level on.
      await writeAttr(`${this.dir}/brightness`, '0');
    } catch (err) {
      failure = err;
    }
    if (this.previousTrigger !== null && this.previousTrigger !== 'none') {
      try {
        await writeAttr(`${this.dir}/trigger`, this.previousTrigger);
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== undefined) throw ioError(`${this.id}: restore on close`, failure);
  }
}

export function createSysfsLed(options: SysfsLedOptions): LedDriver {
  return new SysfsLed(options);
}
