// TRON addresses and TIP-191 signed messages (`signMessageV2`) with @noble only — no TRON SDK
// outside services/payout/ (architecture rule). Facts (DESIGN §5, notes §3.3):
//   digest  = keccak256("\x19TRON Signed Message:\n" ‖ decimal UTF-8 byte length ‖ message)
//   sig     = r ‖ s ‖ v, v = 27/28 (tronweb) or 0/1 (a Ledger returns it raw) — both accepted
//   address = base58check(0x41 ‖ last 20 bytes of keccak256(uncompressed pubkey without 0x04))
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { createHash } from 'node:crypto';

const PREFIX = new TextEncoder().encode('\x19TRON Signed Message:\n');
const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
/** A TRON base58 address: T + 33 characters. */
export const TRON_ADDRESS_PATTERN = '^T[1-9A-HJ-NP-Za-km-z]{33}$';

const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

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

export function base58Decode(text: string): Uint8Array | null {
  let n = 0n;
  for (const c of text) {
    const i = ALPHABET.indexOf(c);
    if (i < 0) return null;
    n = n * 58n + BigInt(i);
  }
  const bytes: number[] = [];
  while (n > 0n) {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  for (const c of text) {
    if (c !== '1') break;
    bytes.unshift(0);
  }
  return Uint8Array.from(bytes);
}

/** The 21-byte address (0x41 ‖ 20 bytes) of an uncompressed or compressed secp256k1 public key. */
export function addressBytesOf(publicKey: Uint8Array): Uint8Array {
  const uncompressed = secp256k1.Point.fromBytes(publicKey).toBytes(false);
  const out = new Uint8Array(21);
  out[0] = 0x41;
  out.set(keccak_256(uncompressed.subarray(1)).subarray(12), 1);
  return out;
}

export function addressOf(publicKey: Uint8Array): string {
  const raw = addressBytesOf(publicKey);
  const check = sha256(sha256(raw)).subarray(0, 4);
  const full = new Uint8Array(25);
  full.set(raw, 0);
  full.set(check, 21);
  return base58Encode(full);
}

/** True for a well-formed base58check TRON mainnet address (0x41 prefix, valid checksum). */
export function isTronAddress(address: string): boolean {
  if (!new RegExp(TRON_ADDRESS_PATTERN).test(address)) return false;
  const bytes = base58Decode(address);
  if (!bytes || bytes.length !== 25 || bytes[0] !== 0x41) return false;
  const check = sha256(sha256(bytes.subarray(0, 21))).subarray(0, 4);
  return Buffer.compare(Buffer.from(bytes.subarray(21)), check) === 0;
}

export function tip191Digest(message: string | Uint8Array): Uint8Array {
  const body = typeof message === 'string' ? new TextEncoder().encode(message) : message;
  const length = new TextEncoder().encode(String(body.length));
  const all = new Uint8Array(PREFIX.length + length.length + body.length);
  all.set(PREFIX, 0);
  all.set(length, PREFIX.length);
  all.set(body, PREFIX.length + length.length);
  return keccak_256(all);
}

/** Parses `0x`-optional hex of r ‖ s ‖ v (65 bytes). Null when malformed. */
export function parseSignature(hex: string): Uint8Array | null {
  const clean = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex;
  if (!/^[0-9a-fA-F]{130}$/.test(clean)) return null;
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

/** The address that signed `message` (TIP-191), or null when the signature is not valid. */
export function recoverTip191Address(message: string | Uint8Array, signature: Uint8Array): string | null {
  if (signature.length !== 65) return null;
  let v = signature[64]!;
  if (v >= 27) v -= 27;
  if (v !== 0 && v !== 1) return null;
  const recovered = new Uint8Array(65);
  recovered[0] = v;
  recovered.set(signature.subarray(0, 64), 1);
  try {
    const digest = tip191Digest(message);
    const publicKey = secp256k1.recoverPublicKey(recovered, digest, { prehash: false });
    // recoverPublicKey accepts high-S; TRON (like Ethereum) signers emit low-S, and accepting
    // both would make two valid signatures per message. Refuse the malleable twin.
    if (!secp256k1.verify(signature.subarray(0, 64), digest, publicKey, { prehash: false, lowS: true })) return null;
    return addressOf(publicKey);
  } catch {
    return null;
  }
}

export function verifyTip191(message: string | Uint8Array, signatureHex: string, address: string): boolean {
  const sig = parseSignature(signatureHex);
  return sig !== null && recoverTip191Address(message, sig) === address;
}

/** Signs like tronweb's signMessageV2 (v = 27/28). For tests, the simulated wallet and tools. */
export function signTip191(message: string | Uint8Array, privateKey: Uint8Array): string {
  const sig = secp256k1.sign(tip191Digest(message), privateKey, { prehash: false, format: 'recovered' });
  const out = new Uint8Array(65);
  out.set(sig.subarray(1), 0);
  out[64] = sig[0]! + 27;
  return `0x${Buffer.from(out).toString('hex')}`;
}
