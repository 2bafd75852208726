// The two-person rule of services/auth (approvals.ts), applied to the two payout actions that
// need two people: a payout from 5,000 USDT, and setting or changing an operator's payout
// address. The first admin signs with their own wallet and their signature goes on record; an
// auth approval request is filed in their name. The second admin approves *with their own
// wallet's signature*: core keeps it for the moment of approval, auth checks that the two are
// independent accounts (not the requester, existed before, not made or credentialed by them…)
// and runs the action exactly once, which hands the second signature to the payout process.
// There is no device code for money: a payout without a second person waits.
//
// The payout process checks the signatures again (two distinct enrolled approvers); this adds
// what only core can know — that they are two accounts, independent of each other.
import { LucidError } from '../common/errors.js';
import type { ApprovalKind, ApprovalRequest } from '../auth/index.js';
import type { PayoutClient } from './client.js';

export interface Actor { readonly id: string; readonly username: string; readonly role: string }

/** The slice of services/auth's Approvals the payout routes use. */
export interface ApprovalsPort {
  register(kind: string, spec: ApprovalKind): void;
  request(kind: string, params: Record<string, unknown>, requester: Actor, reason: string, ip: string | null, sealed?: Record<string, unknown>): Promise<ApprovalRequest>;
  pendingOf(kinds: readonly string[]): ApprovalRequest[];
  approve(id: string, approver: Actor, ip: string | null): Promise<{ request: ApprovalRequest; result: Record<string, unknown> }>;
}

export const PAYOUT_APPROVE = 'payout.approve';
export const PAYOUT_ADDRESS = 'payout.address';

export class PayoutTwoPerson {
  /** Second signatures, by `${request id}:${approver id}`, only for the length of one approve(). */
  private readonly held = new Map<string, string>();

  constructor(private readonly approvals: ApprovalsPort, private readonly client: PayoutClient) {}

  /** Before auth starts (pending requests of unknown kinds are dropped at start). */
  register(): void {
    const needSignature = (req: ApprovalRequest, approver: { id: string }): void => {
      if (!this.held.has(`${req.id}:${approver.id}`)) throw new Error('approve it on the Payouts page: the approval is a signature of your own wallet');
    };
    this.approvals.register(PAYOUT_APPROVE, {
      audit: 'payout.approve', deviceCode: false, checkApprover: needSignature,
      execute: async (req, _sealed, approver) => {
        const signature = this.held.get(`${req.id}:${approver.id}`)!;
        const r = await this.client.call('payout.approve', { id: String(req.params['payoutId']), signatures: [signature] }) as { state: string };
        return { state: r.state };
      },
    });
    this.approvals.register(PAYOUT_ADDRESS, {
      audit: 'payout.address', deviceCode: false, checkApprover: needSignature,
      execute: async (req, sealed, approver) => {
        const p = req.params as { operator: string; to: string; version: number };
        const signatures = [String(sealed['signature']), this.held.get(`${req.id}:${approver.id}`)!];
        const r = await this.client.call('address.change', { operator: p.operator, to: p.to, version: p.version, signatures }) as { address: string; version: number };
        return { address: r.address, version: r.version };
      },
    });
  }

  pending(kind: string, match: (params: Readonly<Record<string, unknown>>) => boolean): ApprovalRequest | undefined {
    return this.approvals.pendingOf([kind]).find((q) => match(q.params));
  }

  list(): ApprovalRequest[] {
    return this.approvals.pendingOf([PAYOUT_APPROVE, PAYOUT_ADDRESS]);
  }

  request(kind: string, params: Record<string, unknown>, requester: Actor, reason: string, ip: string | null, sealed: Record<string, unknown> = {}): Promise<ApprovalRequest> {
    return this.approvals.request(kind, params, requester, reason, ip, sealed);
  }

  /** The second person: their signature is held while auth decides and, if it may, runs the action. */
  async second(req: ApprovalRequest, approver: Actor, signature: string, ip: string | null): Promise<Record<string, unknown>> {
    if (req.requestedBy.id === approver.id) throw new LucidError('PAYOUT_ERR_SAME_APPROVER', 'you made the first approval; a second person must approve');
    const key = `${req.id}:${approver.id}`;
    this.held.set(key, signature);
    try {
      return (await this.approvals.approve(req.id, approver, ip)).result;
    } finally {
      this.held.delete(key);
    }
  }
}
