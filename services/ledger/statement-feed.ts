// The service's side of payout statements (chain/statements.ts has the rule): the transaction
// this node submits for the next due epoch, and what core hands the payout process for a stated
// epoch — the credit set the chain stated it from and the proof of its statement transaction
// (services/statement/anchor-proof.ts checks it there).
import type { ChainState } from './chain/state.js';
import { payoutPool, statementDue, statementOperators, statementPrecheck } from './chain/statements.js';
import { membershipPrecheck } from './chain/admission.js';
import { signTx, type Tx } from './codec/tx.js';
import { anchorProof, type AnchorProof } from './anchors/proof.js';
import type { ChainStore } from './store/chain-store.js';

export interface StatementForPayout {
  readonly creditSet: { chainId: string; epoch: number; pool: string; operators: Array<{ operator: string; credits: number; uptime: number; window: number }> };
  readonly anchor: (AnchorProof & { validators: Array<{ publicKey: string; power: number }> }) | null;
}

/**
 * This validator's statement of the next closed epoch, as its own computation. The bytes are
 * deterministic (Ed25519), so submitting it again after every block is a no-op in the mempool;
 * the first statement in chain order is final and the others are invalid from then on.
 */
export function dueStatementTx(state: ChainState, identity: { publicKeyHex: string; sign(m: Uint8Array): Buffer }, onError: (err: unknown) => void): { tx: Buffer; epoch: number; hash: string } | null {
  let due;
  try {
    due = statementDue(state);
  } catch (err) {
    onError(err);
    return null;
  }
  if (!due) return null;
  const tx = signTx(state.chainId, { type: 'statement', node: Buffer.from(identity.publicKeyHex, 'hex'), epoch: due.epoch, hash: Buffer.from(due.hash, 'hex') }, (m) => identity.sign(m));
  return { tx, ...due };
}

/** The credit set of a closed epoch and, once its statement is final, the proof; null before it closed. */
export async function statementForPayout(state: ChainState, store: ChainStore, epoch: number): Promise<StatementForPayout | null> {
  const ep = state.epochs[String(epoch)] ?? (await store.epoch(epoch));
  if (!ep || ep.blocks === 0 || ep.closedBy === null) return null;
  const creditSet = { chainId: state.chainId, epoch, pool: String(payoutPool(state)), operators: statementOperators(ep, state) };
  const st = await store.statement(epoch);
  if (!st) return { creditSet, anchor: null };
  const [block, commit] = await Promise.all([store.block(st.height), store.commit(st.height)]);
  if (!block || !commit) return { creditSet, anchor: null };
  return { creditSet, anchor: { ...anchorProof(block, commit, st.txIndex), validators: st.validators.map((v) => ({ publicKey: v.publicKey, power: v.power })) } };
}

/** The mempool's door: the chain's checks of membership changes (chain/admission.ts) and statements. */
export function txAdmissible(state: ChainState, tx: Tx): boolean {
  if (tx.type === 'statement') return statementPrecheck(state, tx) === null;
  return membershipPrecheck(state, tx) === null;
}

/** What core's payout feeder reads. */
export class StatementFeed {
  constructor(private readonly state: () => ChainState, private readonly store: ChainStore) {}

  /** A closed epoch's credit set and, once its statement is final, the proof. */
  of(epoch: number): Promise<StatementForPayout | null> {
    return statementForPayout(this.state(), this.store, epoch);
  }

  /** Epochs the chain has stated, from `after` (exclusive) to the last, oldest first. */
  async stated(after: number | null): Promise<number[]> {
    const last = this.state().stated;
    return last ? this.store.statedEpochs(after, last.epoch) : [];
  }
}
