// The hardware-wallet driver contract (hal/wallet/types.ts). Signatures are checked with
// services/auth's TIP-191 verifier — the code that accepts them at login — not with the
// driver's own helpers.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { DEFAULT_TRON_PATH, type WalletDriver } from '../../../hal/index.js';
import { addressOf, isTronAddress, recoverTip191Address } from '../../../services/auth/index.js';

export interface WalletHarness {
  readonly driver: WalletDriver;
  /** Makes the device refuse the next confirmation (the user presses "Reject"). */
  rejectNext(): void;
  cleanup?(): Promise<void>;
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A TRX TransferContract raw_data (the example of @ledgerhq/hw-app-trx's docs): one APDU. */
export const RAW_TRANSFER = '0a02f5942208704dda506d59dceb40f0f4978f802e5a69080112650a2d747970652e676f6f676c65617069732e636f6d2f70726f746f636f6c2e5472616e73666572436f6e747261637412340a1541978dbd103cfe59c35e753d09dd44ae1ae64621c7121541e2ae49db6a70b9b4757d2137a43b69b24a445780188ef8b5ba0470cbb5948f802e';
/** The same with a 240-byte memo (raw_data field 10): three field-aligned APDUs. */
export const RAW_WITH_MEMO = `${RAW_TRANSFER}52f001${'6d'.repeat(240)}`;

/** The TRON address that signed SHA-256(rawData) (the txid), from r ‖ s ‖ v with v = 0/1 or 27/28. */
export function txSigner(rawData: Uint8Array, sig: Uint8Array): string {
  const txid = createHash('sha256').update(rawData).digest();
  const v = sig[64]! >= 27 ? sig[64]! - 27 : sig[64]!;
  const pub = secp256k1.recoverPublicKey(Uint8Array.of(v, ...sig.subarray(0, 64)), txid, { prehash: false });
  return addressOf(pub);
}

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

    it('signs TRON transactions (one APDU, several) over SHA-256 of raw_data, recovering to its address', async () => {
      const h = await make();
      await h.driver.open();
      const { address } = await h.driver.getAddress();
      for (const hex of [RAW_TRANSFER, RAW_WITH_MEMO]) {
        const raw = Uint8Array.from(Buffer.from(hex, 'hex'));
        const sig = await h.driver.signTransaction(DEFAULT_TRON_PATH, raw);
        expect(sig).toHaveLength(65);
        expect([0, 1]).toContain(sig[64]);
        expect(txSigner(raw, sig)).toBe(address);
        const other = Uint8Array.from(raw);
        other[3] = other[3]! ^ 1;
        expect(txSigner(other, sig)).not.toBe(address);
      }
      h.rejectNext();
      await expect(h.driver.signTransaction(DEFAULT_TRON_PATH, Uint8Array.from(Buffer.from(RAW_TRANSFER, 'hex')))).rejects.toMatchObject({ code: 'HAL_ERR_REJECTED' });
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
