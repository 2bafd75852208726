// A resumed upload may start before the acknowledged end (the client lost our answer). The
// re-sent bytes must equal the stored ones — compared against the authenticated plaintext —
// before anything new is appended; a difference is SESS_ERR_OFFSET_MISMATCH and nothing is
// written. An upload that ends inside the stored range changes nothing (idempotent).
import { LucidError } from '../common/errors.js';
import type { SessionCrypto } from '../chunks/index.js';
import type { SessionContext } from './context.js';
import { readPlain } from './reader.js';
import type { SessionRecord } from './records.js';

export interface OverlapResult {
  /** The body ended before (or at) the stored end. */
  readonly ended: boolean;
  /** Bytes of the last body piece past the stored end: the first new bytes. */
  readonly leftover: Buffer | null;
}

function firstDifference(a: Buffer, b: Buffer): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return a.length;
}

export async function checkOverlap(ctx: SessionContext, rec: SessionRecord, crypto: SessionCrypto, body: AsyncIterator<Buffer>, offset: number): Promise<OverlapResult> {
  const end = rec.received;
  const stored = readPlain(ctx, rec, crypto, offset, end);
  let have: Buffer = Buffer.alloc(0);
  let pos = offset;
  try {
    while (pos < end) {
      const n = await body.next();
      if (n.done) return { ended: true, leftover: null };
      const piece = n.value;
      let off = 0;
      while (off < piece.length && pos < end) {
        if (have.length === 0) {
          const s = await stored.next();
          if (s.done) throw new Error(`stored bytes ended at ${pos}, before ${end}`);
          have = s.value;
        }
        const k = Math.min(have.length, piece.length - off, end - pos);
        const mine = piece.subarray(off, off + k);
        if (!mine.equals(have.subarray(0, k))) {
          const at = pos + firstDifference(mine, have);
          throw new LucidError('SESS_ERR_OFFSET_MISMATCH', `the bytes sent for offset ${at} differ from the stored ones`, { at, received: end });
        }
        off += k;
        pos += k;
        have = have.subarray(k);
      }
      if (pos === end) return { ended: false, leftover: off < piece.length ? piece.subarray(off) : null };
    }
    return { ended: false, leftover: null };
  } finally {
    await stored.return(undefined);
  }
}
