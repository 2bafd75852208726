// Two-person actions: one admin requests, a second, independent admin approves, and the action
// runs exactly once. One mechanism for every kind — emergency lockdown and stop-all, granting
// admin or super_admin, resetting or (un)linking another admin's credentials, and later payouts
// over the approval limit (they register a kind the same way).
//
// The approver must be (independence(), README "Two-person rule"):
//   - another account, admin or above, that existed before the request was made and whose role
//     was last set before it;
//   - not created by the requester, and neither its role nor its credentials last set by them —
//     so no one can approve their own request through an account they made or whose password or
//     wallet they know (provenance fields in users.ts);
//   - not the one who set the requester's current credentials: whoever chose another admin's
//     password (an account's creator, until its owner sets their own) could ask in its name.
// Bootstrap: a kind may accept a one-time code from the device (device-code.ts: a long press of
// the button prints it on the console) instead of the second admin, but only while no account
// could approve the request at all — a fresh appliance has one admin, who needs physical access
// to the device to name a second one.
//
// Exactly once: approvals of one request are serialised; the request is taken out of the store
// (synced) before the action runs, so a second approval — concurrent or after a restart — finds
// nothing. A power cut between the two loses the request, never runs it twice.
import { DURABLE, type Store, type Sublevel } from '../store/index.js';
import { LucidError } from '../common/errors.js';
import { KeyedLock } from '../common/keyed-lock.js';
import type { AuditActor, AuditLog } from './audit.js';
import { newId } from './jwt.js';
import { hasRole, type Role } from './roles.js';
import type { UserRecord } from './users.js';

export const APPROVAL_TTL_MS = 30 * 60 * 1000;

export interface ApprovalRequest {
  readonly id: string;
  readonly kind: string;
  /** What the action does, shown to approvers (never secrets: those go in `sealed`). */
  readonly params: Readonly<Record<string, unknown>>;
  readonly requestedBy: AuditActor;
  readonly reason: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}
interface Stored extends ApprovalRequest { readonly sealed: Readonly<Record<string, unknown>> }

export interface ApprovalView extends ApprovalRequest {
  /** No account can approve it: a one-time code from the device may (bootstrap). */
  readonly deviceCode: boolean;
}

export interface ApprovalKind {
  /** Audit action prefix: `<audit>.request`, `<audit>.approve`. */
  readonly audit: string;
  /** Role the approver needs beyond admin (e.g. super_admin to grant super_admin). */
  approverRole?(req: ApprovalRequest): Role;
  /** Refusals specific to the kind (e.g. the approver is the user the request is about). */
  checkApprover?(req: ApprovalRequest, approver: UserRecord): void;
  /** Runs once, on approval; `approvedBy` is the approver's id, or 'device'. */
  execute(req: ApprovalRequest, sealed: Readonly<Record<string, unknown>>, approver: AuditActor, approvedBy: string): Promise<Record<string, unknown>>;
  /** May a device code stand in for the second admin while no account can approve? */
  readonly deviceCode?: boolean;
}

export interface ApprovalsDeps {
  readonly store: Store;
  readonly audit: AuditLog;
  readonly now: () => number;
  readonly users: { get(id: string): Promise<UserRecord | null>; list(): Promise<UserRecord[]> };
  /** Checks (and uses up) a one-time device code. */
  readonly takeDeviceCode: (code: string) => boolean;
}

/** Why `approver` may not approve `req` of `requester`, or null when they may. Pure: the whole rule is here. */
export function independence(approver: UserRecord, requester: UserRecord | null, req: ApprovalRequest): string | null {
  const r = req.requestedBy.id;
  if (approver.id === r) return 'the approver is the requester';
  if (!requester) return 'the requester no longer exists';
  if (!hasRole(approver.role, 'admin')) return 'the approver is not an admin';
  if (approver.createdAt >= req.createdAt) return 'the approver did not exist before the request';
  if (approver.roleChangedAt >= req.createdAt) return 'the approver got its role after the request';
  if (approver.createdBy === r) return 'the requester created the approver';
  if (approver.roleChangedBy === r) return 'the requester set the approver\'s role';
  if (approver.credentialsChangedBy === r) return 'the requester set the approver\'s credentials';
  if (requester.credentialsChangedBy === approver.id) return 'the approver set the requester\'s credentials (until the requester sets their own)';
  return null;
}

export class Approvals {
  private readonly db: Sublevel<Stored>;
  private readonly pending = new Map<string, Stored>();
  private readonly kinds = new Map<string, ApprovalKind>();
  private readonly lock = new KeyedLock();

  constructor(private readonly deps: ApprovalsDeps) {
    this.db = deps.store.sublevel<Stored>('auth-approvals');
  }

  register(kind: string, spec: ApprovalKind): void {
    if (this.kinds.has(kind)) throw new Error(`approval kind ${kind} registered twice`);
    this.kinds.set(kind, spec);
  }

  async start(): Promise<void> {
    const expired: string[] = [];
    for await (const r of this.db.values()) {
      if (r.expiresAt <= this.deps.now() || !this.kinds.has(r.kind)) expired.push(r.id);
      else this.pending.set(r.id, r);
    }
    // Not synced: a power cut only brings back requests that are expired anyway.
    if (expired.length > 0) await this.db.batch(expired.map((key) => ({ type: 'del' as const, key })));
  }

  async request(kind: string, params: Record<string, unknown>, requester: AuditActor, reason: string, ip: string | null, sealed: Record<string, unknown> = {}): Promise<ApprovalView> {
    const spec = this.spec(kind);
    const now = this.deps.now();
    for (const [id, r] of this.pending) {
      if (r.expiresAt > now) continue;
      this.pending.delete(id);
      await this.db.del(id, DURABLE);
    }
    const req: Stored = { id: newId(9), kind, params, requestedBy: requester, reason, createdAt: now, expiresAt: now + APPROVAL_TTL_MS, sealed };
    await this.db.put(req.id, req, DURABLE);
    this.pending.set(req.id, req);
    await this.deps.audit.append({ actor: requester, action: `${spec.audit}.request`, target: req.id, ip, outcome: 'success', details: { kind, reason, ...params } });
    return this.viewOf(req, await this.deps.users.list());
  }

  /** Pending requests (optionally of some kinds), oldest first. */
  async list(kinds?: readonly string[]): Promise<ApprovalView[]> {
    const users = await this.deps.users.list();
    const now = this.deps.now();
    return [...this.pending.values()]
      .filter((r) => r.expiresAt > now && (!kinds || kinds.includes(r.kind)))
      .sort((a, b) => a.createdAt - b.createdAt)
      .map((r) => this.viewOf(r, users));
  }

  /** Pending requests of some kinds, without the device-code flag (synchronous, for state views). */
  pendingOf(kinds: readonly string[]): ApprovalRequest[] {
    const now = this.deps.now();
    return [...this.pending.values()].filter((r) => r.expiresAt > now && kinds.includes(r.kind)).sort((a, b) => a.createdAt - b.createdAt).map(strip);
  }

  /** True when some pending request could take a device code now (a long press then prints one). */
  async wantsDeviceCode(): Promise<boolean> {
    return (await this.list()).some((r) => r.deviceCode);
  }

  /**
   * Approves and executes request `id` once. `approver` is the calling admin; with `deviceCode`
   * (bootstrap only) the device stands in for the second person.
   */
  async approve(id: string, approver: AuditActor, ip: string | null, options: { deviceCode?: string; kinds?: readonly string[] } = {}): Promise<{ request: ApprovalRequest; result: Record<string, unknown> }> {
    return this.lock.run(id, async () => {
      const req = this.pending.get(id);
      if (!req || req.expiresAt <= this.deps.now() || (options.kinds && !options.kinds.includes(req.kind))) {
        throw new LucidError('AUTH_ERR_REQUEST_NOT_FOUND', `no pending request ${id}`);
      }
      const spec = this.spec(req.kind);
      const deny = async (code: 'AUTH_ERR_APPROVAL_SELF' | 'AUTH_ERR_APPROVAL_NOT_INDEPENDENT' | 'AUTH_ERR_DEVICE_CODE' | 'AUTH_ERR_ROLE_TOO_HIGH', why: string): Promise<never> => {
        await this.deps.audit.append({ actor: approver, action: `${spec.audit}.approve`, target: id, ip, outcome: 'denied', details: { why, code } });
        throw new LucidError(code, undefined, { why });
      };
      let approvedBy = approver.id;
      if (options.deviceCode !== undefined) {
        if (!spec.deviceCode) await deny('AUTH_ERR_DEVICE_CODE', 'this kind of request needs a second admin');
        if (this.approvable(req, await this.deps.users.list())) await deny('AUTH_ERR_DEVICE_CODE', 'an admin can approve this request: ask them');
        if (!this.deps.takeDeviceCode(options.deviceCode)) await deny('AUTH_ERR_DEVICE_CODE', 'wrong or expired device code');
        approvedBy = 'device';
      } else {
        if (approver.id === req.requestedBy.id) await deny('AUTH_ERR_APPROVAL_SELF', 'the approver is the requester');
        const record = await this.deps.users.get(approver.id);
        const why = record ? this.refusal(spec, req, record, await this.deps.users.get(req.requestedBy.id)) : 'the approver no longer exists';
        if (why) await deny(why.startsWith('needs ') ? 'AUTH_ERR_ROLE_TOO_HIGH' : 'AUTH_ERR_APPROVAL_NOT_INDEPENDENT', why);
      }
      // Taken out first (synced): whatever happens next, this request never runs again.
      this.pending.delete(id);
      await this.db.del(id, DURABLE);
      const { sealed, ...request } = req;
      try {
        const result = await spec.execute(request, sealed, approver, approvedBy);
        await this.deps.audit.append({
          actor: approver, action: `${spec.audit}.approve`, target: id, ip, outcome: 'success',
          details: { kind: req.kind, requestedBy: req.requestedBy.username, approvedBy: approvedBy === 'device' ? 'device code' : approver.username, ...req.params, ...result },
        });
        return { request, result };
      } catch (err) {
        await this.deps.audit.append({ actor: approver, action: `${spec.audit}.approve`, target: id, ip, outcome: 'failure', details: { kind: req.kind, code: (err as LucidError).code ?? 'internal' } });
        throw err;
      }
    });
  }

  private spec(kind: string): ApprovalKind {
    const spec = this.kinds.get(kind);
    if (!spec) throw new Error(`unknown approval kind ${kind}`);
    return spec;
  }

  /** Why this user may not approve, or null. */
  private refusal(spec: ApprovalKind, req: ApprovalRequest, user: UserRecord, requester: UserRecord | null): string | null {
    const why = independence(user, requester, req);
    if (why) return why;
    const role = spec.approverRole?.(req) ?? 'admin';
    if (!hasRole(user.role, role)) return `needs ${role} to approve this request`;
    try {
      spec.checkApprover?.(req, user);
    } catch (err) {
      return (err as Error).message;
    }
    return null;
  }

  private approvable(req: ApprovalRequest, users: readonly UserRecord[]): boolean {
    const spec = this.spec(req.kind);
    const requester = users.find((u) => u.id === req.requestedBy.id) ?? null;
    return users.some((u) => this.refusal(spec, req, u, requester) === null);
  }

  private viewOf(req: Stored, users: readonly UserRecord[]): ApprovalView {
    return { ...strip(req), deviceCode: this.spec(req.kind).deviceCode === true && !this.approvable(req, users) };
  }
}

function strip(r: Stored): ApprovalRequest {
  const { sealed: _s, ...rest } = r;
  return rest;
}
