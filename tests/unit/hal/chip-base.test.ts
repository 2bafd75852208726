import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gpioBase, headerChip, readGpioChips, sysfsGpioNumber, type GpioChip } from '../../../hal/index.js';
import {
  PI3_OLD_KERNEL_CHIPS, PI4_BOOKWORM_CHIPS, PI5_BOOKWORM_CHIPS, addGpioChips, makeTempRoot, removeTempRoot, writeTree,
} from '../../fixtures/hal/fake-sysfs.js';

let root: string;
beforeEach(async () => {
  root = await makeTempRoot();
});
afterEach(async () => {
  await removeTempRoot(root);
});

const chip = (base: number, label: string, ngpio: number): GpioChip => ({ name: `gpiochip${base}`, base, label, ngpio });

describe('readGpioChips + gpioBase on fake trees', () => {
  it('Pi 4 on Bookworm: pinctrl-bcm2711 at 512, not the firmware expander', async () => {
    await addGpioChips(root, PI4_BOOKWORM_CHIPS);
    const chips = await readGpioChips(root);
    expect(chips).toEqual([
      { name: 'gpiochip512', base: 512, label: 'pinctrl-bcm2711', ngpio: 58 },
      { name: 'gpiochip570', base: 570, label: 'raspberrypi-exp-gpio', ngpio: 8 },
    ]);
    expect(gpioBase(chips)).toBe(512);
    expect(sysfsGpioNumber(headerChip(chips), 17)).toBe(529);
  });

  it('Pi 5 on Bookworm: pinctrl-rp1 at 571, though a 32-line brcmstb chip has a lower base', async () => {
    await addGpioChips(root, PI5_BOOKWORM_CHIPS);
    const chips = await readGpioChips(root);
    expect(chips.map((c) => c.base)).toEqual([512, 544, 548, 565, 571, 625]);
    expect(gpioBase(chips)).toBe(571);
    expect(sysfsGpioNumber(headerChip(chips), 17)).toBe(588);
  });

  it('old kernel (Pi 3, 5.x): pinctrl-bcm2835 at 0', async () => {
    await addGpioChips(root, PI3_OLD_KERNEL_CHIPS);
    const chips = await readGpioChips(root);
    expect(gpioBase(chips)).toBe(0);
    expect(sysfsGpioNumber(headerChip(chips), 4)).toBe(4);
  });

  it('skips chips with unreadable attributes and non-chip entries', async () => {
    await addGpioChips(root, PI4_BOOKWORM_CHIPS);
    await writeTree(root, {
      '/sys/class/gpio/gpiochip9/label': 'broken\n', // no base, no ngpio
      '/sys/class/gpio/gpio529/value': '0\n', // an exported pin, not a chip
    });
    const chips = await readGpioChips(root);
    expect(chips.map((c) => c.name)).toEqual(['gpiochip512', 'gpiochip570']);
  });

  it('returns no chips when /sys/class/gpio is missing (this machine)', async () => {
    expect(await readGpioChips(root)).toEqual([]);
    expect(() => gpioBase([])).toThrow(expect.objectContaining({ code: 'HAL_ERR_UNAVAILABLE', message: expect.stringContaining('no gpiochips') }));
  });
});

describe('headerChip', () => {
  it('prefers the known labels over base order', () => {
    expect(headerChip([chip(0, 'pinctrl-bcm2835', 54), chip(100, 'pinctrl-rp1', 54)]).base).toBe(100);
    expect(headerChip([chip(600, 'pinctrl-bcm2711', 58), chip(0, 'some-expander', 64)]).base).toBe(600);
  });

  it('does not match labels by prefix or substring', () => {
    // "rp1" variants that are not the pin controller must not win; nor may the firmware expander.
    const chips = [chip(400, 'rp1-pio', 32), chip(450, 'raspberrypi-exp-gpio', 40), chip(500, 'pinctrl-rp1', 54)];
    expect(headerChip(chips).base).toBe(500);
  });

  it('falls back to the lowest-based chip with at least 28 lines on unknown boards', () => {
    const chips = [chip(300, 'gpio-mockup-B', 8), chip(200, 'gpio-mockup-A', 32), chip(260, 'other', 40)];
    expect(gpioBase(chips)).toBe(200);
  });

  it('throws a coded error listing what it found when nothing qualifies', () => {
    const chips = [chip(512, 'raspberrypi-exp-gpio', 8), chip(520, 'tiny', 4), chip(600, 'raspberrypi-big', 30)];
    let err: unknown;
    try {
      headerChip(chips);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'HAL_ERR_UNAVAILABLE' });
    expect((err as Error).message).toContain('gpiochip512 "raspberrypi-exp-gpio" base 512 (8 lines)');
    expect((err as Error).message).toContain('gpiochip520 "tiny"');
  });

  it('refuses an ambiguous board with two controllers of the same header label', () => {
    // Falls through to the generic rule rather than guessing between them.
    expect(gpioBase([chip(512, 'pinctrl-rp1', 54), chip(700, 'pinctrl-rp1', 54), chip(100, 'pinctrl-bcm2835', 54)])).toBe(100);
  });

  it('sysfsGpioNumber rejects pins the controller does not have', () => {
    const rp1 = chip(571, 'pinctrl-rp1', 54);
    expect(sysfsGpioNumber(rp1, 0)).toBe(571);
    expect(sysfsGpioNumber(rp1, 53)).toBe(624);
    for (const bad of [54, -1, 2.5, Number.NaN]) {
      expect(() => sysfsGpioNumber(rp1, bad)).toThrow(expect.objectContaining({ code: 'HAL_ERR_UNAVAILABLE' }));
    }
  });
});
