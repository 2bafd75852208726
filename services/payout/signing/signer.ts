// How the payout process signs: the encrypted keystore, or a Ledger through the HAL. Both sign
// SHA-256(raw_data); the machine checks afterwards that the signature recovers to the payout
// wallet's address before it records anything (a Ledger with another seed cannot pay).
import { LucidError } from '../../common/errors.js';
import type { WalletDriver } from '../../../hal/wallet/types.js';
import { normalizeV, signTxid } from '../tron/signature.js';
import type { Keystore } from './keystore.js';

export type SigningMethod = 'keystore' | 'ledger';

export interface PayoutSigner {
  readonly method: SigningMethod;
  /** The payout wallet (the transactions' owner_address). */
  address(): Promise<string | null>;
  /** r ‖ s ‖ v (v = 27/28) over the txid. */
  sign(rawData: Uint8Array, txid: string): Promise<Uint8Array>;
  /** For the UI: locked keystore, absent Ledger… */
  status(): Promise<{ ready: boolean; detail: string }>;
}

export function keystoreSigner(keystore: Keystore): PayoutSigner {
  return {
    method: 'keystore',
    address: () => keystore.address(),
    async sign(_raw, txid) {
      return keystore.withKey((key) => signTxid(txid, key));
    },
    async status() {
      if (!(await keystore.exists())) return { ready: false, detail: 'no keystore' };
      const u = keystore.unlocked;
      return u ? { ready: true, detail: `unlocked until ${new Date(u.until).toISOString()}` } : { ready: false, detail: 'locked' };
    },
  };
}

export interface LedgerSignerOptions {
  /** Opens the device for one use and closes it after (with the USB lock where there is one). */
  readonly withWallet: <T>(use: (wallet: WalletDriver) => Promise<T>) => Promise<T>;
  readonly path: string;
  /** The address recorded when the Ledger was set up (null before). */
  readonly address: () => Promise<string | null>;
}

export function ledgerSigner(options: LedgerSignerOptions): PayoutSigner {
  return {
    method: 'ledger',
    address: options.address,
    async sign(rawData) {
      return options.withWallet(async (wallet) => {
        const want = await options.address();
        const { address } = await wallet.getAddress(options.path);
        if (address !== want) throw new LucidError('PAYOUT_ERR_SIGNER_MISMATCH', `the Ledger's address ${address} is not the payout wallet ${want ?? '(none)'}`);
        return normalizeV(await wallet.signTransaction(options.path, rawData));
      });
    },
    async status() {
      try {
        const address = await options.withWallet(async (w) => (await w.getAddress(options.path)).address);
        const want = await options.address();
        return address === want ? { ready: true, detail: `Ledger ${address}` } : { ready: false, detail: `Ledger answers ${address}, not the payout wallet` };
      } catch (err) {
        return { ready: false, detail: `Ledger not available (${(err as { code?: string }).code ?? 'error'})` };
      }
    },
  };
}
