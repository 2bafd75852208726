// The two AEAD suites at native speed (DESIGN §2/§5). AES-256-GCM is node:crypto's. OpenSSL has
// no XChaCha20-Poly1305, so it is built as the draft-irtf-cfrg-xchacha construction: subkey =
// HChaCha20(key, nonce[0..16]) (noble's `hchacha`, one 64-byte block of work), then OpenSSL's
// ChaCha20-Poly1305 with the 12-byte nonce 0x00000000 ‖ nonce[16..24]. The output is identical to
// @noble/ciphers' xchacha20poly1305 (a unit test checks) at ~15× its speed.
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { hchacha } from '@noble/ciphers/chacha.js';
import { NONCE_BYTES, TAG_BYTES, type CipherName } from './object-format.js';

export const KEY_BYTES = 32;

const le32 = (b: Uint8Array): Uint32Array => {
  const words = new Uint32Array(b.length / 4);
  for (let i = 0; i < words.length; i++) words[i] = (b[4 * i]! | (b[4 * i + 1]! << 8) | (b[4 * i + 2]! << 16) | (b[4 * i + 3]! << 24)) >>> 0;
  return words;
};

const SIGMA = le32(Buffer.from('expand 32-byte k', 'latin1'));

/** HChaCha20 subkey for XChaCha20 (32 bytes) from the key and the first 16 nonce bytes. */
export function xchachaSubkey(key: Uint8Array, nonce16: Uint8Array): Buffer {
  const out = new Uint32Array(8);
  hchacha(SIGMA, le32(key), le32(nonce16), out);
  const bytes = Buffer.alloc(32);
  for (let i = 0; i < 8; i++) bytes.writeUInt32LE(out[i]! >>> 0, 4 * i);
  return bytes;
}

function suiteParams(cipher: CipherName, key: Uint8Array, nonce: Uint8Array): { algorithm: 'aes-256-gcm' | 'chacha20-poly1305'; key: Uint8Array; iv: Uint8Array } {
  if (key.length !== KEY_BYTES) throw new Error('AEAD key must be 32 bytes');
  if (nonce.length !== NONCE_BYTES[cipher]) throw new Error(`${cipher} nonce must be ${NONCE_BYTES[cipher]} bytes`);
  if (cipher === 'aes-256-gcm') return { algorithm: 'aes-256-gcm', key, iv: nonce };
  const iv = Buffer.alloc(12);
  Buffer.from(nonce.buffer, nonce.byteOffset + 16, 8).copy(iv, 4);
  return { algorithm: 'chacha20-poly1305', key: xchachaSubkey(key, nonce.subarray(0, 16)), iv };
}

export function randomNonce(cipher: CipherName): Buffer {
  return randomFillSync(Buffer.alloc(NONCE_BYTES[cipher]));
}

/**
 * OpenSSL works through the data in slices of this size: measured here, 64 KiB slices run
 * AES-256-GCM at ~1.9 GB/s against ~1.7 GB/s for one 1 MiB call (the working set stays in L2),
 * and the output lands straight in the caller's buffer without a 1 MiB temporary.
 */
const SLICE = 64 * 1024;

function run(c: { update(data: Uint8Array): Buffer }, input: Uint8Array | readonly Uint8Array[], out: Uint8Array, offset: number): number {
  let o = offset;
  for (const part of input instanceof Uint8Array ? [input] : input) {
    for (let at = 0; at < part.length; at += SLICE) {
      const piece = c.update(part.subarray(at, Math.min(part.length, at + SLICE)));
      out.set(piece, o);
      o += piece.length;
    }
  }
  return o - offset;
}

/**
 * Encrypts `plaintext` (one buffer, or pieces taken in order) into `out` at `offset` (ciphertext
 * has the plaintext's length) and returns the tag. Synchronous on purpose: Node 20's WebCrypto AES-GCM (the thread pool) runs
 * 280–460 MB/s cold and 1.3–1.8 GB/s warm here, and copies its input on the main thread: it
 * freed ~0.25 ms of main thread per MiB for ~0.7 ms more CPU (services/chunks/README.md).
 */
export function sealInto(cipher: CipherName, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array | readonly Uint8Array[], out: Uint8Array, offset: number): Buffer {
  const p = suiteParams(cipher, key, nonce);
  const c = createCipheriv(p.algorithm as 'aes-256-gcm', p.key, p.iv, { authTagLength: TAG_BYTES });
  c.setAAD(aad);
  const n = run(c, plaintext, out, offset);
  const rest = c.final(); // stream modes: always empty
  const length = plaintext instanceof Uint8Array ? plaintext.length : plaintext.reduce((sum, p) => sum + p.length, 0);
  if (rest.length !== 0 || n !== length) throw new Error('AEAD output length differs from its input');
  return c.getAuthTag();
}

/** Encrypts `plaintext`; the ciphertext and the tag come back separately. */
export function seal(cipher: CipherName, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): { ciphertext: Buffer; tag: Buffer } {
  const ciphertext = Buffer.allocUnsafe(plaintext.length);
  const tag = sealInto(cipher, key, nonce, aad, plaintext, ciphertext, 0);
  return { ciphertext, tag };
}

/**
 * Decrypts and authenticates; throws (`Unsupported state or unable to authenticate data`) on any
 * change. One update over the whole ciphertext: its output is the plaintext buffer itself (node
 * allocates update()'s output either way), where 64 KiB slices cost a copy into a second buffer.
 */
export function open(cipher: CipherName, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array): Buffer {
  const p = suiteParams(cipher, key, nonce);
  const d = createDecipheriv(p.algorithm as 'aes-256-gcm', p.key, p.iv, { authTagLength: TAG_BYTES });
  d.setAAD(aad);
  d.setAuthTag(tag);
  const plain = d.update(ciphertext);
  d.final(); // throws when the tag does not match: the caller never sees unauthenticated bytes
  return plain;
}

/**
 * The default suite for this CPU: AES-256-GCM where the CPU has AES instructions (x86 `aes` flag,
 * arm64 `aes` feature: Pi 5), XChaCha20-Poly1305 where it does not (Pi 4's Cortex-A72), since
 * OpenSSL's software AES is several times slower than ChaCha20 there. Unreadable cpuinfo keeps
 * the seed's AES-256-GCM.
 */
export function defaultCipherFor(cpuinfo: string | null): CipherName {
  if (cpuinfo === null) return 'aes-256-gcm';
  const lines = cpuinfo.split('\n').filter((l) => /^(flags|Features)\s*:/.test(l));
  if (lines.length === 0) return 'aes-256-gcm';
  return lines.every((l) => /\saes(\s|$)/.test(l.replace(/^[^:]*:/, ' '))) ? 'aes-256-gcm' : 'xchacha20-poly1305';
}
