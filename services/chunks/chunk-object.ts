// Building and opening stored chunk objects and tail segments (formats in README.md). An object
// is built in one buffer that starts with the RFC 6962 leaf prefix 0x00, so the leaf hash is one
// SHA-256 over the buffer and the object is the buffer without its first byte. Compression runs
// on libuv's thread pool; encryption and hashing on the main thread (cipher.ts says why).
import { createHash } from 'node:crypto';
import { LucidError } from '../common/errors.js';
import { open, randomNonce, seal, sealInto } from './cipher.js';
import { decodeChunk, encodeChunk } from './codec.js';
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
  /** The stored object: header ‖ nonce ‖ ciphertext ‖ tag. */
  readonly bytes: Buffer;
  readonly storedLength: number;
  /** RFC 6962 leaf hash: SHA-256(0x00 ‖ object). */
  readonly leaf: Buffer;
  /** The buffer `bytes` lives in (from the caller's allocator): free to reuse once the object is written. */
  readonly backing: Buffer;
}

/** Where an object's buffer comes from: at least `bytes` long (a pool may hand out a bigger one). */
export type ObjectAllocator = (bytes: number) => Buffer;
const fresh: ObjectAllocator = (bytes) => Buffer.allocUnsafeSlow(bytes);

function frame(ctx: SessionCrypto, index: number, codec: CodecName, plainLength: number, payloadLength: number, nonce: Uint8Array, alloc: ObjectAllocator): { backing: Buffer; buf: Buffer; header: Buffer; aad: Buffer } {
  const header = encodeHeader(OBJECT_MAGIC, { cipher: ctx.cipher, codec, index, plainLength, payloadLength });
  const length = 1 + HEADER_BYTES + nonce.length + payloadLength + TAG_BYTES;
  const backing = alloc(length);
  const buf = backing.subarray(0, length);
  buf[0] = 0x00;
  header.copy(buf, 1);
  buf.set(nonce, 1 + HEADER_BYTES);
  return { backing, buf, header, aad: associatedData(header, ctx.sessionId) };
}

/**
 * Seals an already-encoded payload (one buffer, or its pieces in order), synchronously
 * (deterministic given the nonce: the fixtures use it).
 */
export function sealObject(ctx: SessionCrypto, index: number, codec: CodecName, plainLength: number, payload: Uint8Array | readonly Uint8Array[], nonce: Uint8Array = randomNonce(ctx.cipher), alloc: ObjectAllocator = fresh): SealedChunk {
  const payloadLength = payload instanceof Uint8Array ? payload.length : payload.reduce((sum, p) => sum + p.length, 0);
  const { backing, buf, aad } = frame(ctx, index, codec, plainLength, payloadLength, nonce, alloc);
  const tag = sealInto(ctx.cipher, ctx.key, nonce, aad, payload, buf, 1 + HEADER_BYTES + nonce.length);
  buf.set(tag, buf.length - TAG_BYTES);
  const leaf = createHash('sha256').update(buf).digest();
  return { index, plainLength, codec, bytes: buf.subarray(1), storedLength: buf.length - 1, leaf, backing };
}

/**
 * Compresses (on the thread pool), then encrypts and hashes one chunk of plaintext on the main
 * thread: ~0.5 ms for AES-256-GCM and ~0.65 ms for SHA-256 per MiB here (SHA and AES
 * instructions). WebCrypto would move both to the pool but runs AES-GCM ~7× slower (cipher.ts).
 */
export async function processChunk(ctx: SessionCrypto, index: number, plain: Buffer, alloc: ObjectAllocator = fresh): Promise<SealedChunk> {
  const encoded = await encodeChunk(plain);
  return sealObject(ctx, index, encoded.codec, plain.length, encoded.payload, randomNonce(ctx.cipher), alloc);
}

const corrupt = (index: number, reason: string, cause?: unknown): LucidError =>
  new LucidError('CHUNK_ERR_CORRUPT', `chunk ${index} failed ${reason}`, { index, reason }, { cause });

function checkedSplit(ctx: SessionCrypto, bytes: Buffer, expectIndex: number): ReturnType<typeof splitObject> {
  let split: ReturnType<typeof splitObject>;
  try {
    split = splitObject(OBJECT_MAGIC, bytes);
  } catch (err) {
    throw corrupt(expectIndex, 'format checks', err);
  }
  if (split.header.index !== expectIndex) throw corrupt(expectIndex, `its index check (object says ${split.header.index})`);
  if (split.header.cipher !== ctx.cipher) throw corrupt(expectIndex, `its cipher check (${split.header.cipher})`);
  return split;
}

/** Authenticates and decrypts an object (synchronously); returns its header and the encoded payload. */
export function openObject(ctx: SessionCrypto, bytes: Buffer, expectIndex: number): { header: ObjectHeader; payload: Buffer } {
  const { header, headerBytes, nonce, ciphertext, tag } = checkedSplit(ctx, bytes, expectIndex);
  try {
    return { header, payload: open(ctx.cipher, ctx.key, nonce, associatedData(Buffer.from(headerBytes), ctx.sessionId), ciphertext, tag) };
  } catch (err) {
    throw corrupt(expectIndex, 'authentication', err);
  }
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
 * Opens the segments of a tail file (its durable bytes) and writes their plaintext into `into`
 * from position 0. Returns the plaintext length.
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
