// The two AEAD suites: XChaCha20-Poly1305 built from noble's hchacha + OpenSSL's ChaCha20-Poly1305
// must equal @noble/ciphers' own xchacha20poly1305; AES-256-GCM (sliced through OpenSSL into the
// caller's buffer) must equal noble's gcm; any change is rejected. And the CPU-dependent default.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { gcm } from '@noble/ciphers/aes.js';
import { defaultCipherFor, open, seal, sealInto, type CipherName } from '../../../services/chunks/index.js';

/** ciphertext ‖ tag, through sealInto at an offset (as chunk objects use it). */
function joined(cipher: CipherName, key: Buffer, nonce: Buffer, aad: Buffer, plain: Buffer): Buffer {
  const out = Buffer.alloc(7 + plain.length);
  const tag = sealInto(cipher, key, nonce, aad, plain, out, 7);
  return Buffer.concat([out.subarray(7), tag]);
}
const openJoined = (cipher: CipherName, key: Buffer, nonce: Buffer, aad: Buffer, ct: Buffer): Buffer =>
  open(cipher, key, nonce, aad, ct.subarray(0, ct.length - 16), ct.subarray(ct.length - 16));

describe('AEAD suites', () => {
  it('XChaCha20-Poly1305 equals @noble/ciphers byte for byte (sizes 0 … 100 KiB)', async () => {
    for (const size of [0, 1, 15, 16, 63, 64, 65, 1000, 4096, 65536, 65537, 100 * 1024, 300_000]) {
      const key = randomBytes(32);
      const nonce = randomBytes(24);
      const aad = randomBytes(size % 70);
      const plain = randomBytes(size);
      const { ciphertext, tag } = seal('xchacha20-poly1305', key, nonce, aad, plain);
      const reference = Buffer.from(xchacha20poly1305(key, nonce, aad).encrypt(plain));
      expect(Buffer.concat([ciphertext, tag]).equals(reference), `size ${size}`).toBe(true);
      expect(joined('xchacha20-poly1305', key, nonce, aad, plain).equals(reference)).toBe(true);
      expect(open('xchacha20-poly1305', key, nonce, aad, ciphertext, tag).equals(plain)).toBe(true);
      expect(openJoined('xchacha20-poly1305', key, nonce, aad, reference).equals(plain)).toBe(true);
    }
  });

  it('AES-256-GCM: seal, sealInto and noble give the same bytes (sizes across the 64 KiB slices)', async () => {
    for (const size of [0, 17, 4096, 65536, 65537, 300_000, 1024 * 1024]) {
      const key = randomBytes(32);
      const nonce = randomBytes(12);
      const aad = randomBytes(60);
      const plain = randomBytes(size);
      const { ciphertext, tag } = seal('aes-256-gcm', key, nonce, aad, plain);
      const j = joined('aes-256-gcm', key, nonce, aad, plain);
      expect(j.equals(Buffer.concat([ciphertext, tag]))).toBe(true);
      expect(j.equals(Buffer.from(gcm(key, nonce, aad).encrypt(plain)))).toBe(true);
      expect(openJoined('aes-256-gcm', key, nonce, aad, j).equals(plain)).toBe(true);
    }
  });

  for (const cipher of ['aes-256-gcm', 'xchacha20-poly1305'] as const) {
    it(`${cipher}: a changed ciphertext, tag, AAD, nonce or key is rejected`, async () => {
      const key = randomBytes(32);
      const nonce = randomBytes(cipher === 'aes-256-gcm' ? 12 : 24);
      const aad = Buffer.from('session 1, chunk 2, gzip');
      const sealed = joined(cipher, key, nonce, aad, Buffer.from('hello chunk'));
      const bad = async (k: Buffer, n: Buffer, a: Buffer, ct: Buffer): Promise<void> => {
        expect(() => openJoined(cipher, k, n, a, ct)).toThrow();
      };
      for (const i of [0, sealed.length - 1]) {
        const t = Buffer.from(sealed);
        t[i]! ^= 0x01;
        await bad(key, nonce, aad, t);
      }
      await bad(key, nonce, Buffer.from('session 1, chunk 3, gzip'), sealed);
      const n2 = Buffer.from(nonce); n2[0]! ^= 1;
      await bad(key, n2, aad, sealed);
      await bad(randomBytes(32), nonce, aad, sealed);
      expect(() => seal(cipher, randomBytes(16), nonce, aad, Buffer.alloc(1))).toThrow(/32 bytes/);
    });
  }

  it('picks AES-256-GCM with AES instructions and XChaCha20-Poly1305 without', () => {
    const x86 = (flags: string): string => `processor\t: 0\nflags\t\t: fpu vme ${flags} avx2\n\nprocessor\t: 1\nflags\t\t: fpu vme ${flags} avx2\n`;
    expect(defaultCipherFor(x86('sse4_2 aes pclmulqdq'))).toBe('aes-256-gcm');
    expect(defaultCipherFor(x86('sse4_2 pclmulqdq'))).toBe('xchacha20-poly1305');
    expect(defaultCipherFor(x86('vaes sse4_2'))).toBe('xchacha20-poly1305'); // vaes is not aes
    // Pi 5 (Cortex-A76) has the ARMv8 crypto extensions; Pi 4 (Cortex-A72 in BCM2711) does not.
    expect(defaultCipherFor('processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp\n')).toBe('aes-256-gcm');
    expect(defaultCipherFor('processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n')).toBe('xchacha20-poly1305');
    expect(defaultCipherFor(null)).toBe('aes-256-gcm');
    expect(defaultCipherFor('no flags here')).toBe('aes-256-gcm');
  });
});
