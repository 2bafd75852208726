// The LED driver contract (hal/leds/types.ts), as one exported suite that every LedDriver must
// pass — the simulated LED, the sysfs LED on a fake tree, the GPIO LED on simulated pins, and on
// a Pi the real ones (LUCID_HAL_TEST_REAL=1). Like abstract-level's test suite: the runner file
// supplies a factory, the suite supplies the expectations.
import { afterEach, describe, expect, it } from 'vitest';
import type { LedDriver } from '../../../hal/index.js';

export interface LedHarness {
  readonly driver: LedDriver;
  /** What the LED shows right now as seen from outside the driver; null = not observable. */
  level(): Promise<boolean | null>;
  cleanup?(): Promise<void>;
}

export function describeLedContract(name: string, makeDriver: () => Promise<LedHarness>): void {
  describe(`LedDriver contract: ${name}`, () => {
    let harness: LedHarness | null = null;
    const make = async (): Promise<LedHarness> => {
      harness = await makeDriver();
      return harness;
    };
    afterEach(async () => {
      await harness?.driver.close().catch(() => undefined);
      await harness?.cleanup?.();
      harness = null;
    });

    // Non-null observations must match; an unobservable LED (a real one without a camera) only
    // has to accept the calls.
    const expectLevel = async (h: LedHarness, expected: boolean): Promise<void> => {
      const seen = await h.level();
      if (seen !== null) expect(seen).toBe(expected);
    };

    it('has a stable, non-empty id of the form kind or kind:name', async () => {
      const h = await make();
      expect(h.driver.id).toMatch(/^[a-z]+(:.+)?$/);
      await h.driver.open();
      const id = h.driver.id;
      await h.driver.close();
      expect(h.driver.id).toBe(id);
    });

    it('lights and darkens the LED after open()', async () => {
      const h = await make();
      await h.driver.open();
      await h.driver.set(true);
      await expectLevel(h, true);
      await h.driver.set(false);
      await expectLevel(h, false);
      await h.driver.set(true);
      await expectLevel(h, true);
    });

    it('accepts setting the level it already has', async () => {
      const h = await make();
      await h.driver.open();
      await h.driver.set(true);
      await h.driver.set(true);
      await expectLevel(h, true);
    });

    it('rejects set() before open() with HAL_ERR_UNAVAILABLE', async () => {
      const h = await make();
      await expect(h.driver.set(true)).rejects.toMatchObject({ code: 'HAL_ERR_UNAVAILABLE' });
    });

    it('open() is idempotent', async () => {
      const h = await make();
      await h.driver.open();
      await h.driver.open();
      await h.driver.set(true);
      await expectLevel(h, true);
    });

    it('close() leaves the LED dark and is idempotent', async () => {
      const h = await make();
      await h.driver.open();
      await h.driver.set(true);
      await h.driver.close();
      await expectLevel(h, false);
      await h.driver.close();
    });

    it('rejects set() after close() with HAL_ERR_UNAVAILABLE', async () => {
      const h = await make();
      await h.driver.open();
      await h.driver.close();
      await expect(h.driver.set(true)).rejects.toMatchObject({ code: 'HAL_ERR_UNAVAILABLE' });
    });

    it('can be opened again after close()', async () => {
      const h = await make();
      await h.driver.open();
      await h.driver.close();
      await h.driver.open();
      await h.driver.set(true);
      await expectLevel(h, true);
    });
  });
}
