// One epoch's statement from its inputs — the single implementation both sides run: the chain's
// validity rule (services/ledger: a `statement` transaction is valid only if its hash equals
// this function's result over the chain's own credits) and the payout process (which pays only
// a statement whose hash the chain made final). Inputs are chain data only: the epoch's closed
// credit record, the pool from the genesis, and what the previous stated epoch carried out.
import { computeStatement, DEFAULT_STATEMENT_PARAMS, type OperatorCredits, type StatementParams } from './arithmetic.js';
import { lineFromJson, statementDocument, statementHash, type StatementDocument } from './document.js';

export interface EpochStatementInput {
  readonly chainId: string;
  readonly epoch: number;
  /** The epoch's reward pool, micro-USDT. */
  readonly pool: bigint;
  readonly operators: readonly OperatorCredits[];
  /** The previous statement's hash and what it carried out (carried in here), or null for the first. */
  readonly prev: { readonly hash: string; readonly carried: ReadonlyMap<string, bigint> } | null;
}

export interface EpochStatement {
  readonly document: StatementDocument;
  readonly hash: string;
}

/** What a statement carried out, per operator (the next statement's carried in). */
export function carriedOut(doc: StatementDocument | null): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const l of doc?.lines ?? []) {
    const line = lineFromJson(l);
    if (line.carriedOut > 0n) out.set(line.operator, line.carriedOut);
  }
  return out;
}

/** Throws RangeError on an impossible input (bad operator id, negative numbers). */
export function epochStatement(input: EpochStatementInput, params: StatementParams = DEFAULT_STATEMENT_PARAMS): EpochStatement {
  const computed = computeStatement({ epoch: input.epoch, pool: input.pool, operators: input.operators, carriedIn: input.prev?.carried ?? new Map() }, params);
  const document = statementDocument(computed, input.chainId, input.prev?.hash ?? null);
  return { document, hash: statementHash(document) };
}
