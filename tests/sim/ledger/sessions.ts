// Sessions in the simulator: small but well-formed chunk objects (services/chunks/README.md
// framing; the payload is random bytes, which is all a validator without the key can tell apart
// from ciphertext), their RFC 6962 tree, and the ChunkPort the credit worker reads them through.
// Every byte comes from the seed.
import { encodeHeader, OBJECT_MAGIC } from '../../../services/chunks/index.js';
import { inclusionPath, leafHash, rootFromLeafHashes, sha256 } from '../../../services/common/merkle.js';
import type { ChunkPort } from '../../../services/ledger/credits/worker.js';
import type { Rng } from './rng.js';

export const SIM_CHUNK_SIZE = 65_536;

export interface SimSession {
  readonly sessionId: string;
  readonly manifestHash: Buffer;
  readonly root: Buffer;
  readonly chunkCount: number;
  readonly chunkSize: number;
  readonly totalBytes: number;
  readonly leaves: readonly Buffer[];
  /** null: the node does not hold the objects (never had them, or dropped them). */
  objects: Buffer[] | null;
}

export function uuidFrom(text: string): string {
  const h = sha256(Buffer.from(text)).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-7${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const bytes = (rng: Rng, n: number): Buffer => Buffer.from(Array.from({ length: n }, () => rng.int(0, 255)));

/** One chunk object: plaintext `plain` bytes stored as a small gzip payload (raw when tiny). */
function object(rng: Rng, index: number, plain: number): Buffer {
  const raw = plain <= 48;
  const payload = bytes(rng, raw ? plain : rng.int(8, 40));
  const header = encodeHeader(OBJECT_MAGIC, { cipher: 'aes-256-gcm', codec: raw ? 'raw' : 'gzip', index, plainLength: plain, payloadLength: payload.length });
  return Buffer.concat([header, bytes(rng, 12), payload, bytes(rng, 16)]);
}

export function makeSession(rng: Rng, name: string): SimSession {
  const chunkCount = rng.int(1, 4);
  const last = rng.chance(0.2) ? rng.int(1, 48) : rng.int(1, SIM_CHUNK_SIZE);
  const totalBytes = (chunkCount - 1) * SIM_CHUNK_SIZE + last;
  const objects = Array.from({ length: chunkCount }, (_, i) => object(rng, i, i < chunkCount - 1 ? SIM_CHUNK_SIZE : last));
  const leaves = objects.map((o) => leafHash(o));
  return {
    sessionId: uuidFrom(`session:${name}`), manifestHash: sha256(Buffer.from(`manifest:${name}`)), root: rootFromLeafHashes(leaves),
    chunkCount, chunkSize: SIM_CHUNK_SIZE, totalBytes, leaves, objects,
  };
}

/** The sessions one validator key holds (twin instances share them). */
export class SimStore {
  readonly sessions = new Map<string, SimSession>();

  add(s: SimSession): void {
    this.sessions.set(s.manifestHash.toString('hex'), s);
  }

  readonly port: ChunkPort = {
    read: (q) => {
      const s = this.sessions.get(q.manifestHash);
      const o = s?.objects?.[q.index];
      return s && o ? { object: o, path: inclusionPath(s.leaves, q.index) } : null;
    },
  };
}
