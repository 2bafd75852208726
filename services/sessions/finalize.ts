// processing → completed | failed: the tail becomes the last (short) chunk, the RFC 6962 root is
// computed from the committed leaf hashes, the manifest is built, signed and stored with the
// completed state and the feed item in one synced batch. Safe to run again after a crash: a tail
// chunk written but not committed is deleted by recovery and sealed anew; nothing is published
// before the final batch.
import { LucidError, isLucidError } from '../common/errors.js';
import {
  isDiskFull, manifestHash, manifestText, rootFromLeafHashes, processChunk, signManifest, MANIFEST_FORMAT, MERKLE_SCHEME, type ManifestBody,
} from '../chunks/index.js';
import type { SessionContext } from './context.js';
import { toRecord } from './ingest.js';
import { readPlain } from './reader.js';
import type { SessionRecord } from './records.js';
import { transition } from './state-machine.js';

export interface ManifestIdentity {
  readonly nodeId: string;
  readonly publicKeyHex: string;
  sign(message: Uint8Array): Uint8Array;
}

async function sealTail(ctx: SessionContext, rec: SessionRecord): Promise<SessionRecord> {
  if (rec.tail.plain === 0) return rec;
  const crypto = ctx.keys.cryptoFor(rec);
  const pieces: Buffer[] = [];
  for await (const p of readPlain(ctx, rec, crypto, rec.chunkCount * rec.chunkSize, rec.received)) pieces.push(p);
  const sealed = await processChunk(crypto, rec.tail.index, Buffer.concat(pieces));
  await ctx.disk.reserve(sealed.storedLength);
  await ctx.files.writeObject(rec.id, sealed);
  await ctx.files.syncSession(rec.id);
  const count = rec.chunkCount + 1;
  const next: SessionRecord = {
    ...rec, chunkCount: count, storedBytes: rec.storedBytes + sealed.storedLength,
    tail: { index: count, plain: 0, fileBytes: 0 }, updatedAt: new Date().toISOString(),
  };
  await ctx.repo.commitChunks(next, [{ index: sealed.index, record: toRecord(sealed) }], { sync: true });
  await ctx.files.removeTail(rec.id, rec.tail.index).catch(() => {});
  return next;
}

export async function finalizeSession(ctx: SessionContext, start: SessionRecord, identity: ManifestIdentity): Promise<{ record: SessionRecord; cursor: string | null }> {
  let rec = start;
  try {
    rec = await sealTail(ctx, rec);
    const chunks = await ctx.repo.chunkRecords(rec.id);
    if (chunks.length !== rec.chunkCount) {
      throw new LucidError('CHUNK_ERR_CORRUPT', `the store holds ${chunks.length} chunk records, the session counts ${rec.chunkCount}`, { reason: 'records' });
    }
    const root = rootFromLeafHashes(chunks.map((c) => Buffer.from(c.l, 'hex'))).toString('hex');
    const completedAt = new Date().toISOString();
    const body: ManifestBody = {
      format: MANIFEST_FORMAT,
      sessionId: rec.id,
      node: { id: identity.nodeId, publicKey: identity.publicKeyHex },
      createdAt: rec.createdAt,
      completedAt,
      cipher: rec.cipher,
      codec: 'gzip-6',
      chunkSize: rec.chunkSize,
      chunkCount: rec.chunkCount,
      totalBytes: rec.received,
      storedBytes: rec.storedBytes,
      merkle: { scheme: MERKLE_SCHEME, root },
      labels: rec.labels,
    };
    const signed = signManifest(body, identity);
    const hash = manifestHash(body);
    const done: SessionRecord = {
      ...rec, state: transition(rec.state, 'complete'), completedAt, updatedAt: completedAt, merkleRoot: root, manifestHash: hash,
    };
    const cursor = await ctx.repo.complete(done, manifestText(signed), {
      sessionId: rec.id, manifestHash: hash, merkleRoot: root, completedAt, chunkCount: rec.chunkCount, chunkSize: rec.chunkSize, totalBytes: rec.received,
    });
    ctx.log.info({ sessionId: rec.id, chunks: rec.chunkCount, bytes: rec.received, root, manifestHash: hash }, 'session completed');
    return { record: done, cursor };
  } catch (err) {
    const failed: SessionRecord = {
      ...rec, state: transition(rec.state, 'fail'), updatedAt: new Date().toISOString(),
      failure: { code: isLucidError(err) ? err.code : 'API_ERR_INTERNAL', message: err instanceof Error ? err.message : String(err) },
    };
    ctx.log.error({ err, sessionId: rec.id }, 'finalize failed');
    if (isDiskFull(err)) await ctx.disk.releaseBallast(); // room for the store to record it
    await ctx.repo.save(failed);
    return { record: failed, cursor: null };
  }
}
