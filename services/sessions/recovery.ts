// Startup recovery (README "Durability" and "Damage"): every open session's folder is cut back
// to its record, damaged sessions are quarantined, and sessions caught in `processing` are
// finalized. One damaged session never stops the start: whatever goes wrong with one session is
// caught, logged and turned into its quarantine; the others are recovered as usual.
import { decodeHeader, OBJECT_MAGIC, type CipherName } from '../chunks/index.js';
import type { SessionContext } from './context.js';
import { damageOf, isQuarantined, lifted, quarantine, unreadableRecord, type Damage } from './damage.js';
import type { SessionRecord } from './records.js';

export async function recoverSessions(ctx: SessionContext, finalize: (rec: SessionRecord) => Promise<unknown>): Promise<void> {
  const started = performance.now();
  let cleaned = 0;
  let finalized = 0;
  let quarantined = 0;
  for (const id of await ctx.repo.openIds()) {
    try {
      const outcome = await recoverOne(ctx, id);
      if (outcome.cleaned) cleaned++;
      if (outcome.quarantined) quarantined++;
      else if (outcome.record?.state === 'processing') {
        await finalize(outcome.record);
        finalized++;
      }
    } catch (err) {
      // Even recording the quarantine failed (the store itself refuses): log it and go on.
      quarantined++;
      ctx.log.error({ err, sessionId: id }, 'session recovery failed; the session is left as it was');
    }
  }
  ctx.log.info({ ms: Math.round(performance.now() - started), cleaned, finalized, quarantined }, 'session recovery done');
}

async function recoverOne(ctx: SessionContext, id: string): Promise<{ record: SessionRecord | null; cleaned: boolean; quarantined: boolean }> {
  const read = await ctx.repo.read(id);
  if (read === null) return { record: null, cleaned: false, quarantined: false };
  if (!('record' in read)) {
    // Nothing of the record can be trusted, so nothing in the folder is touched: the committed
    // chunks (by their chunk records) stay downloadable and verifiable against their leaf hashes.
    const chunks = await ctx.repo.readableChunkRecords(id);
    const stand = unreadableRecord(id, chunks.records, await cipherOfFirstObject(ctx, id), new Date().toISOString(), read.why);
    await ctx.repo.replaceUnreadable(stand, read.text);
    ctx.log.error({ sessionId: id, reason: 'record-unreadable', why: read.why, chunks: stand.chunkCount }, 'session quarantined: its record cannot be read');
    return { record: stand, cleaned: false, quarantined: true };
  }
  const rec = read.record;
  if (rec.failure?.reason === 'record-unreadable') return { record: rec, cleaned: false, quarantined: true };
  let cleaned = false;
  let damage: Damage | null;
  try {
    damage = keyDamage(ctx, rec);
    if (damage === null) {
      const r = await ctx.files.recover(id, rec.chunkCount, rec.tail.index, rec.tail.fileBytes);
      cleaned = r.removedObjects + r.removedTemp + r.removedTails > 0 || r.tailTruncated;
      if (cleaned) ctx.log.info({ sessionId: id, ...r, received: rec.received }, 'recovered session files');
      const chunks = await ctx.repo.readableChunkRecords(id);
      damage = damageOf(rec, chunks.records, await ctx.files.survey(id));
    }
  } catch (err) {
    damage = { reason: 'files-unreadable', message: `the session's files cannot be read: ${(err as Error).message}` };
  }
  if (damage) {
    const same = isQuarantined(rec) && rec.failure?.reason === damage.reason && rec.failure.index === damage.index;
    const next = same ? rec : quarantine(rec, damage, new Date().toISOString());
    if (!same) await ctx.repo.save(next);
    ctx.log.error({ sessionId: id, reason: damage.reason, index: damage.index, was: next.failure?.state }, `session quarantined: ${damage.message}`);
    return { record: next, cleaned, quarantined: true };
  }
  if (isQuarantined(rec)) {
    // Whole again (a file put back, a card reader that works again): back to where it was.
    const back = lifted(rec, new Date().toISOString());
    await ctx.repo.save(back);
    ctx.log.warn({ sessionId: id, state: back.state }, 'session data whole again: quarantine lifted');
    return { record: back, cleaned, quarantined: false };
  }
  return { record: rec, cleaned, quarantined: false };
}

/** The session's data key must open with this appliance's master key. */
export function keyDamage(ctx: SessionContext, rec: SessionRecord): Damage | null {
  try {
    ctx.keys.cryptoFor(rec);
    return null;
  } catch (err) {
    return { reason: 'key-unavailable', message: `the session's data key cannot be opened: ${(err as Error).message}` };
  }
}

async function cipherOfFirstObject(ctx: SessionContext, id: string): Promise<CipherName | null> {
  try {
    return decodeHeader(OBJECT_MAGIC, await ctx.files.readObject(id, 0)).cipher;
  } catch {
    return null;
  }
}
