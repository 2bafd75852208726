// One upload into a session (the caller holds the session's lock): a resend over the stored
// bytes is checked first (overlap.ts), then the rest goes through the Appender (ingest.ts), cut
// at the quota, stopped by `signal` (delete, shutdown) or by the body breaking off — what arrived
// whole is kept and acknowledged either way.
import { LucidError } from '../common/errors.js';
import type { SessionContext } from './context.js';
import { Appender, type AppendOutcome } from './ingest.js';
import { checkOverlap } from './overlap.js';
import type { SessionRecord } from './records.js';
import { acceptsData } from './state-machine.js';

/** Refusals that need no reading: state, gap, a declared length past the quota. */
export function checkAppend(rec: SessionRecord, offset: number, contentLength: number | null): void {
  if (rec.state === 'deleted') throw new LucidError('SESS_ERR_DELETED', undefined, { sessionId: rec.id });
  if (!acceptsData(rec.state)) {
    throw new LucidError('SESS_ERR_INVALID_STATE', `a ${rec.state} session takes no data; it must be recording`, { state: rec.state, received: rec.received, pausedReason: rec.pausedReason });
  }
  if (offset > rec.received) {
    throw new LucidError('SESS_ERR_OFFSET_GAP', `offset ${offset} is past the acknowledged ${rec.received} bytes`, { offset, received: rec.received });
  }
  if (contentLength !== null && offset + contentLength > rec.quotaBytes) {
    throw new LucidError('SESS_ERR_QUOTA', `the upload would end at ${offset + contentLength} bytes, past the quota of ${rec.quotaBytes}`, { quotaBytes: rec.quotaBytes, received: rec.received });
  }
}

const interrupted = (): LucidError =>
  new LucidError('SESS_ERR_BUSY', 'the upload was interrupted by a pause, stop or delete of the session, or the appliance stopping');

/**
 * The body's next piece, or 'aborted' as soon as the signal fires: a pause, stop or delete must
 * not wait for a slow client's next bytes. (Not Promise.race against one long-lived promise:
 * every race would leave a reaction on it holding its piece — a whole upload kept in memory.)
 */
function nextOrAbort(it: AsyncIterator<Buffer>, signal: AbortSignal): Promise<IteratorResult<Buffer> | 'aborted'> {
  if (signal.aborted) return Promise.resolve('aborted');
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
    it.next().then(
      (r) => { signal.removeEventListener('abort', onAbort); resolve(r); },
      (err: unknown) => { signal.removeEventListener('abort', onAbort); reject(err); },
    );
  });
}

export async function appendBody(ctx: SessionContext, rec: SessionRecord, offset: number, body: AsyncIterable<Buffer>, signal: AbortSignal): Promise<AppendOutcome> {
  const crypto = ctx.keys.cryptoFor(rec);
  const it = body[Symbol.asyncIterator]();
  let piece: Buffer | null = null;
  if (offset < rec.received) {
    const overlap = await checkOverlap(ctx, rec, crypto, it, offset);
    if (overlap.ended) return { record: rec, error: null };
    piece = overlap.leftover;
  }
  const app = new Appender(ctx, rec, crypto);
  await app.loadTail();
  while (!app.stopped) {
    if (piece === null) {
      let n: IteratorResult<Buffer> | 'aborted';
      try {
        n = await nextOrAbort(it, signal);
      } catch (err) {
        // The body broke off (client gone, bad framing): keep what arrived, like a shorter upload.
        app.stop(new LucidError('API_ERR_BAD_REQUEST', `the upload body ended abnormally: ${(err as Error).message}`));
        break;
      }
      if (n === 'aborted') {
        app.stop(interrupted());
        break;
      }
      if (n.done) break;
      piece = n.value;
    }
    if (signal.aborted) {
      app.stop(interrupted());
      break;
    }
    const room = rec.quotaBytes - app.position;
    if (piece.length > room) {
      await app.push(piece.subarray(0, room));
      app.stop(new LucidError('SESS_ERR_QUOTA', `the session quota of ${rec.quotaBytes} bytes is reached`, { quotaBytes: rec.quotaBytes }));
      break;
    }
    await app.push(piece);
    piece = null;
  }
  return app.finish();
}
