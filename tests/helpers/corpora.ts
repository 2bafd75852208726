// Deterministic test corpora (same seed → same bytes, on every machine):
//   screen  synthetic 640×360 RGBA "screen recording" frames: flat title bar, gradient sidebar,
//           a text area of 8×8 glyphs from a 64-glyph alphabet that scrolls, a noisy "video"
//           region (~15 % of the frame), 0.8 % sparse pixel noise and a cursor moving per frame
//   text    pino-style NDJSON log lines (level, time, pid, hostname, svc, reqId, chunk, bytes,
//           durMs, a 64-hex sha256, msg)
//   random  incompressible bytes: the ChaCha20 keystream of a key derived from the seed
//   mixed   the three interleaved in 3 MiB runs (round-trip tests)
import { createCipheriv, createHash } from 'node:crypto';

export type CorpusKind = 'screen' | 'text' | 'random' | 'mixed';
export const CORPORA: readonly CorpusKind[] = ['screen', 'text', 'random'];

/** mulberry32: tiny, fast, good enough for test data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const W = 640;
const H = 360;
const FRAME = W * H * 4;

function glyphs(): Uint8Array[] {
  const rnd = prng(0x61797068);
  return Array.from({ length: 64 }, () => {
    const g = new Uint8Array(8);
    for (let r = 1; r < 7; r++) g[r] = Math.floor(rnd() * 256) & 0x7e;
    return g;
  });
}
const GLYPHS = glyphs();

function screenFrame(frame: number, rnd: () => number, text: Uint8Array, out: Uint8Array): void {
  const px = (x: number, y: number, r: number, g: number, b: number): void => {
    const i = (y * W + x) * 4;
    out[i] = r; out[i + 1] = g; out[i + 2] = b; out[i + 3] = 255;
  };
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (y < 24) px(x, y, 40, 44, 52);
      else if (x < 120) px(x, y, 30 + (y >> 2), 30 + (y >> 3), 60 + (x >> 2));
      else px(x, y, 250, 250, 248);
    }
  }
  // Text area: 60 columns × 40 rows of glyphs, scrolled by one row every 8 frames.
  const scroll = frame >> 3;
  for (let row = 0; row < 40; row++) {
    for (let col = 0; col < 60; col++) {
      const g = GLYPHS[text[((row + scroll) * 60 + col) % text.length]! & 63]!;
      for (let gy = 0; gy < 8; gy++) {
        const bits = g[gy]!;
        if (bits === 0) continue;
        for (let gx = 0; gx < 8; gx++) if (bits & (1 << gx)) px(130 + col * 8 + gx, 30 + row * 8 + gy, 20, 20, 24);
      }
    }
  }
  // "Video" region: 240×144 of noise (15 % of the frame).
  for (let y = 200; y < 344; y++) for (let x = 392; x < 632; x++) px(x, y, (rnd() * 256) | 0, (rnd() * 256) | 0, (rnd() * 256) | 0);
  // Sparse noise: 0.8 % of the pixels.
  for (let n = 0; n < W * H * 0.008; n++) px((rnd() * W) | 0, (rnd() * H) | 0, (rnd() * 256) | 0, (rnd() * 256) | 0, (rnd() * 256) | 0);
  // Cursor.
  const cx = (frame * 7) % (W - 12);
  const cy = (frame * 3) % (H - 19);
  for (let y = 0; y < 19; y++) for (let x = 0; x <= Math.min(y, 11); x++) px(cx + x, cy + y, 0, 0, 0);
}

function* screenPieces(seed: number): Generator<Buffer> {
  const rnd = prng(seed);
  const text = new Uint8Array(60 * 400);
  for (let i = 0; i < text.length; i++) text[i] = rnd() < 0.18 ? 0 : (rnd() * 64) | 0;
  for (let frame = 0; ; frame++) {
    const out = Buffer.allocUnsafe(FRAME);
    screenFrame(frame, rnd, text, out);
    yield out;
  }
}

const SVCS = ['ingest', 'api', 'ledger', 'store', 'supervisor'];
const MSGS = ['chunk stored', 'request completed', 'block proposed', 'manifest signed', 'heartbeat', 'session resumed after reconnect'];

function* textPieces(seed: number): Generator<Buffer> {
  const rnd = prng(seed);
  let i = 0;
  const hexOf = (n: number): string => createHash('sha256').update(String(seed)).update(String(n)).digest('hex');
  for (;;) {
    const lines: string[] = [];
    for (let k = 0; k < 512; k++, i++) {
      lines.push(JSON.stringify({
        level: rnd() < 0.9 ? 30 : 40, time: 1764290000000 + i * 7 + Math.floor(rnd() * 5), pid: 4242, hostname: 'lucid-pi-07',
        svc: SVCS[Math.floor(rnd() * SVCS.length)], reqId: `req-${(i >> 2).toString(36)}`, chunk: i >> 3, bytes: Math.floor(rnd() * 1048576),
        durMs: Math.round(rnd() * 100000) / 1000, sha256: hexOf(i), msg: MSGS[Math.floor(rnd() * MSGS.length)],
      }));
    }
    yield Buffer.from(`${lines.join('\n')}\n`);
  }
}

function* randomPieces(seed: number): Generator<Buffer> {
  const key = createHash('sha256').update(`lucid-corpus-${seed}`).digest();
  const cipher = createCipheriv('chacha20', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(1024 * 1024);
  for (;;) yield cipher.update(zeros);
}

function* mixedPieces(seed: number): Generator<Buffer> {
  const sources = [screenPieces(seed), textPieces(seed + 1), randomPieces(seed + 2)];
  const RUN = 3 * 1024 * 1024;
  for (let k = 0; ; k++) {
    const src = sources[k % 3]!;
    let left = RUN - (k % 7) * 65537; // runs of uneven length, so boundaries fall anywhere in a chunk
    while (left > 0) {
      const p = src.next().value as Buffer;
      yield p.length > left ? p.subarray(0, left) : p;
      left -= p.length;
    }
  }
}

function pieces(kind: CorpusKind, seed: number): Generator<Buffer> {
  switch (kind) {
    case 'screen': return screenPieces(seed);
    case 'text': return textPieces(seed);
    case 'random': return randomPieces(seed);
    case 'mixed': return mixedPieces(seed);
  }
}

/** `bytes` bytes of a corpus, as pieces of any size (the last one cut to fit). */
export function* corpusPieces(kind: CorpusKind, bytes: number, seed = 1): Generator<Buffer> {
  let left = bytes;
  for (const p of pieces(kind, seed)) {
    if (left <= 0) return;
    const piece = p.length > left ? p.subarray(0, left) : p;
    left -= piece.length;
    yield piece;
  }
}

export function corpus(kind: CorpusKind, bytes: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const p of corpusPieces(kind, bytes, seed)) { p.copy(out, at); at += p.length; }
  return out;
}
