// After a restart inside a height: the height machine resumes from what the double-sign guard
// recorded for it — the round and step last signed, the lock, and the locked block (saved with
// the lock) as the valid value, when its hash matches. Pure; engine.ts feeds the recorded votes
// back into the machine itself.
import { blockHash, decodeBlock } from '../codec/block.js';
import type { MachineRestore } from './height-machine.js';
import { SIGN_STEP, type SignRecord } from './sign-guard.js';
import type { Value } from './engine-types.js';

/** A block's bytes as the value consensus decides on, or null when they do not decode. */
export function valueOfBlock(bytes: Buffer): Value | null {
  try {
    const hash = blockHash(decodeBlock(bytes).header);
    return { id: hash.toString('hex'), hash, bytes };
  } catch {
    return null;
  }
}

/** The machine's restore point from this height's guard records (undefined: nothing was signed). */
export function restoreFrom(records: readonly SignRecord[], lockedBlock: Buffer | null): MachineRestore<Value> | undefined {
  const last = records[records.length - 1];
  if (!last) return undefined;
  let lockedValue: Value | null = null;
  if (last.lockedId !== null && lockedBlock) {
    const v = valueOfBlock(lockedBlock);
    if (v && v.id === last.lockedId) lockedValue = v;
  }
  const step = last.step === SIGN_STEP.precommit ? 'precommit' : last.step === SIGN_STEP.prevote ? 'prevote' : 'propose';
  return { round: last.round, step, lockedRound: last.lockedRound, lockedId: last.lockedId, lockedValue };
}
