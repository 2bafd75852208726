// TIP-191 signed messages (tronweb's signMessageV2): keccak-256 of "\x19TRON Signed Message:\n"
// ‖ decimal UTF-8 byte length ‖ message; signature r ‖ s ‖ v with v = 27/28 or 0/1 (a Ledger).
// Admins sign payout approvals, address changes and enrollments this way — with TronLink, a
// Ledger, or any TRON wallet — and the payout process verifies them itself.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { addressOfPublicKey } from './address.js';

export function tip191Digest(message: string): Uint8Array {
  const body = new TextEncoder().encode(message);
  const head = new TextEncoder().encode(`\x19TRON Signed Message:\n${body.length}`);
  const all = new Uint8Array(head.length + body.length);
  all.set(head, 0);
  all.set(body, head.length);
  return keccak_256(all);
}

/** The address that signed `message`, or null (malformed, invalid, or the high-S twin). */
export function tip191Signer(message: string, signatureHex: string): string | null {
  const clean = signatureHex.replace(/^0x/i, '');
  if (!/^[0-9a-fA-F]{130}$/.test(clean)) return null;
  const sig = Buffer.from(clean, 'hex');
  const v = sig[64]! >= 27 ? sig[64]! - 27 : sig[64]!;
  if (v !== 0 && v !== 1) return null;
  try {
    const digest = tip191Digest(message);
    const pub = secp256k1.recoverPublicKey(Uint8Array.of(v, ...sig.subarray(0, 64)), digest, { prehash: false });
    if (!secp256k1.verify(sig.subarray(0, 64), digest, pub, { prehash: false, lowS: true })) return null;
    return addressOfPublicKey(pub);
  } catch {
    return null;
  }
}

/** Signs like signMessageV2 (tests, tools, the simulated approver). */
export function tip191Sign(message: string, privateKey: Uint8Array): string {
  const rec = secp256k1.sign(tip191Digest(message), privateKey, { prehash: false, format: 'recovered' });
  return `0x${Buffer.from(rec.subarray(1)).toString('hex')}${(rec[0]! + 27).toString(16)}`;
}
