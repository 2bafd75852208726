// The payout statement on chain (issue 23; services/payout/README.md "Anchoring"). A `statement`
// transaction names a closed credit epoch and the hash of its statement; every validator
// recomputes that statement from the chain alone — the epoch's final credit record (apply.ts
// keeps it in the state until it is final), the genesis pool (`params.payoutPool`) and what the
// previous statement carried out (kept here in the state) — with the very code the payout process
// pays from (services/statement), and a block carrying any other hash is invalid: honest
// validators never prevote it, so a false statement can never be final.
//
// Exactly one statement per epoch, in epoch order, whoever submits: a statement is valid only for
// the NEXT epoch to state (the oldest closed epoch with blocks after the last stated one); once
// one is applied, any other for that epoch — another node's, or the same node's again — is
// invalid, in the same block or later, and the builder and the mempool drop it. Every validator's
// core submits (statementsDue); the first in chain order wins; the others cost a gossip.
import { epochStatement, MICRO, type EpochStatement, type OperatorCredits } from '../../statement/index.js';
import { credits, type ChainState, type EpochState } from './state.js';
import type { StatementTx } from '../codec/tx.js';

/** The last statement the chain made final (absent before the first). */
export interface StatedEpoch {
  readonly epoch: number;
  readonly hash: string;
  /** Height of the block that carried it, and its place in the block. */
  readonly height: number;
  readonly txIndex: number;
  /** What it carried out, micro-USDT as decimal strings, by operator (the next one carries it in). */
  readonly carried: Readonly<Record<string, string>>;
}

/** Coded reasons: the block (or mempool) refusal message starts with the code. */
export const STATEMENT_MISMATCH = 'LEDGER_ERR_STATEMENT_MISMATCH';
export const STATEMENT_INVALID = 'LEDGER_ERR_STATEMENT_INVALID';

/** The operators' lines of epoch `ep` as the statement takes them: capped credits, uptime share in time. */
export function statementOperators(ep: EpochState, state: Pick<ChainState, 'params'>): OperatorCredits[] {
  return Object.entries(ep.nodes).map(([node, w]) => ({ operator: node, credits: credits(w, state.params).total, uptime: w.uptimeMs, window: ep.chainMs }));
}

/** The pool of every epoch, micro-USDT (0: this chain makes no statements). */
export function payoutPool(state: Pick<ChainState, 'params'>): bigint {
  return BigInt(state.params.payoutPool ?? 0);
}

/** The next epoch to state after `last`, if its record is final: the oldest closed epoch with blocks. */
export function nextEpochToState(state: ChainState, last: StatedEpoch | undefined): number | null {
  const open = Object.entries(state.epochs)
    .map(([k, ep]) => ({ e: Number(k), ep }))
    .filter(({ e, ep }) => ep.blocks > 0 && (last === undefined || e > last.epoch))
    .sort((a, b) => a.e - b.e);
  const first = open[0];
  return first && first.ep.closedBy !== null ? first.e : null;
}

/** The statement every validator computes for `epoch` on `state` (after `last`). */
export function expectedStatement(state: ChainState, epoch: number, last: StatedEpoch | undefined): EpochStatement {
  const ep = state.epochs[String(epoch)]!;
  const carried = new Map(Object.entries(last?.carried ?? {}).map(([k, v]) => [k, BigInt(v)]));
  return epochStatement({ chainId: state.chainId, epoch, pool: payoutPool(state), operators: statementOperators(ep, state), prev: last ? { hash: last.hash, carried } : null });
}

/**
 * Checks a statement transaction against `state` with `last` the statement stated before it (in
 * this block or earlier). Returns the new last statement, or a coded reason.
 */
export function applyStatement(state: ChainState, last: StatedEpoch | undefined, tx: StatementTx, height: number, txIndex: number): StatedEpoch | string {
  if (payoutPool(state) === 0n) return `${STATEMENT_INVALID}: this chain has no payout pool (genesis params.payoutPool)`;
  if (!state.validators.some((v) => v.publicKey === tx.node.toString('hex'))) return `${STATEMENT_INVALID}: the submitter is not a validator`;
  if (last && tx.epoch <= last.epoch) return `${STATEMENT_INVALID}: epoch ${tx.epoch} is stated already (last stated: ${last.epoch})`;
  const next = nextEpochToState(state, last);
  if (next !== tx.epoch) return `${STATEMENT_INVALID}: epoch ${tx.epoch} is not the next to state (${next === null ? 'none is closed yet' : `next: ${next}`})`;
  let expected: EpochStatement;
  try {
    expected = expectedStatement(state, tx.epoch, last);
  } catch (err) {
    return `${STATEMENT_INVALID}: ${(err as Error).message}`;
  }
  const hash = tx.hash.toString('hex');
  if (hash !== expected.hash) return `${STATEMENT_MISMATCH}: statement of epoch ${tx.epoch} is ${hash}, the chain's credits give ${expected.hash}`;
  const carried: Record<string, string> = {};
  for (const l of expected.document.lines) if (l['carriedOut'] !== '0') carried[String(l['operator'])] = String(l['carriedOut']);
  return { epoch: tx.epoch, hash, height, txIndex, carried };
}

/** The mempool's door check: null when the next block on `state` would take this statement. */
export function statementPrecheck(state: ChainState, tx: StatementTx): string | null {
  const r = applyStatement(state, state.stated, tx, state.height + 1, 0);
  return typeof r === 'string' ? r : null;
}

/** The statements this node should submit on `state` (at most one: the next due). */
export function statementDue(state: ChainState): { epoch: number; hash: string } | null {
  if (payoutPool(state) === 0n) return null;
  const e = nextEpochToState(state, state.stated);
  if (e === null) return null;
  return { epoch: e, hash: expectedStatement(state, e, state.stated).hash };
}

export { MICRO };
