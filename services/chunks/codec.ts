// Chunk codec (DESIGN §2): gzip level 6 (memLevel 9), and raw when gzip does not shrink the chunk
// below 97 %.
// gzip runs on libuv's thread pool (node:zlib async), so chunks compress in parallel on every
// core while the main thread encrypts, hashes and writes (DESIGN §5: ~2× on 2 cores).
//
// Incompressible chunks (video, archives, encrypted data) are detected before the full gzip by
// deflating an 8 KiB sample (8 slices of 1 KiB spread over the chunk) at level 1 (deflate runs at
// ~60 MB/s on incompressible input, so a bigger sample costs real time): if even the sample does
// not shrink below 98 %, the chunk is stored raw without spending ~20 ms of CPU per MiB on a
// gzip pass whose output would be thrown away. That is what lets incompressible data flow at
// several times gzip's speed (issue #3: ≥ 5×). A chunk whose sample shrinks is always gzipped
// in full and then judged by the 97 % rule. The cost of the heuristic is that a chunk whose
// sampled slices are all incompressible but which holds a compressible region between them is
// stored raw: it stays correct, only less compact.
import { constants, deflateRawSync, gunzip, gzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { CodecName } from './object-format.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

export const GZIP_LEVEL = 6;
/**
 * zlib's memLevel: 9, not its default 8, at the same level 6 (a standard gzip stream): deflate
 * ends a block half as often, ~384 instead of ~256 KiB of state per stream. Screen-like data
 * ~+5 % and text ~+3 % through the pipeline (measurements: README.md "Performance notes").
 */
export const GZIP_MEM_LEVEL = 9;
/** A chunk is stored raw when its gzip output is at least this share of its input. */
export const RAW_THRESHOLD = 0.97;
const SAMPLE_SLICES = 8;
const SAMPLE_SLICE_BYTES = 1024;
const SAMPLE_THRESHOLD = 0.98;

/**
 * Level-1 deflate of evenly spread slices of the chunk: packed size / sample size, or null when
 * the chunk is too small to sample (under 4 KiB). Level 6 over the whole chunk packs at least
 * about as well, so this also bounds the gzip output's size.
 */
export function sampleRatio(plain: Uint8Array): number | null {
  const slice = Math.min(SAMPLE_SLICE_BYTES, Math.floor(plain.length / (SAMPLE_SLICES * 2)));
  if (slice < 256) return null;
  const sample = Buffer.allocUnsafe(slice * SAMPLE_SLICES);
  const stride = Math.floor((plain.length - slice) / (SAMPLE_SLICES - 1));
  for (let i = 0; i < SAMPLE_SLICES; i++) sample.set(plain.subarray(i * stride, i * stride + slice), i * slice);
  // Synchronous: ~30 µs on text, ~130 µs on incompressible bytes; a trip through the thread pool
  // would cost more in latency than it saves.
  return deflateRawSync(sample, { level: 1 }).length / sample.length;
}

/** A sample that did not shrink: skip the full gzip. No sample (a small chunk): always try gzip. */
const skipsGzip = (ratio: number | null): boolean => ratio !== null && ratio >= SAMPLE_THRESHOLD;

/** True when a level-1 deflate of evenly spread slices does not shrink them: skip the full gzip. */
export function looksIncompressible(plain: Uint8Array): boolean {
  return skipsGzip(sampleRatio(plain));
}

export interface Encoded {
  readonly codec: CodecName;
  /** The bytes to encrypt: the gzip stream, or the plaintext itself when raw. */
  readonly payload: Buffer;
  /** Whether the full gzip pass ran (false: the sample said incompressible). */
  readonly compressed: boolean;
}

export async function encodeChunk(plain: Buffer): Promise<Encoded> {
  const ratio = sampleRatio(plain);
  if (plain.length === 0 || skipsGzip(ratio)) return { codec: 'raw', payload: plain, compressed: false };
  // zlib's output buffer, sized from the sample (its level-1 ratio ran 1.2–1.45× the real
  // gzip-6 ratio on the bench corpora): the gzip stream fits in one buffer, so the chunk
  // compresses in one trip through the thread pool (64 KiB buffers took one trip per 64 KiB of
  // output: ~8 % slower on text), and no more than that is allocated. Against a whole-chunk
  // buffer per chunk: screen-like data 0.945 vs 0.900 × raw gzip-6 (6 interleaved rounds, all
  // six faster), text inside the noise. A sample that guessed low costs one more trip.
  const outBytes = Math.min(plain.length + 64 * 1024, Math.max(64 * 1024, Math.ceil(plain.length * (ratio ?? 1)) + 8192));
  // `flush: Z_FINISH` from the first call: node's gzip() otherwise deflates the input with
  // Z_NO_FLUSH and the stream's end in a second call, and joins the two outputs with
  // Buffer.concat, a fresh ~0.2 MiB copy per MiB of text. With it the gzip stream is one slice of
  // zlib's output buffer (the bytes are identical; a unit test checks). Text: 0.905 against
  // 0.888–0.898 × raw gzip-6 and 0.2–0.3 ms less CPU per MB (A/B, 8 interleaved rounds, twice).
  const packed = await gzipAsync(plain, { level: GZIP_LEVEL, memLevel: GZIP_MEM_LEVEL, chunkSize: outBytes, flush: constants.Z_FINISH });
  if (packed.length >= plain.length * RAW_THRESHOLD) return { codec: 'raw', payload: plain, compressed: true };
  return { codec: 'gzip', payload: packed, compressed: true };
}

/** Decodes a payload; the output must be exactly `plainLength` bytes (a gzip bomb stops there). */
export async function decodeChunk(codec: CodecName, payload: Buffer, plainLength: number): Promise<Buffer> {
  if (codec === 'raw') {
    if (payload.length !== plainLength) throw new Error(`raw payload is ${payload.length} bytes, header says ${plainLength}`);
    return payload;
  }
  const plain = await gunzipAsync(payload, { maxOutputLength: Math.max(1, plainLength), chunkSize: Math.min(Math.max(plainLength, 1024), 1024 * 1024) });
  if (plain.length !== plainLength) throw new Error(`gzip payload inflates to ${plain.length} bytes, header says ${plainLength}`);
  return plain;
}
