// The GPIO factory contract (hal/gpio/types.ts). Runs against the simulated factory here and
// against onoff on a Pi with LUCID_HAL_TEST_REAL=1 and a jumper wire between two header pins
// (the harness drives the input through the output wired to it).
import { afterEach, describe, expect, it } from 'vitest';
import type { GpioFactory, GpioInput, GpioOutput } from '../../../hal/index.js';

export interface GpioHarness {
  readonly factory: GpioFactory;
  /** A pin free for an output under test. */
  readonly outputPin: number;
  /** A pin free for an input under test, distinct from outputPin. */
  readonly inputPin: number;
  /** A BCM number the factory must refuse (beyond its controller). */
  readonly missingPin: number;
  /** Sets the electrical level of inputPin (true = high) from outside. */
  driveInput(high: boolean): Promise<void>;
  /** The level outputPin drives now, or null when the harness cannot observe it. */
  outputLevel(): Promise<boolean | null>;
  /** How long to wait for a watch() callback after driveInput (debounce + scheduling). */
  readonly settleMs: number;
  cleanup?(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function describeGpioContract(name: string, makeDriver: () => Promise<GpioHarness>): void {
  describe(`GpioFactory contract: ${name}`, () => {
    let harness: GpioHarness | null = null;
    const opened: Array<GpioInput | GpioOutput> = [];
    const make = async (): Promise<GpioHarness> => {
      harness = await makeDriver();
      return harness;
    };
    const track = <T extends GpioInput | GpioOutput>(pin: T): T => {
      opened.push(pin);
      return pin;
    };
    afterEach(async () => {
      for (const pin of opened.splice(0)) await pin.close().catch(() => undefined);
      await harness?.cleanup?.();
      harness = null;
    });

    it('drives an output high and low', async () => {
      const h = await make();
      const out = track(await h.factory.output(h.outputPin));
      expect(out.pin).toBe(h.outputPin);
      await out.write(true);
      const high = await h.outputLevel();
      if (high !== null) expect(high).toBe(true);
      await out.write(false);
      const low = await h.outputLevel();
      if (low !== null) expect(low).toBe(false);
    });

    it('reads an input active-high and active-low', async () => {
      const h = await make();
      await h.driveInput(true);
      const plain = track(await h.factory.input(h.inputPin, { edge: 'both', activeLow: false, debounceMs: 0 }));
      expect(await plain.read()).toBe(true);
      await h.driveInput(false);
      expect(await plain.read()).toBe(false);
      await plain.close();
      const inverted = track(await h.factory.input(h.inputPin, { edge: 'both', activeLow: true, debounceMs: 0 }));
      expect(await inverted.read()).toBe(true);
      await h.driveInput(true);
      expect(await inverted.read()).toBe(false);
    });

    it('reports both edges to watchers as logical levels', async () => {
      const h = await make();
      await h.driveInput(true);
      const input = track(await h.factory.input(h.inputPin, { edge: 'both', activeLow: true, debounceMs: 5 }));
      const seen: boolean[] = [];
      input.watch((level) => seen.push(level));
      await h.driveInput(false);
      await sleep(h.settleMs);
      await h.driveInput(true);
      await sleep(h.settleMs);
      expect(seen).toEqual([true, false]);
    });

    it('keeps notifying the other watchers when one throws', async () => {
      const h = await make();
      await h.driveInput(false);
      const input = track(await h.factory.input(h.inputPin, { edge: 'both', activeLow: false, debounceMs: 0 }));
      const seen: boolean[] = [];
      input.watch(() => {
        throw new Error('watcher bug');
      });
      input.watch((level) => seen.push(level));
      await h.driveInput(true);
      await sleep(h.settleMs);
      expect(seen).toEqual([true]);
    });

    it('debounces: a burst of edges reports only the settled level', async () => {
      const h = await make();
      await h.driveInput(true);
      const input = track(await h.factory.input(h.inputPin, { edge: 'both', activeLow: true, debounceMs: 40 }));
      const seen: boolean[] = [];
      input.watch((level) => seen.push(level));
      for (const high of [false, true, false, true, false]) await h.driveInput(high);
      await sleep(h.settleMs + 40);
      expect(seen).toEqual([true]);
    });

    it('refuses a pin that is already open, and frees it on close()', async () => {
      const h = await make();
      const out = track(await h.factory.output(h.outputPin));
      await expect(h.factory.output(h.outputPin)).rejects.toMatchObject({ code: 'HAL_ERR_UNAVAILABLE' });
      await expect(h.factory.input(h.outputPin, { edge: 'both', activeLow: false, debounceMs: 0 }))
        .rejects.toMatchObject({ code: 'HAL_ERR_UNAVAILABLE' });
      await out.close();
      const again = track(await h.factory.output(h.outputPin));
      await again.write(true);
    });

    it('refuses a pin the controller does not have', async () => {
      const h = await make();
      await expect(h.factory.output(h.missingPin)).rejects.toMatchObject({ code: 'HAL_ERR_UNAVAILABLE' });
      await expect(h.factory.output(-1)).rejects.toMatchObject({ code: 'HAL_ERR_UNAVAILABLE' });
      await expect(h.factory.output(1.5)).rejects.toMatchObject({ code: 'HAL_ERR_UNAVAILABLE' });
    });

    it('rejects use after close() and stops watchers; close() is idempotent', async () => {
      const h = await make();
      await h.driveInput(true);
      const out = await h.factory.output(h.outputPin);
      await out.close();
      await out.close();
      await expect(out.write(true)).rejects.toMatchObject({ code: 'HAL_ERR_UNAVAILABLE' });
      const input = await h.factory.input(h.inputPin, { edge: 'both', activeLow: false, debounceMs: 0 });
      const seen: boolean[] = [];
      input.watch((level) => seen.push(level));
      await input.close();
      await input.close();
      await h.driveInput(false);
      await sleep(h.settleMs);
      expect(seen).toEqual([]);
      await expect(input.read()).rejects.toMatchObject({ code: 'HAL_ERR_UNAVAILABLE' });
    });
  });
}
