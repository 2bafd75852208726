// The validator-admission approval (transaction type 0x05, README "Transactions"): a validator's
// node key signs that it approves `joiner` joining the set with `power`. It counts only for the
// joiner's next join (joinerNonce = the joiner's last join/leave nonce on chain when approved, 0
// for none) and only up to height `validUntil`. The rules that use it: chain/admission.ts.
import type { Reader, Writer } from './bytes.js';

export interface ApproveTx {
  readonly type: 'approve';
  /** The approving validator (signs the transaction). */
  readonly node: Buffer;
  readonly joiner: Buffer;
  readonly power: number;
  readonly joinerNonce: number;
  readonly validUntil: number;
}

export function writeApproveBody(w: Writer, tx: ApproveTx): void {
  w.fixed(tx.node, 32).fixed(tx.joiner, 32).u32(tx.power).u64(tx.joinerNonce).u64(tx.validUntil);
}

export function readApproveBody(r: Reader): ApproveTx {
  return { type: 'approve', node: r.fixed(32), joiner: r.fixed(32), power: r.u32(), joinerNonce: r.u64(), validUntil: r.u64() };
}
