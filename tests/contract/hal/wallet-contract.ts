// The hardware-wallet driver contract (hal/wallet/types.ts). Signatures are checked with
// services/auth's TIP-191 verifier — the code that accepts them at login — not with the
// driver's own helpers.
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TRON_PATH, type WalletDriver } from '../../../hal/index.js';
import { addressOf, isTronAddress, recoverTip191Address } from '../../../services/auth/index.js';

export interface WalletHarness {
  readonly driver: WalletDriver;
  /** Makes the device refuse the next confirmation (the user presses "Reject"). */
  rejectNext(): void;
  cleanup?(): Promise<void>;
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

export function describeWalletContract(name: string, makeHarness: () => Promise<WalletHarness>): void {
  describe(`WalletDriver contract: ${name}`, () => {
    let harness: WalletHarness | null = null;
    const make = async (): Promise<WalletHarness> => {
      harness = await makeHarness();
      return harness;
    };
    afterEach(async () => {
      await harness?.driver.close().catch(() => undefined);
      await harness?.cleanup?.();
      harness = null;
    });

    it('has a stable id and refuses calls before open() with HAL_ERR_UNAVAILABLE', async () => {
      const h = await make();
      expect(h.driver.id).toMatch(/^[a-z]+(:.+)?$/);
      await expect(h.driver.getAddress()).rejects.toMatchObject({ code: 'HAL_ERR_UNAVAILABLE' });
    });

    it('answers the app version and the TRON address of the default path, matching its public key', async () => {
      const h = await make();
      await h.driver.open();
      await h.driver.open();
      expect((await h.driver.getAppConfiguration()).version).toMatch(/^\d+\.\d+\.\d+$/);
      const a = await h.driver.getAddress(DEFAULT_TRON_PATH);
      expect(a.publicKey).toHaveLength(65);
      expect(a.publicKey[0]).toBe(4);
      expect(isTronAddress(a.address)).toBe(true);
      expect(addressOf(a.publicKey)).toBe(a.address);
      expect((await h.driver.getAddress()).address).toBe(a.address);
      expect((await h.driver.getAddress("m/44'/195'/1'/0/0")).address).not.toBe(a.address);
    });

    it('signs TIP-191 messages (short, multi-byte, longer than one APDU) that recover to its address', async () => {
      const h = await make();
      await h.driver.open();
      const { address } = await h.driver.getAddress();
      for (const text of ['Lucid login nonce 1', 'Auszahlung 5 € — bestätigt', 'x'.repeat(600)]) {
        const sig = await h.driver.signPersonalMessage(DEFAULT_TRON_PATH, utf8(text));
        expect(sig).toHaveLength(65);
        expect([0, 1]).toContain(sig[64]);
        expect(recoverTip191Address(text, sig)).toBe(address);
        expect(recoverTip191Address(`${text}!`, sig)).not.toBe(address);
      }
    });

    it('reports a refusal on the device as HAL_ERR_REJECTED and keeps working', async () => {
      const h = await make();
      await h.driver.open();
      h.rejectNext();
      await expect(h.driver.signPersonalMessage(DEFAULT_TRON_PATH, utf8('refuse me'))).rejects.toMatchObject({ code: 'HAL_ERR_REJECTED' });
      const { address } = await h.driver.getAddress();
      const sig = await h.driver.signPersonalMessage(DEFAULT_TRON_PATH, utf8('accept me'));
      expect(recoverTip191Address('accept me', sig)).toBe(address);
    });

    it('close() is idempotent and calls after it are HAL_ERR_UNAVAILABLE', async () => {
      const h = await make();
      await h.driver.open();
      await h.driver.close();
      await h.driver.close();
      await expect(h.driver.getAddress()).rejects.toMatchObject({ code: 'HAL_ERR_UNAVAILABLE' });
    });
  });
}
