import { rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { activeTrigger, createSysfsLed, isHalError } from '../../../hal/index.js';
import { addLed, makeTempRoot, readLed, readUnder, removeTempRoot } from '../../fixtures/hal/fake-sysfs.js';

let root: string;
beforeEach(async () => {
  root = await makeTempRoot();
});
afterEach(async () => {
  await removeTempRoot(root);
});

describe('activeTrigger', () => {
  it('finds the bracketed trigger wherever it is', () => {
    expect(activeTrigger('none [mmc0] timer\n')).toBe('mmc0');
    expect(activeTrigger('[none] rc-feedback kbd-scrolllock')).toBe('none');
    expect(activeTrigger('none timer heartbeat [default-on]')).toBe('default-on');
    expect(activeTrigger('none timer')).toBeNull();
  });
});

describe('sysfs LED driver', () => {
  it('takes the LED from its trigger on open and gives it back on close', async () => {
    await addLed(root, 'ACT', { trigger: 'none rc-feedback [mmc0] timer heartbeat', brightness: 0 });
    const led = createSysfsLed({ name: 'ACT', root });
    expect(led.id).toBe('sysfs:ACT');
    await led.open();
    expect(await readLed(root, 'ACT')).toEqual({ trigger: 'none', brightness: '0' });
    await led.set(true);
    expect((await readLed(root, 'ACT')).brightness).toBe('1');
    await led.close();
    // The kernel shows the list again with the restored one bracketed; our fake keeps what was written.
    expect(await readLed(root, 'ACT')).toEqual({ trigger: 'mmc0', brightness: '0' });
  });

  it('uses max_brightness for on (a PWM LED at 255), falling back to 1 when unreadable', async () => {
    await addLed(root, 'PWR', { maxBrightness: 255 });
    await addLed(root, 'led1', { maxBrightness: null });
    const pwr = createSysfsLed({ name: 'PWR', root });
    const led1 = createSysfsLed({ name: 'led1', root });
    await pwr.open();
    await led1.open();
    await pwr.set(true);
    await led1.set(true);
    expect((await readLed(root, 'PWR')).brightness).toBe('255');
    expect((await readLed(root, 'led1')).brightness).toBe('1');
    await pwr.set(false);
    expect((await readLed(root, 'PWR')).brightness).toBe('0');
  });

  it('leaves the trigger alone when it already was none, and copes without a trigger file', async () => {
    await addLed(root, 'a', { trigger: '[none] timer' });
    await addLed(root, 'b', { trigger: null });
    for (const name of ['a', 'b']) {
      const led = createSysfsLed({ name, root });
      await led.open();
      await led.set(true);
      await led.close();
    }
    expect(await readLed(root, 'a')).toEqual({ trigger: '[none] timer', brightness: '0' });
    expect((await readUnder(root, '/sys/class/leds/b/brightness')).trim()).toBe('0');
  });

  it('rejects a missing LED with HAL_ERR_UNAVAILABLE naming the path', async () => {
    const led = createSysfsLed({ name: 'ACT', root });
    const err: unknown = await led.open().catch((e: unknown) => e);
    expect(isHalError(err, 'HAL_ERR_UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toContain(join(root, 'sys/class/leds/ACT'));
    expect(() => createSysfsLed({ name: '../../etc', root })).toThrow(/invalid LED name/);
  });

  it('reports a failed brightness write as HAL_ERR_IO and never creates the attribute', async () => {
    await addLed(root, 'ACT');
    const led = createSysfsLed({ name: 'ACT', root });
    await led.open();
    await rm(join(root, 'sys/class/leds/ACT/brightness'));
    const err: unknown = await led.set(true).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'HAL_ERR_IO', errno: 'ENOENT' });
    await expect(readUnder(root, '/sys/class/leds/ACT/brightness')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('fails open() with a coded error when the kernel refuses the trigger write', async () => {
    // /proc/version stands in for a trigger attribute the kernel will not let us write: root
    // gets EIO (no write handler), anyone else EACCES (mode 0444). Neither leaves it half-open.
    await addLed(root, 'ACT', { trigger: null });
    await symlink('/proc/version', join(root, 'sys/class/leds/ACT/trigger'));
    const led = createSysfsLed({ name: 'ACT', root });
    const expected = process.getuid?.() === 0 ? { code: 'HAL_ERR_IO', errno: 'EIO' } : { code: 'HAL_ERR_UNAVAILABLE', errno: 'EACCES' };
    await expect(led.open()).rejects.toMatchObject(expected);
    await expect(led.set(true)).rejects.toMatchObject({ code: 'HAL_ERR_UNAVAILABLE' });
  });
});
