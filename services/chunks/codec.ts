// Chunk codec (DESIGN §2): gzip level 6 (memLevel 9), and raw when gzip does not shrink the chunk
// below 97 %.
// gzip runs on libuv's thread pool (node:zlib async), so chunks compress in parallel on every
// core while the main thread encrypts, hashes and writes (DESIGN §5: ~2× on 2 cores). Both
// directions go through long-lived zlib streams reused chunk after chunk (zlib-engines.ts says
// why: on Node 24 a zlib stream per chunk pins its output until a full mark-compact).
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
import { deflateRawSync } from 'node:zlib';
import { availableParallelism } from 'node:os';
import type { CodecName } from './object-format.js';
import { ZlibEnginePool, gunzipEngine, gzipEngine } from './zlib-engines.js';

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

/** The sample's bytes, reused: sampleRatio is synchronous. */
const SAMPLE = Buffer.allocUnsafeSlow(SAMPLE_SLICES * SAMPLE_SLICE_BYTES);

/**
 * Level-1 deflate of evenly spread slices of the chunk: packed size / sample size, or null when
 * the chunk is too small to sample (under 4 KiB). Level 6 over the whole chunk packs at least
 * about as well.
 */
export function sampleRatio(plain: Uint8Array): number | null {
  const slice = Math.min(SAMPLE_SLICE_BYTES, Math.floor(plain.length / (SAMPLE_SLICES * 2)));
  if (slice < 256) return null;
  const sample = SAMPLE.subarray(0, slice * SAMPLE_SLICES);
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
  /**
   * The bytes to encrypt, in order: the gzip stream (one or two slices of zlib's output buffers),
   * or the plaintext itself when raw.
   */
  readonly payload: readonly Buffer[];
  readonly payloadLength: number;
  /** Whether the full gzip pass ran (false: the sample said incompressible). */
  readonly compressed: boolean;
}

const KiB = 1024;
/** Idle zlib streams kept per direction: one per chunk compressed at once (LUCID_CHUNK_CONCURRENCY, default cores + 1). */
let keep = availableParallelism() + 1;
const gzipEngines = new ZlibEnginePool(gzipEngine(GZIP_LEVEL, GZIP_MEM_LEVEL), keep, false);
const gunzipEngines = new ZlibEnginePool(gunzipEngine, keep, true);

/** How many zlib streams to keep for reuse in each direction (the sessions service passes its chunk concurrency). */
export function keepZlibEngines(n: number): void {
  keep = Math.max(1, n);
  gzipEngines.resize(keep);
  gunzipEngines.resize(keep);
}

/** Closes the idle zlib streams (e.g. when the service stops). */
export function clearZlibEngines(): void {
  gzipEngines.clear();
  gunzipEngines.clear();
}

/**
 * gzip's output buffers: a chunk plus 64 KiB, so that a chunk's gzip stream (at most a few bytes
 * more than the chunk) spans at most two of them (ZlibEngine: a job continues where the last one
 * stopped). Rounded to 64 KiB so that nearby chunk sizes share the streams.
 */
const gzipBufferBytes = (n: number): number => Math.ceil((n + 64 * KiB) / (64 * KiB)) * 64 * KiB;
/** Upper bound of a gzip stream's length (zlib's deflateBound, with room to spare). */
const gzipBound = (n: number): number => n + (n >> 12) + (n >> 14) + (n >> 25) + 64;

export async function encodeChunk(plain: Buffer): Promise<Encoded> {
  const ratio = sampleRatio(plain);
  if (plain.length === 0 || skipsGzip(ratio)) return { codec: 'raw', payload: [plain], payloadLength: plain.length, compressed: false };
  // Every job deflates with Z_FINISH from its first call: the stream is complete after one trip
  // through the thread pool (two when it crosses into the engine's next output buffer), byte for
  // byte what gzip(plain, { level: 6, memLevel: 9 }) makes (a unit test checks). Node's gzip()
  // alone would deflate with Z_NO_FLUSH, end the stream in a second call and Buffer.concat the
  // two outputs (text: 0.905 against 0.888–0.898 × raw gzip-6 and 0.2–0.3 ms less CPU per MB
  // with Z_FINISH, A/B, 8 interleaved rounds, twice).
  const payload = await gzipEngines.run(gzipBufferBytes(plain.length), plain, gzipBound(plain.length));
  const payloadLength = payload.reduce((sum, p) => sum + p.length, 0);
  if (payloadLength >= plain.length * RAW_THRESHOLD) return { codec: 'raw', payload: [plain], payloadLength: plain.length, compressed: true };
  return { codec: 'gzip', payload, payloadLength, compressed: true };
}

/**
 * Decodes a payload; the output must be exactly `plainLength` bytes (a gzip bomb stops there).
 * zlib's output buffer is the chunk itself up to 1 MiB, so a whole chunk fills exactly one buffer
 * and the next job starts on a fresh one; bigger chunks come out in 1 MiB pieces, joined.
 */
export async function decodeChunk(codec: CodecName, payload: Buffer, plainLength: number): Promise<Buffer> {
  if (codec === 'raw') {
    if (payload.length !== plainLength) throw new Error(`raw payload is ${payload.length} bytes, header says ${plainLength}`);
    return payload;
  }
  const pieces = await gunzipEngines.run(Math.min(Math.max(plainLength, 64), 1024 * KiB), payload, Math.max(1, plainLength));
  const plain = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  if (plain.length !== plainLength) throw new Error(`gzip payload inflates to ${plain.length} bytes, header says ${plainLength}`);
  return plain;
}
