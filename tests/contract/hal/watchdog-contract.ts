// The watchdog driver contract (hal/watchdog/types.ts). The harness observes what the device
// saw: kicks counted and whether the last thing written before close was the magic 'V'.
import { afterEach, describe, expect, it } from 'vitest';
import type { WatchdogDriver } from '../../../hal/index.js';

export interface WatchdogHarness {
  readonly driver: WatchdogDriver;
  /** Kicks the device has received so far. */
  kicks(): Promise<number>;
  /** True when the device was disarmed by a magic close after its last open. */
  closedCleanly(): Promise<boolean>;
  cleanup?(): Promise<void>;
}

export function describeWatchdogContract(name: string, makeDriver: () => Promise<WatchdogHarness>): void {
  describe(`WatchdogDriver contract: ${name}`, () => {
    let harness: WatchdogHarness | null = null;
    const make = async (): Promise<WatchdogHarness> => {
      harness = await makeDriver();
      return harness;
    };
    afterEach(async () => {
      await harness?.driver.close().catch(() => undefined);
      await harness?.cleanup?.();
      harness = null;
    });

    it('has a stable id', async () => {
      const h = await make();
      expect(h.driver.id).toMatch(/^[a-z]+(:.+)?$/);
    });

    it('counts every kick between open() and close()', async () => {
      const h = await make();
      await h.driver.open();
      await h.driver.kick();
      await h.driver.kick();
      await h.driver.kick();
      expect(await h.kicks()).toBe(3);
    });

    it('close() disarms with the magic character and is idempotent', async () => {
      const h = await make();
      await h.driver.open();
      await h.driver.kick();
      expect(await h.closedCleanly()).toBe(false);
      await h.driver.close();
      expect(await h.closedCleanly()).toBe(true);
      await h.driver.close();
      expect(await h.closedCleanly()).toBe(true);
      expect(await h.kicks()).toBe(1);
    });

    it('rejects kick() before open() and after close() with HAL_ERR_UNAVAILABLE', async () => {
      const h = await make();
      await expect(h.driver.kick()).rejects.toMatchObject({ code: 'HAL_ERR_UNAVAILABLE' });
      await h.driver.open();
      await h.driver.close();
      await expect(h.driver.kick()).rejects.toMatchObject({ code: 'HAL_ERR_UNAVAILABLE' });
      expect(await h.kicks()).toBe(0);
    });

    it('open() is idempotent and the device can be re-armed after a clean close', async () => {
      const h = await make();
      await h.driver.open();
      await h.driver.open();
      await h.driver.kick();
      await h.driver.close();
      await h.driver.open();
      await h.driver.kick();
      expect(await h.closedCleanly()).toBe(false);
      expect(await h.kicks()).toBe(2);
      await h.driver.close();
      expect(await h.closedCleanly()).toBe(true);
    });
  });
}
