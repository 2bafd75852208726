// The onoff adapter with an injected onoff double: it cannot run against real pins here, but the
// parts that are ours — base offset, option mapping, error codes, pin ownership — can be checked.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOnoffGpio, type OnoffGpioLike, type OnoffModuleLike } from '../../../hal/index.js';
import { PI4_BOOKWORM_CHIPS, PI5_BOOKWORM_CHIPS, addGpioChips, makeTempRoot, removeTempRoot } from '../../fixtures/hal/fake-sysfs.js';

type Watcher = (err: Error | null | undefined, v: 0 | 1) => void;
interface Made { gpio: number; direction: string; edge?: string; options?: unknown; writes: number[]; unexported: boolean; watchers: Watcher[] }
// Delivers one interrupt to every watcher, as onoff's poller does.
const emit = (m: Made, err: Error | null, v: 0 | 1): void => { for (const w of m.watchers.slice()) w(err, v); };

function fakeOnoff(accessible = true): { mod: OnoffModuleLike; made: Made[] } {
  const made: Made[] = [];
  class Gpio implements OnoffGpioLike {
    static accessible = accessible;
    private readonly record: Made;
    constructor(gpio: number, direction: 'in' | 'out', edge?: 'none' | 'both', options?: unknown) {
      if (gpio === 571 + 40) throw Object.assign(new Error('EINVAL: invalid argument, write'), { code: 'EINVAL' });
      this.record = { gpio, direction, edge, options, writes: [], unexported: false, watchers: [] };
      made.push(this.record);
    }
    async read(): Promise<0 | 1> { return 1; }
    async write(value: 0 | 1): Promise<void> { this.record.writes.push(value); }
    watch(cb: Watcher): void { this.record.watchers.push(cb); }
    unwatchAll(): void { this.record.watchers = []; }
    unexport(): void { this.record.unexported = true; }
  }
  return { mod: { Gpio }, made };
}

let root: string;
beforeEach(async () => {
  root = await makeTempRoot();
});
afterEach(async () => {
  await removeTempRoot(root);
});

describe('onoff GPIO factory', () => {
  it('offsets BCM pins by the header chip base (Pi 5: 571) and maps input options', async () => {
    await addGpioChips(root, PI5_BOOKWORM_CHIPS);
    const fake = fakeOnoff();
    let loads = 0;
    const errors: unknown[] = [];
    const gpio = createOnoffGpio({ root, load: async () => { loads++; return fake.mod; }, onError: (err) => errors.push(err) });
    expect(gpio.kind).toBe('onoff');
    const out = await gpio.output(17);
    await out.write(true);
    await out.write(false);
    const input = await gpio.input(27, { edge: 'both', activeLow: true, debounceMs: 19.6 });
    expect(fake.made).toEqual([
      expect.objectContaining({ gpio: 588, direction: 'out', writes: [1, 0] }),
      expect.objectContaining({ gpio: 598, direction: 'in', edge: 'both', options: { activeLow: true, debounceTimeout: 20 } }),
    ]);
    expect(loads).toBe(1);
    expect(await input.read()).toBe(true);
    const levels: boolean[] = [];
    input.watch((level) => levels.push(level));
    const pin27 = fake.made[1]!;
    emit(pin27, null, 1);
    emit(pin27, null, 0);
    emit(pin27, new Error('epoll failed'), 0);
    input.watch(() => { throw new Error('listener bug'); });
    emit(pin27, null, 1);
    expect(levels).toEqual([true, false, true]);
    expect(errors).toEqual([expect.objectContaining({ code: 'HAL_ERR_IO' }), expect.objectContaining({ message: 'listener bug' })]);
    await input.close();
    await out.close();
    expect(fake.made.map((m) => m.unexported)).toEqual([true, true]);
    expect(pin27.watchers).toEqual([]);
  });

  it('uses 512 on a Pi 4 and refuses a second owner of the same pin', async () => {
    await addGpioChips(root, PI4_BOOKWORM_CHIPS);
    const fake = fakeOnoff();
    const gpio = createOnoffGpio({ root, load: async () => fake.mod });
    const out = await gpio.output(4);
    await expect(gpio.output(4)).rejects.toMatchObject({ code: 'HAL_ERR_UNAVAILABLE' });
    expect(fake.made.map((m) => m.gpio)).toEqual([516]);
    await out.close();
    await gpio.output(4);
    expect(fake.made.map((m) => m.gpio)).toEqual([516, 516]);
  });

  it('maps onoff constructor failures (EINVAL from export) to HAL_ERR_UNAVAILABLE and frees the pin', async () => {
    await addGpioChips(root, PI5_BOOKWORM_CHIPS);
    const fake = fakeOnoff();
    const gpio = createOnoffGpio({ root, load: async () => fake.mod });
    await expect(gpio.output(40)).rejects.toMatchObject({ code: 'HAL_ERR_UNAVAILABLE', errno: 'EINVAL', message: expect.stringContaining('sysfs 611') });
    await expect(gpio.output(40)).rejects.toMatchObject({ errno: 'EINVAL' });
    await expect(gpio.output(54)).rejects.toMatchObject({ code: 'HAL_ERR_UNAVAILABLE', message: expect.stringContaining('no GPIO 54') });
  });

  it('is unavailable when sysfs GPIO is not accessible, and retries later', async () => {
    await addGpioChips(root, PI4_BOOKWORM_CHIPS);
    let accessible = false;
    const gpio = createOnoffGpio({ root, load: async () => fakeOnoff(accessible).mod });
    await expect(gpio.output(17)).rejects.toMatchObject({ code: 'HAL_ERR_UNAVAILABLE', message: expect.stringContaining('not accessible') });
    accessible = true;
    await expect(gpio.output(17)).resolves.toMatchObject({ pin: 17 });
  });

  it('is unavailable when onoff cannot be loaded (epoll not built)', async () => {
    await addGpioChips(root, PI4_BOOKWORM_CHIPS);
    const gpio = createOnoffGpio({ root, load: async () => { throw new Error('Could not locate the bindings file'); } });
    await expect(gpio.input(27, { edge: 'both', activeLow: true, debounceMs: 20 }))
      .rejects.toMatchObject({ code: 'HAL_ERR_UNAVAILABLE', message: expect.stringContaining('bindings file') });
  });

  it('with the real onoff on this machine (no /sys/class/gpio) reports HAL_ERR_UNAVAILABLE', async () => {
    // The fake tree supplies the chip base; the default loader then really imports onoff (epoll
    // is compiled here), whose Gpio.accessible is false without /sys/class/gpio/export.
    await addGpioChips(root, PI4_BOOKWORM_CHIPS);
    const gpio = createOnoffGpio({ root });
    await expect(gpio.output(17)).rejects.toMatchObject({ code: 'HAL_ERR_UNAVAILABLE' });
    // And with the real root, there are no chips to find a base in.
    await expect(createOnoffGpio().output(17)).rejects.toMatchObject({ code: 'HAL_ERR_UNAVAILABLE', message: expect.stringContaining('no gpiochips') });
  });
});
