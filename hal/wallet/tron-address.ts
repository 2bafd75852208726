// TRON addresses and TIP-191 signed messages with @noble and node:crypto — the one implementation
// (the simulated Ledger, services/auth's wallet logins and the payout process all use it; a pure
// module with no I/O, so the architecture test lets services import it). The TRON full-node test
// double keeps an independent copy on purpose: it checks this one.
//   address = base58check(0x41 ‖ last 20 bytes of keccak-256(uncompressed public key without 0x04))
//   digest  = keccak-256("\x19TRON Signed Message:\n" ‖ decimal UTF-8 byte length ‖ message)
//   sig     = r ‖ s ‖ v, v = 27/28 (tronweb) or 0/1 (a Ledger answers it raw) — both accepted
import { createHash } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
/** A TRON base58 address: T + 33 characters. */
export const TRON_ADDRESS_PATTERN = '^T[1-9A-HJ-NP-Za-km-z]{33}$';
const ADDRESS_RE = new RegExp(TRON_ADDRESS_PATTERN);
const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();
const checksum = (addr21: Uint8Array): Buffer => sha256(sha256(addr21)).subarray(0, 4);

export function base58Encode(bytes: Uint8Array): string {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = '';
  while (n > 0n) {
    out = ALPHABET[Number(n % 58n)]! + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = `1${out}`;
  }
  return out;
}

/** 0x41 ‖ 20 bytes → base58check. */
export function toBase58(addr21: Uint8Array): string {
  const full = new Uint8Array(25);
  full.set(addr21, 0);
  full.set(checksum(addr21), 21);
  return base58Encode(full);
}

/** base58check → the 21 bytes (0x41 ‖ 20), or null when it is not a valid mainnet address. */
export function fromBase58(address: string): Uint8Array | null {
  if (!ADDRESS_RE.test(address)) return null;
  let n = 0n;
  for (const c of address) n = n * 58n + BigInt(ALPHABET.indexOf(c));
  const bytes = new Uint8Array(25);
  for (let i = 24; i >= 0; i--) {
    bytes[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  if (n !== 0n || bytes[0] !== 0x41) return null;
  return checksum(bytes.subarray(0, 21)).equals(bytes.subarray(21)) ? bytes.subarray(0, 21) : null;
}

/** True for a well-formed base58check TRON mainnet address (0x41 prefix, valid checksum). */
export const isTronAddress = (address: string): boolean => fromBase58(address) !== null;

/** The address of an uncompressed or compressed secp256k1 public key. */
export function addressOfPublicKey(publicKey: Uint8Array): string {
  const raw = new Uint8Array(21);
  raw[0] = 0x41;
  raw.set(keccak_256(secp256k1.Point.fromBytes(publicKey).toBytes(false).subarray(1)).subarray(12), 1);
  return toBase58(raw);
}

export const addressOfPrivateKey = (privateKey: Uint8Array): string => addressOfPublicKey(secp256k1.getPublicKey(privateKey, false));

export function tip191Digest(message: string | Uint8Array): Uint8Array {
  const body = typeof message === 'string' ? new TextEncoder().encode(message) : message;
  const head = new TextEncoder().encode(`\x19TRON Signed Message:\n${body.length}`);
  const all = new Uint8Array(head.length + body.length);
  all.set(head, 0);
  all.set(body, head.length);
  return keccak_256(all);
}

/** Parses `0x`-optional hex of r ‖ s ‖ v (65 bytes). Null when malformed. */
export function parseSignature(hex: string): Uint8Array | null {
  const clean = hex.replace(/^0x/i, '');
  if (!/^[0-9a-fA-F]{130}$/.test(clean)) return null;
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

/**
 * The address whose key made the 65-byte `signature` over the 32-byte `digest`, or null
 * (malformed, invalid, or the high-S twin: recovery accepts high-S, TRON signers emit low-S, and
 * accepting both would make two valid signatures per message).
 */
export function recoverSignerOfDigest(digest: Uint8Array, signature: Uint8Array): string | null {
  if (signature.length !== 65) return null;
  const v = signature[64]! >= 27 ? signature[64]! - 27 : signature[64]!;
  if (v !== 0 && v !== 1) return null;
  try {
    const publicKey = secp256k1.recoverPublicKey(Uint8Array.of(v, ...signature.subarray(0, 64)), digest, { prehash: false });
    if (!secp256k1.verify(signature.subarray(0, 64), digest, publicKey, { prehash: false, lowS: true })) return null;
    return addressOfPublicKey(publicKey);
  } catch {
    return null;
  }
}

/** r ‖ s ‖ v (v = 27/28) over a 32-byte digest: RFC 6979 deterministic, low-S — what tronweb makes. */
export function signDigest(digest: Uint8Array, privateKey: Uint8Array): Uint8Array {
  const rec = secp256k1.sign(digest, privateKey, { prehash: false, format: 'recovered' });
  const out = new Uint8Array(65);
  out.set(rec.subarray(1), 0);
  out[64] = rec[0]! + 27;
  return out;
}

/** The address that signed `message` (TIP-191), or null when the signature is not valid. */
export const recoverTip191Address = (message: string | Uint8Array, signature: Uint8Array): string | null => recoverSignerOfDigest(tip191Digest(message), signature);

/** Signs like tronweb's signMessageV2 (v = 27/28), as 0x-hex. For tests, the simulated wallet and tools. */
export const signTip191 = (message: string | Uint8Array, privateKey: Uint8Array): string => `0x${Buffer.from(signDigest(tip191Digest(message), privateKey)).toString('hex')}`;
