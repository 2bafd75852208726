// A cheap deterministic stand-in for Ed25519 in the simulator (thousands of schedules must run in
// CI time; Ed25519 verification would dominate). signature = SHA-256(secret ‖ m) ‖ SHA-256(m ‖ secret);
// the verifier knows every simulated key's secret. Real Ed25519 is covered by the engine's unit
// tests and the multi-process tests; the consensus code cannot tell the difference.
import { createHash } from 'node:crypto';
import type { Signer, Verifier } from '../../../services/ledger/crypto.js';

const secrets = new Map<string, Buffer>();

function h(...parts: Uint8Array[]): Buffer {
  const x = createHash('sha256');
  for (const p of parts) x.update(p);
  return x.digest();
}

export function fakeSigner(name: string): Signer {
  const secret = h(Buffer.from(`secret:${name}`));
  const publicKey = h(Buffer.from(`public:${name}`));
  secrets.set(publicKey.toString('hex'), secret);
  return { publicKey, sign: (m) => Buffer.concat([h(secret, m), h(m, secret)]) };
}

export const fakeVerifier: Verifier = {
  verify(publicKey, message, signature) {
    const secret = secrets.get(Buffer.from(publicKey).toString('hex'));
    if (!secret || signature.length !== 64) return false;
    return Buffer.concat([h(secret, message), h(message, secret)]).equals(Buffer.from(signature));
  },
};
