// Signatures over a TRON txid (SHA-256 of raw_data): r ‖ s ‖ v, 65 bytes. Signers answer v as
// 0/1 (a Ledger) or 27/28 (tronweb); the payout process records 27/28 (what java-tron stores).
// Recovery and signing are hal/wallet/tron-address.ts's (low-S only, the high-S twin refused).
import { recoverSignerOfDigest, signDigest } from '../../../hal/wallet/tron-address.js';

export function normalizeV(sig: Uint8Array): Uint8Array {
  if (sig.length !== 65) throw new Error('a signature is 65 bytes');
  const out = Uint8Array.from(sig);
  if (out[64]! < 27) out[64] = out[64]! + 27;
  return out;
}

/** RFC 6979 deterministic, low-S: byte for byte what tronweb's trx.sign produces. */
export const signTxid = (txidHex: string, privateKey: Uint8Array): Uint8Array => signDigest(Buffer.from(txidHex, 'hex'), privateKey);

/** The base58 address whose key made `sig` over `txidHex`, or null. */
export const recoverSigner = (txidHex: string, sig: Uint8Array): string | null => recoverSignerOfDigest(Buffer.from(txidHex, 'hex'), sig);
