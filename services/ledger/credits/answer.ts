// A storage answer from both sides: the challenged node makes it from the chunk object it holds;
// a validator checks the object it fetched against the answer on chain and the anchor
// (README "Storage challenges").
import { createHash } from 'node:crypto';
import { leafHash } from '../../common/merkle.js';
import { decodeHeader, OBJECT_MAGIC } from '../../chunks/index.js';
import { signTx } from '../codec/tx.js';
import type { AnchorRecord } from '../chain/apply.js';
import type { Challenge } from '../chain/state.js';

const ANSWER_DOMAIN = Buffer.from('lucid/storage-answer/v1', 'ascii');

/**
 * SHA-256("lucid/storage-answer/v1" ‖ seed ‖ node ‖ object). The seed comes first: nobody can
 * compute it from a hash state saved before the challenge existed, only from the whole object.
 */
export function answerDigest(seed: Buffer, node: Buffer, object: Uint8Array): Buffer {
  return createHash('sha256').update(ANSWER_DOMAIN).update(seed).update(node).update(object).digest();
}

/** The signed answer transaction to a challenge, from the object and its audit path. */
export function makeAnswer(chainId: string, c: Challenge, node: Buffer, object: Uint8Array, path: readonly Buffer[], sign: (m: Uint8Array) => Uint8Array): Buffer {
  return signTx(chainId, {
    type: 'work', kind: 'answer', node, challenge: { height: c.height, seq: c.seq },
    leafHash: leafHash(object), digest: answerDigest(Buffer.from(c.seed, 'hex'), node, object), path,
  }, sign);
}

/** Plaintext bytes chunk `index` of an anchored session holds (all chunkSize but the last). */
export function expectedPlain(a: Pick<AnchorRecord, 'chunkCount' | 'chunkSize' | 'totalBytes'>, index: number): number {
  return index < a.chunkCount - 1 ? a.chunkSize : a.totalBytes - (a.chunkCount - 1) * a.chunkSize;
}

/**
 * Why `object` (fetched from the challenged node) does not make the on-chain answer to `c` true,
 * or null when it does: it is the answered leaf, the digest is the digest of exactly these bytes
 * for this challenge, and it is a well-formed chunk object (services/chunks/README.md) at the
 * challenged index holding the plaintext length the anchor's sizes give that chunk.
 */
export function checkObject(c: Challenge, a: AnchorRecord, object: Buffer): string | null {
  if (!c.answer) return 'the challenge is not answered';
  if (leafHash(object).toString('hex') !== c.answer.leaf) return 'the object is not the answered leaf';
  if (answerDigest(Buffer.from(c.seed, 'hex'), Buffer.from(c.node, 'hex'), object).toString('hex') !== c.answer.digest) return 'the digest on chain is not this object\'s';
  let h: ReturnType<typeof decodeHeader>;
  try {
    h = decodeHeader(OBJECT_MAGIC, object, object.length);
  } catch (err) {
    return (err as Error).message;
  }
  if (h.index !== c.index) return `the object is chunk ${h.index}, not ${c.index}`;
  const plain = expectedPlain(a, c.index);
  if (h.plainLength !== plain) return `the object holds ${h.plainLength} plaintext bytes, the anchor says ${plain}`;
  // Stored raw: the payload is the plaintext; gzip is kept only when it shrinks (chunks README).
  if (h.codec === 'raw' ? h.payloadLength !== plain : h.payloadLength >= plain) return `a ${h.codec} payload of ${h.payloadLength} bytes cannot hold ${plain}`;
  return null;
}
