// The push-button driver contract (hal/button/types.ts). The harness knows how to make the
// button see a press of a given length: the simulated button is told directly, the GPIO button
// gets edges on simulated pins while a fake clock supplies the hold time.
import { afterEach, describe, expect, it } from 'vitest';
import type { ButtonAction, ButtonDriver } from '../../../hal/index.js';

export interface ButtonHarness {
  readonly driver: ButtonDriver;
  /** Makes the button experience a press held `ms` milliseconds, then released. */
  pressFor(ms: number): Promise<void>;
  cleanup?(): Promise<void>;
}

type Seen = Array<[ButtonAction, number]>;

export function describeButtonContract(name: string, makeDriver: () => Promise<ButtonHarness>): void {
  describe(`ButtonDriver contract: ${name}`, () => {
    let harness: ButtonHarness | null = null;
    const make = async (): Promise<{ h: ButtonHarness; seen: Seen }> => {
      harness = await makeDriver();
      const seen: Seen = [];
      harness.driver.onAction((action, ms) => seen.push([action, ms]));
      return { h: harness, seen };
    };
    afterEach(async () => {
      await harness?.driver.stop().catch(() => undefined);
      await harness?.cleanup?.();
      harness = null;
    });

    it('has a stable id', async () => {
      const { h } = await make();
      expect(h.driver.id).toMatch(/^[a-z]+(:.+)?$/);
    });

    it('classifies presses by hold time: short, long (3 s), factory-reset (10 s)', async () => {
      const { h, seen } = await make();
      await h.driver.start();
      await h.pressFor(200);
      await h.pressFor(2999);
      await h.pressFor(3000);
      await h.pressFor(9999);
      await h.pressFor(10_000);
      await h.pressFor(25_000);
      expect(seen).toEqual([
        ['short', 200], ['short', 2999], ['long', 3000], ['long', 9999], ['factory-reset', 10_000], ['factory-reset', 25_000],
      ]);
    });

    it('ignores bounces shorter than 30 ms', async () => {
      const { h, seen } = await make();
      await h.driver.start();
      await h.pressFor(5);
      await h.pressFor(29);
      await h.pressFor(30);
      expect(seen).toEqual([['short', 30]]);
    });

    it('delivers nothing before start() or after stop(), and works again after a restart', async () => {
      const { h, seen } = await make();
      await h.pressFor(200);
      await h.driver.start();
      await h.driver.start();
      await h.pressFor(4000);
      await h.driver.stop();
      await h.driver.stop();
      await h.pressFor(200);
      await h.driver.start();
      await h.pressFor(300);
      expect(seen).toEqual([['long', 4000], ['short', 300]]);
    });

    it('unsubscribes, and a throwing listener does not starve the others', async () => {
      const { h, seen } = await make();
      const other: Seen = [];
      h.driver.onAction(() => {
        throw new Error('listener bug');
      });
      const off = h.driver.onAction((action, ms) => other.push([action, ms]));
      await h.driver.start();
      await h.pressFor(100);
      off();
      off();
      await h.pressFor(5000);
      expect(other).toEqual([['short', 100]]);
      expect(seen).toEqual([['short', 100], ['long', 5000]]);
    });
  });
}
