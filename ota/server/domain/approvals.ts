// The two-person rule on the fleet: the appliance's mechanism (services/auth/approvals.ts) on the
// fleet's store. The rule itself — who may approve whose request — is the appliance's own pure
// `independence()`, imported, not rewritten: another admin, who existed and held their role before
// the request, was not created, promoted or given credentials by the requester, and did not set
// the requester's current password. Exactly once: the request is taken out of the store (one
// atomic delete, whichever instance gets there first) before its action runs.
import { randomBytes } from 'node:crypto';
import { LucidError } from '../../../services/common/errors.js';
import { APPROVAL_TTL_MS, independence, type ApprovalRequest } from '../../../services/auth/index.js';
import { hasRole, type Principal } from '../../../services/api/index.js';
import type { ApprovalRecord, FleetStore, FleetUser } from '../store/types.js';

export interface ApprovalKindSpec {
  /** Runs once, on approval. */
  execute(req: ApprovalRecord, approver: Principal): Promise<Record<string, unknown>>;
}

type Audit = (action: string, actor: string, target: string | null, outcome: 'success' | 'denied' | 'failure', details?: Record<string, unknown>) => Promise<void>;

export class FleetApprovals {
  private readonly kinds = new Map<string, ApprovalKindSpec>();

  constructor(private readonly deps: { store: FleetStore; now: () => number; audit: Audit }) {}

  register(kind: string, spec: ApprovalKindSpec): void {
    this.kinds.set(kind, spec);
  }

  async request(kind: string, params: Record<string, unknown>, by: Principal, reason: string): Promise<ApprovalRecord> {
    const now = this.deps.now();
    const req: ApprovalRecord = {
      id: `a-${randomBytes(6).toString('hex')}`, kind, params, requestedBy: { id: by.userId, username: by.username, role: by.role }, reason: reason.slice(0, 300),
      createdAt: now, expiresAt: now + APPROVAL_TTL_MS,
    };
    await this.deps.store.putApproval(req);
    await this.deps.audit(`${kind}.request`, by.userId, req.id, 'success', { ...params, reason });
    return req;
  }

  async list(): Promise<Array<ApprovalRecord & { expired: boolean }>> {
    const now = this.deps.now();
    return (await this.deps.store.listApprovals()).map((a) => ({ ...a, expired: a.expiresAt <= now }));
  }

  async approve(id: string, approver: Principal): Promise<{ request: ApprovalRecord; result: Record<string, unknown> }> {
    const req = await this.deps.store.getApproval(id);
    if (!req || req.expiresAt <= this.deps.now()) throw new LucidError('AUTH_ERR_REQUEST_NOT_FOUND', `no pending request ${id}`);
    const spec = this.kinds.get(req.kind);
    if (!spec) throw new LucidError('AUTH_ERR_REQUEST_NOT_FOUND', `no handler for ${req.kind}`);
    const deny = async (code: 'AUTH_ERR_APPROVAL_SELF' | 'AUTH_ERR_APPROVAL_NOT_INDEPENDENT', why: string): Promise<never> => {
      await this.deps.audit(`${req.kind}.approve`, approver.userId, id, 'denied', { why, code });
      throw new LucidError(code, undefined, { why });
    };
    if (approver.userId === req.requestedBy.id) await deny('AUTH_ERR_APPROVAL_SELF', 'the approver is the requester');
    const [me, requester] = await Promise.all([this.deps.store.getUser(approver.userId), this.deps.store.getUser(req.requestedBy.id)]);
    if (!me || !hasRole(me.role, 'admin')) await deny('AUTH_ERR_APPROVAL_NOT_INDEPENDENT', 'the approver is not an admin');
    const why = independence(me as FleetUser, requester, req as ApprovalRequest);
    if (why) await deny('AUTH_ERR_APPROVAL_NOT_INDEPENDENT', why);
    // Taken out first: whatever happens next, it never runs twice.
    const taken = await this.deps.store.takeApproval(id);
    if (!taken) throw new LucidError('AUTH_ERR_REQUEST_NOT_FOUND', `request ${id} was approved meanwhile`);
    try {
      const result = await spec.execute(taken, approver);
      await this.deps.audit(`${req.kind}.approve`, approver.userId, id, 'success', { ...req.params, requestedBy: req.requestedBy.username, approvedBy: approver.username, ...result });
      return { request: taken, result };
    } catch (err) {
      await this.deps.audit(`${req.kind}.approve`, approver.userId, id, 'failure', { code: (err as LucidError).code ?? 'internal' });
      throw err;
    }
  }
}
