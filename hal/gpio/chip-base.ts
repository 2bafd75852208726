// Which sysfs GPIO number is BCM pin N? Since kernel 6.6 (Raspberry Pi OS Bookworm) the kernel no
// longer gives the SoC's controller base 0: sysfs numbers are offset by the base of the gpiochip
// that drives the 40-pin header — 512 on a Pi 4/3/Zero (`pinctrl-bcm2711` / `pinctrl-bcm2835`),
// 571 on a Pi 5 (`pinctrl-rp1`, on the RP1 south bridge), 0 on old kernels. Writing the bare BCM
// number to /sys/class/gpio/export then fails with EINVAL, which is exactly what onoff does
// (fivdi/onoff #199/#200). So we read the chips and pick the header controller by its label.
import { readdir } from 'node:fs/promises';
import { HalError } from '../errors.js';
import { readIntOrNull, readTextOrNull, underRoot } from '../sysfs-io.js';

export interface GpioChip {
  /** Directory name, e.g. 'gpiochip512'. */
  readonly name: string;
  readonly base: number;
  readonly label: string;
  readonly ngpio: number;
}

/**
 * Labels of controllers that drive the 40-pin header, best first. Exact matches only, on purpose:
 * - `pinctrl-rp1` (Pi 5, CM5, Pi 500) must win over the Pi 5's SoC-side `gpio-brcmstb@…` chips,
 *   which come first by base (512) and have 32 lines but are not on the header.
 * - `raspberrypi-exp-gpio` is the firmware's GPIO expander (ACT/PWR LED, camera power on a Pi 3B+
 *   or 4): "raspberrypi" in the name, 8 lines, never the header. Prefix or substring matching
 *   would be the trap here.
 */
export const HEADER_CHIP_LABELS = ['pinctrl-rp1', 'pinctrl-bcm2711', 'pinctrl-bcm2835'] as const;

/** A generic board's header controller must have at least the Pi header's 28 GPIOs (0–27). */
export const MIN_HEADER_LINES = 28;

/** Reads /sys/class/gpio/gpiochip*. Missing directory → []. Sorted by base. */
export async function readGpioChips(root = '/'): Promise<GpioChip[]> {
  const dir = underRoot(root, '/sys/class/gpio');
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const chips: GpioChip[] = [];
  for (const name of names.filter((n) => /^gpiochip\d+$/.test(n))) {
    const [base, label, ngpio] = await Promise.all([
      readIntOrNull(`${dir}/${name}/base`),
      readTextOrNull(`${dir}/${name}/label`),
      readIntOrNull(`${dir}/${name}/ngpio`),
    ]);
    // A chip with unreadable attributes cannot be chosen safely; leave it out.
    if (base === null || ngpio === null || base < 0 || ngpio <= 0) continue;
    chips.push({ name, base, label: (label ?? '').trim(), ngpio });
  }
  return chips.sort((a, b) => a.base - b.base);
}

/** The chip whose lines are the header's BCM GPIOs. Throws HAL_ERR_UNAVAILABLE naming what it saw. */
export function headerChip(chips: readonly GpioChip[]): GpioChip {
  for (const label of HEADER_CHIP_LABELS) {
    const match = chips.filter((c) => c.label === label);
    // Two controllers with the same header label would be a board we do not understand;
    // guessing could drive the wrong pin, so only a unique match counts.
    if (match.length === 1) return match[0]!;
  }
  // Not a known Pi: fall back to the lowest-based chip big enough to be a header controller,
  // skipping firmware expanders, which are never header pins.
  const fallback = [...chips]
    .filter((c) => c.ngpio >= MIN_HEADER_LINES && !c.label.startsWith('raspberrypi'))
    .sort((a, b) => a.base - b.base)[0];
  if (fallback) return fallback;
  const seen = chips.length === 0
    ? 'no gpiochips under /sys/class/gpio'
    : chips.map((c) => `${c.name} "${c.label}" base ${c.base} (${c.ngpio} lines)`).join(', ');
  throw new HalError('HAL_ERR_UNAVAILABLE', `no GPIO controller for the 40-pin header: ${seen}`);
}

/** The sysfs number of BCM pin 0 on this machine (512, 571, 0 …). */
export function gpioBase(chips: readonly GpioChip[]): number {
  return headerChip(chips).base;
}

/** The sysfs number for a BCM pin, checking that the controller has that line. */
export function sysfsGpioNumber(chip: GpioChip, bcmPin: number): number {
  if (!Number.isInteger(bcmPin) || bcmPin < 0 || bcmPin >= chip.ngpio) {
    throw new HalError('HAL_ERR_UNAVAILABLE', `no GPIO ${bcmPin} on ${chip.name} "${chip.label}" (${chip.ngpio} lines)`);
  }
  return chip.base + bcmPin;
}
