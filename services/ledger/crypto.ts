// Signing and verification as ports: production uses the node's Ed25519 key through node:crypto;
// the simulator substitutes a cheap deterministic scheme so it can run thousands of schedules.
import { createPublicKey, verify as edVerify, type KeyObject } from 'node:crypto';

export interface Signer {
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Buffer;
  sign(message: Uint8Array): Buffer;
}

export interface Verifier {
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Ed25519 verification through node:crypto, with public keys parsed once. */
export function ed25519Verifier(cacheSize = 4096): Verifier {
  const cache = new Map<string, KeyObject>();
  return {
    verify(publicKey, message, signature) {
      if (publicKey.length !== 32 || signature.length !== 64) return false;
      const k = Buffer.from(publicKey).toString('hex');
      let key = cache.get(k);
      if (!key) {
        try {
          key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
        } catch {
          return false;
        }
        if (cache.size >= cacheSize) cache.delete(cache.keys().next().value!);
        cache.set(k, key);
      }
      try {
        return edVerify(null, message, key, signature);
      } catch {
        return false;
      }
    },
  };
}

export function publicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}
