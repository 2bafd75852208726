// Chunk objects: layout, sync/async equality, the codec decision (gzip, raw when it does not
// shrink, incompressible detected by the sample), and that swapping, editing or moving an object
// between sessions is detected. Tail segments likewise.
import { describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import {
  GZIP_LEVEL, GZIP_MEM_LEVEL, HEADER_BYTES, TAG_BYTES, decodeChunk, decodeHeader, decodeObject, encodeChunk, looksIncompressible, sampleRatio, OBJECT_MAGIC,
  openObject, openTailSegments, processChunk, sealObject, sealTailSegment, type SessionCrypto,
} from '../../../services/chunks/index.js';
import { corpus } from '../../helpers/corpora.js';
import { isLucidError } from '../../../services/common/errors.js';

const SID = '01900000-0000-7000-8000-000000000001';
const ctxFor = (cipher: SessionCrypto['cipher']): SessionCrypto => ({ sessionId: SID, cipher, key: randomBytes(32) });

async function corruptReason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isLucidError(err, 'CHUNK_ERR_CORRUPT')) return String(err.details?.['reason']);
    throw err;
  }
  return 'none';
}

/** A copy of `plain` with the 8 sampled 1 KiB slices (codec.ts) zeroed: the sample guesses far too low. */
function zeroedSampleSlices(plain: Buffer): Buffer {
  const out = Buffer.from(plain);
  const stride = Math.floor((out.length - 1024) / 7);
  for (let i = 0; i < 8; i++) out.fill(0, i * stride, i * stride + 1024);
  return out;
}

describe('chunk objects', () => {
  for (const cipher of ['aes-256-gcm', 'xchacha20-poly1305'] as const) {
    it(`${cipher}: header ‖ nonce ‖ ciphertext ‖ tag, leaf = SHA-256(0x00 ‖ object), deterministic for a nonce`, async () => {
      const ctx = ctxFor(cipher);
      const payload = gzipSync(Buffer.from('hello '.repeat(1000)));
      const nonce = randomBytes(cipher === 'aes-256-gcm' ? 12 : 24);
      const a = sealObject(ctx, 7, 'gzip', 6000, payload, nonce);
      const b = sealObject(ctx, 7, 'gzip', 6000, payload, nonce);
      expect(a.bytes.equals(b.bytes)).toBe(true);
      expect(a.leaf.equals(b.leaf)).toBe(true);
      expect(a.storedLength).toBe(HEADER_BYTES + nonce.length + payload.length + TAG_BYTES);
      expect(a.leaf.equals(createHash('sha256').update(Buffer.from([0])).update(a.bytes).digest())).toBe(true);
      const h = decodeHeader(OBJECT_MAGIC, a.bytes, a.bytes.length);
      expect(h).toMatchObject({ cipher, codec: 'gzip', index: 7, plainLength: 6000, payloadLength: payload.length });
      expect(a.bytes.subarray(0, 4).toString('latin1')).toBe('LCK1');
      expect((await decodeObject(ctx, a.bytes, 7)).toString()).toBe('hello '.repeat(1000));
      expect(openObject(ctx, a.bytes, 7).payload.equals(payload)).toBe(true);
    });
  }

  it('stores text as gzip, incompressible data raw without a gzip pass, a barely-shrinking chunk raw', async () => {
    const text = await encodeChunk(corpus('text', 1 << 20));
    expect(text.codec).toBe('gzip');
    expect(text.payloadLength).toBeLessThan((1 << 20) / 3);
    const random = await encodeChunk(randomBytes(1 << 20));
    expect(random).toMatchObject({ codec: 'raw', compressed: false });
    expect(random.payloadLength).toBe(1 << 20);
    expect(random.payload[0]).toBeDefined();
    // Compressible in the sample, but the whole does not get below 97 %: gzipped, then stored raw.
    const mostly = randomBytes(1 << 20);
    for (let i = 0; i < mostly.length; i += 1024) mostly.fill(0, i, i + 30); // ~2.9 % zeros: gzip gets to ~97.6 %
    expect(looksIncompressible(mostly)).toBe(false);
    expect(await encodeChunk(mostly)).toMatchObject({ codec: 'raw', compressed: true });
    expect((await encodeChunk(Buffer.alloc(0))).codec).toBe('raw');
    // Too small to sample (under 4 KiB): gzip is always tried.
    expect((await encodeChunk(corpus('text', 3000))).codec).toBe('gzip');
  });

  it('the sample bounds the gzip ratio, and a sample that guessed far too low still round-trips', async () => {
    const text = corpus('text', 1 << 20);
    const ratio = sampleRatio(text)!;
    const packed = (await encodeChunk(text)).payloadLength / text.length;
    expect(ratio).toBeGreaterThan(packed); // level 1 on 8 KiB packs worse than level 6 on 1 MiB
    expect(ratio).toBeLessThan(packed * 2);
    // The sampled slices (8 × 1 KiB, evenly spread) all zeros, the rest text: the sample says
    // ~1 %, the gzip stream is ~20 %: gzipped all the same.
    const tricky = zeroedSampleSlices(text);
    expect(sampleRatio(tricky)!).toBeLessThan(0.05);
    const enc = await encodeChunk(tricky);
    expect(enc.codec).toBe('gzip');
    expect(enc.payloadLength).toBeGreaterThan(100 * 1024);
    expect((await decodeChunk('gzip', Buffer.concat(enc.payload), tricky.length)).equals(tricky)).toBe(true);
  });

  it('the gzip stream is byte for byte what a plain gzip-6 (memLevel 9) makes, chunk after chunk through the reused streams, in one piece or two', async () => {
    // encodeChunk deflates with Z_FINISH from the first call (no second pass and no concat), in a
    // zlib stream that lives on: each chunk starts where the last one stopped in its output buffer.
    expect([GZIP_LEVEL, GZIP_MEM_LEVEL]).toEqual([6, 9]);
    const plainGzip = (b: Buffer): Buffer => gzipSync(b, { level: 6, memLevel: 9 });
    const text = corpus('text', 1 << 20);
    const fits = await encodeChunk(text);
    expect(Buffer.concat(fits.payload).equals(plainGzip(text))).toBe(true);
    expect(Buffer.concat(fits.payload).equals(gzipSync(text, { level: 6 }))).toBe(false); // memLevel 8 cuts its blocks elsewhere
    let spanning = 0;
    const more = corpus('text', 3 << 20, 7);
    for (let k = 0; k < 10; k++) {
      const window = more.subarray(k * 200_000, k * 200_000 + (k === 4 ? 300_000 : 1 << 20));
      const chunk = k === 6 ? zeroedSampleSlices(Buffer.from(window)) : window;
      const enc = await encodeChunk(chunk);
      expect(enc.payloadLength).toBe(enc.payload.reduce((n, p) => n + p.length, 0));
      expect(Buffer.concat(enc.payload).equals(plainGzip(chunk)), `chunk ${k}`).toBe(true);
      expect((await decodeChunk('gzip', Buffer.concat(enc.payload), chunk.length)).equals(chunk)).toBe(true);
      if (enc.payload.length > 1) spanning++;
    }
    expect(spanning).toBeGreaterThan(0); // some crossed into the stream's next output buffer
  }, 120_000);

  it('decoding stops a gzip bomb at the declared length and checks raw lengths', async () => {
    const bomb = gzipSync(Buffer.alloc(50 << 20));
    await expect(decodeChunk('gzip', bomb, 1 << 20)).rejects.toThrow();
    await expect(decodeChunk('raw', Buffer.alloc(10), 11)).rejects.toThrow(/header says 11/);
  });

  it('detects every kind of tampering: a flipped byte anywhere, a moved or renumbered object', async () => {
    const ctx = ctxFor('aes-256-gcm');
    const sealed = await processChunk(ctx, 3, corpus('screen', 256 * 1024));
    const bytes = sealed.bytes;
    for (const at of [0, 5, 6, 9, 17, 21, HEADER_BYTES + 2, HEADER_BYTES + 40, bytes.length - 3]) {
      const t = Buffer.from(bytes);
      t[at]! ^= 0x40;
      expect(await corruptReason(decodeObject(ctx, t, 3)), `byte ${at}`).toMatch(/format|authentication|index|cipher/);
    }
    expect(await corruptReason(decodeObject(ctx, bytes, 4))).toMatch(/index/);
    expect(await corruptReason(decodeObject({ ...ctx, sessionId: '01900000-0000-7000-8000-000000000002' }, bytes, 3))).toBe('authentication');
    expect(await corruptReason(decodeObject(ctx, bytes.subarray(0, bytes.length - 1), 3))).toBe('format checks');
    expect(await corruptReason(decodeObject({ ...ctx, cipher: 'xchacha20-poly1305' }, bytes, 3))).toMatch(/cipher/);
  });

  it('nonces are random per object: the same chunk sealed twice differs', async () => {
    const ctx = ctxFor('xchacha20-poly1305');
    const plain = corpus('text', 100_000);
    const [a, b] = [await processChunk(ctx, 0, plain), await processChunk(ctx, 0, plain)];
    expect(a.bytes.equals(b.bytes)).toBe(false);
    expect((await decodeObject(ctx, a.bytes, 0)).equals(await decodeObject(ctx, b.bytes, 0))).toBe(true);
  });

  it('tail segments chain by position and are authenticated', () => {
    const ctx = ctxFor('aes-256-gcm');
    const parts = [randomBytes(100), randomBytes(1), randomBytes(5000)];
    let at = 0;
    const file = Buffer.concat(parts.map((p) => { const s = sealTailSegment(ctx, 9, at, p); at += p.length; return s; }));
    const into = Buffer.alloc(at);
    expect(openTailSegments(ctx, 9, file, into)).toBe(at);
    expect(into.equals(Buffer.concat(parts))).toBe(true);
    expect(() => openTailSegments(ctx, 10, file, Buffer.alloc(at))).toThrow(/tail sequence/);
    const t = Buffer.from(file);
    t[t.length - 1]! ^= 1;
    expect(() => openTailSegments(ctx, 9, t, Buffer.alloc(at))).toThrow(/tail authentication/);
    // A segment out of order (position check) is refused even though each one authenticates.
    const swapped = Buffer.concat([sealTailSegment(ctx, 9, 100, parts[1]!), sealTailSegment(ctx, 9, 0, parts[0]!)]);
    expect(() => openTailSegments(ctx, 9, swapped, Buffer.alloc(101))).toThrow(/tail sequence/);
  });
});
