// Startup recovery after a crash (README "Durability"): bounded by one readdir per open session.
import type { SessionContext } from './context.js';
import type { SessionRecord } from './records.js';

/**
 * After a crash: every open session's folder is cut back to its record (objects past the
 * committed count, temp files and stale tails deleted, the tail truncated to its durable
 * length), and sessions caught in `processing` are finalized. One readdir per open session.
 */
export async function recoverSessions(ctx: SessionContext, finalize: (rec: SessionRecord) => Promise<unknown>): Promise<void> {
  const started = performance.now();
  let cleaned = 0;
  let finalized = 0;
  for (const id of await ctx.repo.openIds()) {
    const rec = await ctx.repo.get(id);
    if (!rec) continue;
    const r = await ctx.files.recover(id, rec.chunkCount, rec.tail.index, rec.tail.fileBytes);
    if (r.removedObjects + r.removedTemp + r.removedTails > 0 || r.tailTruncated) {
      cleaned++;
      ctx.log.info({ sessionId: id, ...r, received: rec.received }, 'recovered session files');
    }
    if (rec.chunkCount > 0 && (await ctx.files.objectSize(id, rec.chunkCount - 1)) === null) {
      ctx.log.error({ sessionId: id, index: rec.chunkCount - 1 }, 'a committed chunk is missing (verify will name every bad chunk)');
    }
    if (rec.state === 'processing') {
      await finalize(rec);
      finalized++;
    }
  }
  ctx.log.info({ ms: Math.round(performance.now() - started), cleaned, finalized }, 'session recovery done');
}
