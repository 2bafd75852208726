// TRON addresses with @noble and node:crypto: 21 bytes (0x41 ‖ last 20 bytes of keccak-256 of
// the uncompressed public key without its 0x04), written base58check. The payout process keeps
// its own copy (services/auth has one for logins) so it depends on no other service.
import { createHash } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
export const TRON_ADDRESS_PATTERN = '^T[1-9A-HJ-NP-Za-km-z]{33}$';
const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

export function base58(bytes: Uint8Array): string {
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
  full.set(sha256(sha256(addr21)).subarray(0, 4), 21);
  return base58(full);
}

/** base58check → the 21 bytes, or null when it is not a valid mainnet address. */
export function fromBase58(address: string): Uint8Array | null {
  if (!new RegExp(TRON_ADDRESS_PATTERN).test(address)) return null;
  let n = 0n;
  for (const c of address) n = n * 58n + BigInt(ALPHABET.indexOf(c));
  const bytes = new Uint8Array(25);
  for (let i = 24; i >= 0; i--) {
    bytes[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  if (n !== 0n || bytes[0] !== 0x41) return null;
  const check = sha256(sha256(bytes.subarray(0, 21))).subarray(0, 4);
  return Buffer.compare(Buffer.from(bytes.subarray(21)), check) === 0 ? bytes.subarray(0, 21) : null;
}

export const isTronAddress = (address: string): boolean => fromBase58(address) !== null;

export function addressOfPublicKey(publicKey: Uint8Array): string {
  const uncompressed = secp256k1.Point.fromBytes(publicKey).toBytes(false);
  const raw = new Uint8Array(21);
  raw[0] = 0x41;
  raw.set(keccak_256(uncompressed.subarray(1)).subarray(12), 1);
  return toBase58(raw);
}

export const addressOfPrivateKey = (privateKey: Uint8Array): string => addressOfPublicKey(secp256k1.getPublicKey(privateKey, false));
