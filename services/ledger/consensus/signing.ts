// Signing this node's proposals and votes through the double-sign guard (engine.ts calls these):
// a step is signed only when the guard allows it; a vote signed differently before a restart is
// sent as it was stored, never re-signed.
import { voteFromRecord, type VoteMessage, type WireMessage } from '../codec/messages.js';
import { proposalSignBytes, voteSignBytes, type VoteType } from '../codec/vote.js';
import { SIGN_STEP } from './sign-guard.js';
import type { EngineDeps, Value } from './engine-types.js';

export interface SignAt {
  readonly deps: Pick<EngineDeps, 'guard' | 'signer'>;
  readonly chainId: string;
  readonly height: number;
}

export function signProposal(at: SignAt, round: number, value: Value, validRound: number, lock: { round: number; valueId: string | null }): WireMessage | null {
  const signBytes = proposalSignBytes(at.chainId, { height: at.height, round, validRound, blockHash: value.hash });
  const r = at.deps.guard.sign({ height: at.height, round, step: SIGN_STEP.proposal, signBytes, lockedRound: lock.round, lockedId: lock.valueId });
  if (r.kind !== 'signed' && r.kind !== 'repeat') return null;
  return { t: 'proposal', height: at.height, round, validRound, proposer: at.deps.signer.publicKey, signature: r.signature, block: value.bytes };
}

/** The vote to send for this step (null: the guard refuses), given the locked block's bytes when a precommit is for it. */
export function signVote(at: SignAt, type: VoteType, round: number, valueId: string | null, lock: { round: number; valueId: string | null }, lockedBlock: Buffer | null): VoteMessage | null {
  const value = valueId ? Buffer.from(valueId, 'hex') : null;
  const signBytes = voteSignBytes(at.chainId, { type, height: at.height, round, value });
  const r = at.deps.guard.sign({ height: at.height, round, step: type === 'prevote' ? SIGN_STEP.prevote : SIGN_STEP.precommit, signBytes, lockedRound: lock.round, lockedId: lock.valueId, lockedBlock });
  if (r.kind === 'signed' || r.kind === 'repeat') return { t: 'vote', type, height: at.height, round, value, validator: at.deps.signer.publicKey, signature: r.signature };
  // Signed differently before a restart: the stored vote is the only one this node may send.
  if (r.kind === 'conflict') return voteFromRecord(r.record, at.deps.signer.publicKey);
  return null;
}
