// A payout's durable record and the rules of its states. One file per payout, replaced
// atomically (temp, fsync, rename, directory fsync) at every transition, so after a crash the
// record says exactly how far it got:
//
//   requested ─approve─▶ approved ─build─▶ built ─sign─▶ signed ─send─▶ broadcast ─20 blocks─▶ paid
//       ▲                    ▲                │               │              │
//       │                    └──── abandoned attempt (expired, and the node proves its txid absent)
//       └ one per (epoch, operator): the idempotency key          └──────────────┴──▶ failed (reason)
//       ▲                                                                               │
//       └──────────── retry: a new round, approved again (no attempt of it can still pay) ┘
//
// An attempt is one transaction: built (raw bytes, the reference block, the expiration), then
// signed (the signature, recorded before anything is sent), then broadcast. A new attempt is
// made only after the previous one is proven dead, so at most one transaction of a payout can
// ever be valid on chain.
import type { RefBlock } from '../tron/check.js';

export type PayoutState = 'requested' | 'approved' | 'built' | 'signed' | 'broadcast' | 'paid' | 'failed';
export const PAYOUT_STATES: readonly PayoutState[] = ['requested', 'approved', 'built', 'signed', 'broadcast', 'paid', 'failed'];

export interface Attempt {
  readonly n: number;
  readonly txid: string;
  readonly rawData: string;
  readonly ref: RefBlock;
  readonly expiration: number;
  readonly builtAt: number;
  signature?: string;
  signedAt?: number;
  broadcastAt?: number;
  /** Block the node reported it in (may change with a fork). */
  blockNumber?: number;
  /** Set when it is proven dead (expired and absent) or final. */
  outcome?: 'abandoned' | 'confirmed' | 'reverted';
  note?: string;
}

export interface ApprovalSig { readonly approver: string; readonly signature: string; readonly at: number }

export interface PayoutRecord {
  /** `${epoch}:${operator}` — the idempotency key. */
  readonly id: string;
  readonly epoch: number;
  readonly operator: string;
  recipient: string;
  /** micro-USDT, decimal string. */
  readonly amount: string;
  /** 1, then +1 for each retry of a failed payout; approvals name it, so old ones do not count again. */
  round?: number;
  readonly statementHash: string;
  readonly requestedAt: number;
  state: PayoutState;
  approvals: ApprovalSig[];
  attempts: Attempt[];
  /** UTC day (YYYY-MM-DD) of the first signature: what the daily limit counts. */
  signedDay?: string;
  paidAt?: number;
  failure?: { readonly code: string; readonly reason: string; readonly at: number };
  history: Array<{ readonly state: PayoutState; readonly at: number; readonly note?: string }>;
}

const NEXT: Readonly<Record<PayoutState, readonly PayoutState[]>> = {
  requested: ['approved', 'failed'],
  approved: ['built', 'failed'],
  built: ['signed', 'approved', 'failed'],
  signed: ['broadcast', 'approved', 'failed'],
  broadcast: ['paid', 'approved', 'failed'],
  paid: [],
  // A retry, decided by approvers again, once every attempt is proven dead (engine.ts).
  failed: ['requested'],
};

export function canMove(from: PayoutState, to: PayoutState): boolean {
  return NEXT[from].includes(to);
}

export const payoutId = (epoch: number, operator: string): string => `${epoch}:${operator}`;
export const fileOf = (id: string): string => `${id.replace(':', '-')}.json`;
export const current = (r: PayoutRecord): Attempt | undefined => r.attempts[r.attempts.length - 1];
export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
