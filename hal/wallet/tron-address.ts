// TRON address of a secp256k1 public key: base58check(0x41 ‖ last 20 bytes of keccak-256 of the
// uncompressed key without its 0x04). hal/ may not import services/, so this small copy lives
// here for the simulated device; the wallet contract test checks it against services/auth's.
import { createHash } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

export function tronAddressOf(publicKey: Uint8Array): string {
  const raw = new Uint8Array(25);
  raw[0] = 0x41;
  raw.set(keccak_256(secp256k1.Point.fromBytes(publicKey).toBytes(false).subarray(1)).subarray(12), 1);
  raw.set(sha256(sha256(raw.subarray(0, 21))).subarray(0, 4), 21);
  let n = 0n;
  for (const b of raw) n = (n << 8n) | BigInt(b);
  let out = '';
  while (n > 0n) {
    out = ALPHABET[Number(n % 58n)]! + out;
    n /= 58n;
  }
  return out; // 0x41 first: never a leading zero byte
}
