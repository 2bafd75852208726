// Signatures over a TRON txid (SHA-256 of raw_data): r ‖ s ‖ v, 65 bytes. Signers answer v as
// 0/1 (a Ledger) or 27/28 (tronweb); the payout process records 27/28 (what java-tron stores).
// Verification recovers the public key with @noble and refuses high-S twins.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { addressOfPublicKey } from './address.js';

export function normalizeV(sig: Uint8Array): Uint8Array {
  if (sig.length !== 65) throw new Error('a signature is 65 bytes');
  const out = Uint8Array.from(sig);
  if (out[64]! < 27) out[64] = out[64]! + 27;
  return out;
}

/** RFC 6979 deterministic, low-S: byte for byte what tronweb's trx.sign produces. */
export function signTxid(txidHex: string, privateKey: Uint8Array): Uint8Array {
  const rec = secp256k1.sign(Buffer.from(txidHex, 'hex'), privateKey, { prehash: false, format: 'recovered' });
  const out = new Uint8Array(65);
  out.set(rec.subarray(1), 0);
  out[64] = rec[0]! + 27;
  return out;
}

/** The base58 address whose key made `sig` over `txidHex`, or null. */
export function recoverSigner(txidHex: string, sig: Uint8Array): string | null {
  if (sig.length !== 65) return null;
  const v = sig[64]! >= 27 ? sig[64]! - 27 : sig[64]!;
  if (v !== 0 && v !== 1) return null;
  try {
    const digest = Buffer.from(txidHex, 'hex');
    const pub = secp256k1.recoverPublicKey(Uint8Array.of(v, ...sig.subarray(0, 64)), digest, { prehash: false });
    if (!secp256k1.verify(sig.subarray(0, 64), digest, pub, { prehash: false, lowS: true })) return null;
    return addressOfPublicKey(pub);
  } catch {
    return null;
  }
}
