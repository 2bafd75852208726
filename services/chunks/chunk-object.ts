// Building and opening stored chunk objects and tail segments (formats in README.md). Sealing
// returns the object as its four pieces (header, nonce, ciphertext, tag) so it is written with
// one writev and hashed incrementally, never copied into one buffer.
import { LucidError } from '../common/errors.js';
import { open, randomNonce, seal } from './cipher.js';
import { decodeChunk, encodeChunk } from './codec.js';
import { leafHash } from './merkle.js';
import {
  HEADER_BYTES, OBJECT_MAGIC, TAIL_MAGIC, TAG_BYTES, associatedData, decodeHeader, encodeHeader, splitObject,
  type CipherName, type CodecName, type ObjectHeader,
} from './object-format.js';

export interface SessionCrypto {
  readonly sessionId: string;
  readonly cipher: CipherName;
  /** The session's unwrapped 32-byte data key. */
  readonly key: Uint8Array;
}

export interface SealedChunk {
  readonly index: number;
  readonly plainLength: number;
  readonly codec: CodecName;
  /** header, nonce, ciphertext, tag: the object is their concatenation. */
  readonly parts: readonly Buffer[];
  readonly storedLength: number;
  /** RFC 6962 leaf hash: SHA-256(0x00 ‖ object). */
  readonly leaf: Buffer;
}

/** Seals an already-encoded payload (deterministic given the nonce: the fixtures use it). */
export function sealObject(ctx: SessionCrypto, index: number, codec: CodecName, plainLength: number, payload: Uint8Array, nonce: Uint8Array = randomNonce(ctx.cipher)): SealedChunk {
  const header = encodeHeader(OBJECT_MAGIC, { cipher: ctx.cipher, codec, index, plainLength, payloadLength: payload.length });
  const { ciphertext, tag } = seal(ctx.cipher, ctx.key, nonce, associatedData(header, ctx.sessionId), payload);
  const parts = [header, Buffer.from(nonce), ciphertext, tag];
  return { index, plainLength, codec, parts, storedLength: HEADER_BYTES + nonce.length + ciphertext.length + TAG_BYTES, leaf: leafHash(parts) };
}

/** Compresses (on the thread pool), encrypts and hashes one chunk of plaintext. */
export async function processChunk(ctx: SessionCrypto, index: number, plain: Buffer): Promise<SealedChunk> {
  const encoded = await encodeChunk(plain);
  return sealObject(ctx, index, encoded.codec, plain.length, encoded.payload);
}

const corrupt = (index: number, reason: string, cause?: unknown): LucidError =>
  new LucidError('CHUNK_ERR_CORRUPT', `chunk ${index} failed ${reason}`, { index, reason }, { cause });

/** Authenticates and decrypts an object; returns its header and the encoded payload. */
export function openObject(ctx: SessionCrypto, bytes: Buffer, expectIndex: number): { header: ObjectHeader; payload: Buffer } {
  let split: ReturnType<typeof splitObject>;
  try {
    split = splitObject(OBJECT_MAGIC, bytes);
  } catch (err) {
    throw corrupt(expectIndex, 'format checks', err);
  }
  const { header, headerBytes, nonce, ciphertext, tag } = split;
  if (header.index !== expectIndex) throw corrupt(expectIndex, `its index check (object says ${header.index})`);
  if (header.cipher !== ctx.cipher) throw corrupt(expectIndex, `its cipher check (${header.cipher})`);
  let payload: Buffer;
  try {
    payload = open(ctx.cipher, ctx.key, nonce, associatedData(Buffer.from(headerBytes), ctx.sessionId), ciphertext, tag);
  } catch (err) {
    throw corrupt(expectIndex, 'authentication', err);
  }
  return { header, payload };
}

/** The plaintext of an object, authenticated before a byte of it is returned. */
export async function decodeObject(ctx: SessionCrypto, bytes: Buffer, expectIndex: number): Promise<Buffer> {
  const { header, payload } = openObject(ctx, bytes, expectIndex);
  try {
    return await decodeChunk(header.codec, payload, header.plainLength);
  } catch (err) {
    throw corrupt(expectIndex, 'decompression', err);
  }
}

// ---- tail segments: the not-yet-full last chunk, appended per acknowledged upload ----

/** One tail segment: plaintext bytes [start, start+len) of chunk `index`, sealed like an object (raw codec). */
export function sealTailSegment(ctx: SessionCrypto, index: number, start: number, plain: Uint8Array): Buffer {
  const header = encodeHeader(TAIL_MAGIC, { cipher: ctx.cipher, codec: 'raw', index, plainLength: start, payloadLength: plain.length });
  const nonce = randomNonce(ctx.cipher);
  const { ciphertext, tag } = seal(ctx.cipher, ctx.key, nonce, associatedData(header, ctx.sessionId), plain);
  return Buffer.concat([header, nonce, ciphertext, tag]);
}

/**
 * Opens the segments of a tail file up to `fileBytes` (the durable length recorded in the store)
 * and writes their plaintext into `into` from position 0. Returns the plaintext length.
 */
export function openTailSegments(ctx: SessionCrypto, index: number, file: Buffer, into: Buffer): number {
  let pos = 0;
  let plain = 0;
  while (pos < file.length) {
    let h: ReturnType<typeof decodeHeader>;
    try {
      h = decodeHeader(TAIL_MAGIC, file.subarray(pos));
    } catch (err) {
      throw corrupt(index, 'tail format checks', err);
    }
    const total = HEADER_BYTES + h.nonceLength + h.payloadLength + TAG_BYTES;
    if (h.index !== index || h.plainLength !== plain || pos + total > file.length) throw corrupt(index, 'tail sequence checks');
    const nonceAt = pos + HEADER_BYTES;
    const ctAt = nonceAt + h.nonceLength;
    let bytes: Buffer;
    try {
      bytes = open(ctx.cipher, ctx.key, file.subarray(nonceAt, ctAt), associatedData(Buffer.from(file.subarray(pos, pos + HEADER_BYTES)), ctx.sessionId),
        file.subarray(ctAt, ctAt + h.payloadLength), file.subarray(ctAt + h.payloadLength, pos + total));
    } catch (err) {
      throw corrupt(index, 'tail authentication', err);
    }
    bytes.copy(into, plain);
    plain += bytes.length;
    pos += total;
  }
  return plain;
}
