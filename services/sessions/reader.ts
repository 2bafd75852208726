// Reading a session back: plaintext ranges (downloads, and the overlap check of a resumed
// upload) and the verify pass. Every byte handed out has been authenticated first: a chunk is
// decrypted whole (AEAD) before any of it is yielded, so a damaged chunk ends the stream with
// CHUNK_ERR_CORRUPT and nothing of it leaves. Two chunks are decoded ahead to keep gunzip busy.
import { LucidError, errnoCode, isLucidError } from '../common/errors.js';
import { HEADER_BYTES, NONCE_BYTES, TAG_BYTES, decodeObject, leafHash, rootFromLeafHashes, openTailSegments, type SessionCrypto } from '../chunks/index.js';
import type { SessionContext } from './context.js';
import type { SessionRecord, VerifyResult } from './records.js';

const READ_AHEAD = 2;

/**
 * Reads object `index` into a buffer from the pool (big enough for any object of the session and
 * one byte more, so that a longer file shows as corrupt); null when the file is missing. The
 * caller gives `buf` back to the pool.
 */
async function readPooled(ctx: SessionContext, rec: SessionRecord, index: number): Promise<{ buf: Buffer; bytes: Buffer } | null> {
  const buf = ctx.pool.acquireAtLeast(HEADER_BYTES + NONCE_BYTES[rec.cipher] + rec.chunkSize + TAG_BYTES + 1);
  try {
    return { buf, bytes: buf.subarray(0, await ctx.files.readObjectInto(rec.id, index, buf)) };
  } catch (err) {
    ctx.pool.release(buf);
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
}

async function chunkPlain(ctx: SessionContext, rec: SessionRecord, crypto: SessionCrypto, index: number): Promise<Buffer> {
  if (index < rec.chunkCount) {
    const read = await readPooled(ctx, rec, index);
    if (read === null) throw new LucidError('CHUNK_ERR_CORRUPT', `chunk ${index} is missing`, { index, reason: 'missing' });
    try {
      return await decodeObject(crypto, read.bytes, index);
    } finally {
      ctx.pool.release(read.buf);
    }
  }
  if (index === rec.tail.index && rec.tail.plain > 0) {
    const file = await ctx.files.readTail(rec.id, index, rec.tail.fileBytes).catch((err: unknown) => {
      if (errnoCode(err) === 'ENOENT') throw new LucidError('CHUNK_ERR_CORRUPT', `the tail of chunk ${index} is missing`, { index, reason: 'tail-missing' });
      throw err;
    });
    const into = Buffer.allocUnsafe(rec.tail.plain);
    const n = openTailSegments(crypto, index, file, into);
    if (n !== rec.tail.plain) throw new LucidError('CHUNK_ERR_CORRUPT', `tail of chunk ${index} holds ${n} bytes, not ${rec.tail.plain}`, { index, reason: 'tail-length' });
    return into;
  }
  throw new LucidError('CHUNK_ERR_NOT_FOUND', `no chunk ${index}`, { index });
}

/** Plaintext bytes [from, to) of a session, as authenticated pieces (one per chunk). */
export async function* readPlain(ctx: SessionContext, rec: SessionRecord, crypto: SessionCrypto, from: number, to: number): AsyncGenerator<Buffer> {
  if (from >= to) return;
  const cs = rec.chunkSize;
  const first = Math.floor(from / cs);
  const last = Math.floor((to - 1) / cs);
  const queue: Array<Promise<Buffer>> = [];
  let next = first;
  const fill = (): void => {
    while (queue.length < READ_AHEAD && next <= last) {
      const p = chunkPlain(ctx, rec, crypto, next++);
      p.catch(() => {}); // observed when its turn comes
      queue.push(p);
    }
  };
  for (let index = first; index <= last; index++) {
    fill();
    const plain = await queue.shift()!;
    const start = index * cs;
    const lo = Math.max(from, start) - start;
    const hi = Math.min(to, start + plain.length) - start;
    if (hi > lo) yield plain.subarray(lo, hi);
  }
}

/**
 * Re-reads every chunk: leaf hash against the record, AEAD, decompression; then the root.
 * Without the data key (`crypto` null: a quarantined session whose key is lost) only the storage
 * is checked — objects against their leaf hashes, and the root — which anyone can do.
 */
export async function verifySession(ctx: SessionContext, rec: SessionRecord, crypto: SessionCrypto | null): Promise<VerifyResult> {
  const records = await ctx.repo.chunkRecords(rec.id);
  const bad: Array<{ index: number; reason: string }> = [];
  const leaves: Buffer[] = [];
  for (let index = 0; index < rec.chunkCount; index++) {
    const want = records[index];
    const read = await readPooled(ctx, rec, index);
    if (read === null) {
      bad.push({ index, reason: 'missing' });
      leaves.push(Buffer.alloc(32));
      continue;
    }
    try {
      const leaf = leafHash(read.bytes);
      leaves.push(leaf);
      if (!want || want.l !== leaf.toString('hex')) {
        bad.push({ index, reason: 'hash-mismatch' });
        continue;
      }
      if (crypto === null) continue;
      try {
        const plain = await decodeObject(crypto, read.bytes, index);
        if (plain.length !== want.p) bad.push({ index, reason: 'length-mismatch' });
      } catch (err) {
        if (!isLucidError(err, 'CHUNK_ERR_CORRUPT')) throw err;
        bad.push({ index, reason: String(err.details?.['reason'] ?? 'corrupt') });
      }
    } finally {
      ctx.pool.release(read.buf);
    }
  }
  if (crypto !== null && rec.tail.plain > 0 && rec.state !== 'completed') {
    try {
      await chunkPlain(ctx, rec, crypto, rec.tail.index);
    } catch (err) {
      if (!isLucidError(err)) throw err;
      bad.push({ index: rec.tail.index, reason: 'tail' });
    }
  }
  const rootMatches = rec.merkleRoot === null ? null : rootFromLeafHashes(leaves).toString('hex') === rec.merkleRoot;
  return {
    at: new Date().toISOString(), ok: bad.length === 0 && rootMatches !== false, chunkCount: rec.chunkCount, bad, rootMatches,
    scope: crypto === null ? 'storage' : 'full',
  };
}
