// Validator admission: the current validators decide who joins. A `join` (signed by the joiner's
// own key: it holds the key and asks) takes effect only when validators holding more than 2/3 of
// the power of the block's validator set have approved exactly that key and power with `approve`
// transactions signed by their node keys (each given by that node's admin through the API).
// Leaving stays self-signed. The rules, shared by block validity (apply.ts) and the mempool's
// door check, so a transaction the chain would refuse does not wait in a mempool either:
//
//   approve  the signer is a validator of the block's set; the joiner is not a validator; power is
//            1..params.maxJoinPower; joinerNonce is the joiner's last join/leave nonce on chain (0
//            for none), so an approval counts for the joiner's next join only and a replay after
//            a join or a leave counts for nothing; height ≤ validUntil ≤ height + APPROVAL_TTL_HEIGHTS
//            (approvals expire); a validator holds at most MAX_OPEN_APPROVALS open approvals (a
//            byzantine validator cannot bloat the state). A newer approval of the same joiner by the
//            same validator replaces the older one.
//   join     not a validator; power 1..params.maxJoinPower; nonce above the last one; the approvals
//            naming this key, this power and the current nonce, unexpired, from validators of the
//            block's set, add up to more than 2/3 of that set's power (3·approved > 2·total). The
//            joiner votes from the next height; its approvals are consumed.
//
// State: approvals by joiner and approver, pruned when they expire, are consumed, or their
// approver left the set. Plain JSON (hex keys) inside the chain state snapshot.
import type { ApproveTx, JoinTx, Tx } from '../codec/tx.js';
import type { ChainParams } from './genesis.js';
import type { ChainState, ValidatorEntry } from './state.js';

/** One day of the default 10 s slot: approvals are a decision of the moment, not a standing grant. */
export const APPROVAL_TTL_HEIGHTS = 8640;
/** Open approvals per validator (a byzantine validator cannot fill the state with approvals). */
export const MAX_OPEN_APPROVALS = 16;

export interface Approval {
  readonly power: number;
  readonly joinerNonce: number;
  readonly validUntil: number;
}

/** joiner (hex) → approver (hex) → approval. */
export type Approvals = Readonly<Record<string, Readonly<Record<string, Approval>>>>;

/** What the admission rules read: the block's validator set and height, nonces, approvals. */
export interface AdmissionView {
  readonly params: ChainParams;
  /** Height of the block being applied (or the next block, for the mempool). */
  readonly height: number;
  /** Validators of that height: the set whose power approves. */
  readonly voters: readonly ValidatorEntry[];
  /** The set as changed so far inside the block (a joiner admitted earlier in the block is in it). */
  readonly validators: readonly ValidatorEntry[];
  readonly nonces: Readonly<Record<string, number>>;
  readonly approvals: Approvals;
}

export type AdmissionFault =
  | 'not-a-validator' | 'joiner-is-validator' | 'power' | 'nonce' | 'expiry' | 'too-many-approvals' | 'not-approved' | 'last-validator';

export class AdmissionRefused extends Error {
  constructor(readonly fault: AdmissionFault, message: string, readonly details: Record<string, unknown> = {}) {
    super(message);
  }
}

const powerIn = (vals: readonly ValidatorEntry[], key: string): number => vals.find((v) => v.publicKey === key)?.power ?? 0;
const total = (vals: readonly ValidatorEntry[]): number => vals.reduce((a, v) => a + v.power, 0);

export function lastNonce(nonces: Readonly<Record<string, number>>, key: string): number {
  return nonces[key] ?? 0;
}

function checkPower(v: AdmissionView, power: number): void {
  if (!Number.isInteger(power) || power < 1 || power > v.params.maxJoinPower) {
    throw new AdmissionRefused('power', `join power ${power} outside 1..${v.params.maxJoinPower}`, { maxJoinPower: v.params.maxJoinPower });
  }
}

/** Power of the voters that approved `joiner` joining with `power` for its next join, now. */
export function approvedPower(v: AdmissionView, joiner: string, power: number): { approved: number; total: number } {
  const nonce = lastNonce(v.nonces, joiner);
  let approved = 0;
  for (const [approver, a] of Object.entries(v.approvals[joiner] ?? {})) {
    if (a.power === power && a.joinerNonce === nonce && a.validUntil >= v.height) approved += powerIn(v.voters, approver);
  }
  return { approved, total: total(v.voters) };
}

/** Throws AdmissionRefused, or returns the approvals with this one recorded. */
export function applyApprove(v: AdmissionView, tx: ApproveTx): Approvals {
  const approver = tx.node.toString('hex');
  const joiner = tx.joiner.toString('hex');
  if (powerIn(v.voters, approver) === 0) throw new AdmissionRefused('not-a-validator', 'the approver is not a validator');
  if (powerIn(v.validators, joiner) > 0) throw new AdmissionRefused('joiner-is-validator', 'the joiner is already a validator');
  checkPower(v, tx.power);
  const nonce = lastNonce(v.nonces, joiner);
  if (tx.joinerNonce !== nonce) throw new AdmissionRefused('nonce', `approval names join nonce ${tx.joinerNonce}, the joiner's last is ${nonce}`);
  if (tx.validUntil < v.height || tx.validUntil > v.height + APPROVAL_TTL_HEIGHTS) {
    throw new AdmissionRefused('expiry', `approval valid until ${tx.validUntil}, outside ${v.height}..${v.height + APPROVAL_TTL_HEIGHTS}`);
  }
  let open = 0;
  for (const [j, byApprover] of Object.entries(v.approvals)) {
    const a = byApprover[approver];
    if (j !== joiner && a && a.validUntil >= v.height) open++;
  }
  if (open >= MAX_OPEN_APPROVALS) throw new AdmissionRefused('too-many-approvals', `the approver has ${open} open approvals (at most ${MAX_OPEN_APPROVALS})`);
  return { ...v.approvals, [joiner]: { ...v.approvals[joiner], [approver]: { power: tx.power, joinerNonce: tx.joinerNonce, validUntil: tx.validUntil } } };
}

/** Throws AdmissionRefused unless the join is approved; returns the approvals without the joiner's. */
export function applyJoin(v: AdmissionView, tx: JoinTx): Approvals {
  const joiner = tx.node.toString('hex');
  if (powerIn(v.validators, joiner) > 0) throw new AdmissionRefused('joiner-is-validator', 'already a validator');
  checkPower(v, tx.power);
  if (tx.nonce <= lastNonce(v.nonces, joiner)) throw new AdmissionRefused('nonce', 'stale nonce');
  const { approved, total: all } = approvedPower(v, joiner, tx.power);
  if (!(3 * approved > 2 * all)) {
    throw new AdmissionRefused('not-approved', `approved by validators holding ${approved} of ${all} power; more than 2/3 is needed`, { approvedPower: approved, totalPower: all });
  }
  const { [joiner]: _consumed, ...rest } = v.approvals;
  return rest;
}

/** After a block: drop approvals that expired, and those whose approver is no longer a validator. */
export function pruneApprovals(approvals: Approvals, nextHeight: number, validators: readonly ValidatorEntry[]): Approvals {
  const out: Record<string, Record<string, Approval>> = {};
  for (const [joiner, byApprover] of Object.entries(approvals)) {
    const kept = Object.entries(byApprover).filter(([approver, a]) => a.validUntil >= nextHeight && powerIn(validators, approver) > 0);
    if (kept.length > 0) out[joiner] = Object.fromEntries(kept);
  }
  return out;
}

/** The rules as they stand for the next block on top of `state`. */
export function nextBlockView(state: ChainState): AdmissionView {
  return { params: state.params, height: state.height + 1, voters: state.validators, validators: state.validators, nonces: state.nonces, approvals: state.approvals ?? {} };
}

/**
 * The mempool's door check for membership transactions (others pass): null when the next block
 * on `state` would take it. A flood of unapproved joins or of approvals by strangers is turned
 * away here after one signature check, instead of costing every proposer a rebuild per bad entry.
 */
export function membershipPrecheck(state: ChainState, tx: Tx, pendingLeavers: ReadonlySet<string> = new Set()): AdmissionRefused | null {
  try {
    if (tx.type === 'join') applyJoin(nextBlockView(state), tx);
    else if (tx.type === 'approve') applyApprove(nextBlockView(state), tx);
    else if (tx.type === 'leave') {
      const node = tx.node.toString('hex');
      if (powerIn(state.validators, node) === 0) return new AdmissionRefused('not-a-validator', 'not a validator');
      if (remainingPower(state.validators, node, pendingLeavers) === 0) {
        return new AdmissionRefused('last-validator', 'leaving would leave no validator to decide blocks', { validators: state.validators.length, leaving: [...pendingLeavers].filter((k) => k !== node).length + 1 });
      }
      if (tx.nonce <= lastNonce(state.nonces, node)) return new AdmissionRefused('nonce', 'stale nonce');
    }
    return null;
  } catch (err) {
    if (err instanceof AdmissionRefused) return err;
    throw err;
  }
}

/**
 * The power left to decide blocks once `node` and the validators whose leave is already waiting
 * (`pendingLeavers`, e.g. in this node's mempool) are gone. A chain decides with > 2/3 of its
 * set's power, so any set with power left can still decide; an empty one never can again, and
 * the chain refuses the leave that would empty it (apply.ts: the last validator cannot leave).
 */
export function remainingPower(validators: readonly ValidatorEntry[], node: string, pendingLeavers: ReadonlySet<string>): number {
  return validators.filter((v) => v.publicKey !== node && !pendingLeavers.has(v.publicKey)).reduce((a, v) => a + v.power, 0);
}
