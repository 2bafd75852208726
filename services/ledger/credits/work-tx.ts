// The bodies of the work transactions (type 0x02; byte layout in README "Transactions"): a
// storage answer (kind 0x03) and a validator's verdicts on answers (kind 0x04). Kinds 0x01 (relay
// proof with a self-reported byte count) and 0x02 (storage proof without the object) of the first
// format are gone: relay credits come from anchors, storage credits from answered challenges.
import { CodecError, type Reader, type Writer } from '../codec/bytes.js';

export const WORK_KIND = { answer: 3, verdicts: 4 } as const;
export const MAX_ANSWER_PATH = 64;
export const MAX_VERDICTS = 1024;

/** A storage challenge is named by the height of the block that issued it and its place there. */
export interface ChallengeRef {
  readonly height: number;
  readonly seq: number;
}

export interface StorageAnswerTx {
  readonly type: 'work';
  readonly kind: 'answer';
  /** The challenged node (the signer). */
  readonly node: Buffer;
  readonly challenge: ChallengeRef;
  /** SHA-256(0x00 ‖ object): the challenged leaf. */
  readonly leafHash: Buffer;
  /** SHA-256("lucid/storage-answer/v1" ‖ seed ‖ node ‖ object): possession of the whole object now. */
  readonly digest: Buffer;
  /** RFC 6962 audit path of the leaf to the anchored root (tree size from the anchor). */
  readonly path: readonly Buffer[];
}

export interface Verdict extends ChallengeRef {
  /** True: the object was fetched and checks out; false: the object served is wrong. */
  readonly ok: boolean;
}

export interface VerdictsTx {
  readonly type: 'work';
  readonly kind: 'verdicts';
  /** The validator giving the verdicts (the signer). */
  readonly node: Buffer;
  readonly verdicts: readonly Verdict[];
}

export type WorkTx = StorageAnswerTx | VerdictsTx;

export function encodeWork(w: Writer, tx: WorkTx): void {
  if (tx.kind === 'answer') {
    if (tx.path.length > MAX_ANSWER_PATH) throw new CodecError('answer path too long');
    w.u8(WORK_KIND.answer).u64(tx.challenge.height).u32(tx.challenge.seq).fixed(tx.leafHash, 32).fixed(tx.digest, 32).u8(tx.path.length);
    for (const p of tx.path) w.fixed(p, 32);
    return;
  }
  if (tx.verdicts.length < 1 || tx.verdicts.length > MAX_VERDICTS) throw new CodecError(`1..${MAX_VERDICTS} verdicts per transaction`);
  w.u8(WORK_KIND.verdicts).u16(tx.verdicts.length);
  for (const v of tx.verdicts) w.u64(v.height).u32(v.seq).u8(v.ok ? 1 : 0);
}

export function decodeWork(r: Reader, node: Buffer): WorkTx {
  const kind = r.u8();
  if (kind === WORK_KIND.answer) {
    const challenge = { height: r.u64(), seq: r.u32() };
    const leafHash = r.fixed(32);
    const digest = r.fixed(32);
    const n = r.u8();
    if (n > MAX_ANSWER_PATH) throw new CodecError('answer path too long');
    const path: Buffer[] = [];
    for (let i = 0; i < n; i++) path.push(r.fixed(32));
    return { type: 'work', kind: 'answer', node, challenge, leafHash, digest, path };
  }
  if (kind === WORK_KIND.verdicts) {
    const n = r.u16();
    if (n < 1 || n > MAX_VERDICTS) throw new CodecError(`1..${MAX_VERDICTS} verdicts per transaction`);
    const verdicts: Verdict[] = [];
    for (let i = 0; i < n; i++) {
      const height = r.u64();
      const seq = r.u32();
      const ok = r.u8();
      if (ok > 1) throw new CodecError('verdict must be 0 or 1');
      verdicts.push({ height, seq, ok: ok === 1 });
    }
    return { type: 'work', kind: 'verdicts', node, verdicts };
  }
  if (kind === 1 || kind === 2) throw new CodecError(`work kind ${kind} (self-reported relay/storage proof) is no longer accepted`);
  throw new CodecError(`unknown work kind ${kind}`);
}
