// The stored chunk object (public format, README.md "Chunk object"): a 24-byte header, the
// nonce, the ciphertext and the 16-byte AEAD tag. The same framing, with another magic, holds
// the encrypted tail segments of a chunk still being filled. Pure code: no I/O, no crypto.
import { LucidError } from '../common/errors.js';

export const OBJECT_MAGIC = Buffer.from('LCK1', 'latin1');
export const TAIL_MAGIC = Buffer.from('LCT1', 'latin1');
export const FORMAT_VERSION = 1;
export const HEADER_BYTES = 24;
export const TAG_BYTES = 16;
/** Largest plaintext of one chunk (DESIGN §2: 64 KiB … 16 MiB). */
export const MIN_CHUNK_SIZE = 64 * 1024;
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;

export type CipherName = 'aes-256-gcm' | 'xchacha20-poly1305';
export type CodecName = 'raw' | 'gzip';

export const CIPHER_IDS: Readonly<Record<CipherName, number>> = { 'aes-256-gcm': 1, 'xchacha20-poly1305': 2 };
export const CODEC_IDS: Readonly<Record<CodecName, number>> = { raw: 0, gzip: 1 };
export const NONCE_BYTES: Readonly<Record<CipherName, number>> = { 'aes-256-gcm': 12, 'xchacha20-poly1305': 24 };

const cipherById = (id: number): CipherName | undefined =>
  (Object.keys(CIPHER_IDS) as CipherName[]).find((c) => CIPHER_IDS[c] === id);
const codecById = (id: number): CodecName | undefined =>
  (Object.keys(CODEC_IDS) as CodecName[]).find((c) => CODEC_IDS[c] === id);

export interface ObjectHeader {
  readonly cipher: CipherName;
  readonly codec: CodecName;
  /** Chunk index in the session (for a tail segment: the chunk it belongs to). */
  readonly index: number;
  /** Object: plaintext length of the chunk. Tail segment: byte position of the segment in its chunk. */
  readonly plainLength: number;
  /** Length of the ciphertext (= the encoded payload: gzip stream or raw bytes). */
  readonly payloadLength: number;
}

export function encodeHeader(magic: Buffer, h: ObjectHeader): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  magic.copy(b, 0);
  b[4] = FORMAT_VERSION;
  b[5] = CIPHER_IDS[h.cipher];
  b[6] = CODEC_IDS[h.codec];
  b[7] = NONCE_BYTES[h.cipher];
  b.writeUInt32BE(Math.floor(h.index / 2 ** 32), 8);
  b.writeUInt32BE(h.index >>> 0, 12);
  b.writeUInt32BE(h.plainLength, 16);
  b.writeUInt32BE(h.payloadLength, 20);
  return b;
}

const corrupt = (why: string, details: Record<string, unknown> = {}): LucidError =>
  new LucidError('CHUNK_ERR_CORRUPT', `chunk object is malformed: ${why}`, { reason: 'format', ...details });

/** Parses and checks a header; `totalLength` (when known) must match the lengths it declares. */
export function decodeHeader(magic: Buffer, bytes: Uint8Array, totalLength?: number): ObjectHeader & { nonceLength: number } {
  if (bytes.length < HEADER_BYTES) throw corrupt('shorter than its header');
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  if (!b.subarray(0, 4).equals(magic)) throw corrupt('bad magic');
  if (b[4] !== FORMAT_VERSION) throw corrupt(`unknown version ${b[4]}`);
  const cipher = cipherById(b[5]!);
  const codec = codecById(b[6]!);
  if (!cipher) throw corrupt(`unknown cipher id ${b[5]}`);
  if (!codec) throw corrupt(`unknown codec id ${b[6]}`);
  const nonceLength = b[7]!;
  if (nonceLength !== NONCE_BYTES[cipher]) throw corrupt(`nonce length ${nonceLength} does not fit ${cipher}`);
  const index = b.readUInt32BE(8) * 2 ** 32 + b.readUInt32BE(12);
  const plainLength = b.readUInt32BE(16);
  const payloadLength = b.readUInt32BE(20);
  if (totalLength !== undefined && totalLength !== HEADER_BYTES + nonceLength + payloadLength + TAG_BYTES) {
    throw corrupt('length does not match its header', { length: totalLength });
  }
  return { cipher, codec, index, plainLength, payloadLength, nonceLength };
}

/** Associated data of every AEAD call: the 24 header bytes followed by the session id (ASCII). */
export function associatedData(header: Buffer, sessionId: string): Buffer {
  return Buffer.concat([header, Buffer.from(sessionId, 'latin1')]);
}

/** Splits a whole object into its parts (views, no copies). */
export function splitObject(magic: Buffer, bytes: Buffer): { header: ObjectHeader; headerBytes: Buffer; nonce: Buffer; ciphertext: Buffer; tag: Buffer } {
  const header = decodeHeader(magic, bytes, bytes.length);
  const n = header.nonceLength;
  return {
    header,
    headerBytes: bytes.subarray(0, HEADER_BYTES),
    nonce: bytes.subarray(HEADER_BYTES, HEADER_BYTES + n),
    ciphertext: bytes.subarray(HEADER_BYTES + n, HEADER_BYTES + n + header.payloadLength),
    tag: bytes.subarray(HEADER_BYTES + n + header.payloadLength),
  };
}
