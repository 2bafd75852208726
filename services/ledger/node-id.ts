// Node ids as the identity service defines them (first 20 bytes of SHA-256 of the public key).
import { nodeIdOf } from '../identity/index.js';

export function nodeIdOfKey(publicKeyHex: string): string {
  return nodeIdOf(Buffer.from(publicKeyHex, 'hex'));
}
