// The user-management kinds of two-person action (approvals.ts): `user.update` (granting admin
// or super_admin, resetting another admin's password), `user.wallet.link` and
// `user.wallet.unlink` (another admin's wallets). The approver must rank at least as high as
// the role granted and the user touched, and must not be that user. On approval the change is
// re-checked against the user as it is now and applied with its provenance: changed by the
// requester, approved by the approver (or the device code, at bootstrap).
import { LucidError } from '../common/errors.js';
import type { ApprovalKind, ApprovalRequest } from './approvals.js';
import { roleRank, type Role } from './roles.js';
import type { AuthService } from './service.js';
import { applyUpdate } from './user-admin.js';

const higher = (a: Role, b: Role): Role => (roleRank(a) >= roleRank(b) ? a : b);
const param = <T>(req: ApprovalRequest, key: string): T => req.params[key] as T;

function userKind(audit: string, execute: ApprovalKind['execute']): ApprovalKind {
  return {
    audit,
    deviceCode: true,
    approverRole: (req) => higher(higher('admin', param<Role>(req, 'targetRole')), param<Role | undefined>(req, 'role') ?? 'admin'),
    checkApprover: (req, approver) => {
      if (approver.id === param<string>(req, 'userId')) throw new Error('the approver is the user the request is about');
    },
    execute,
  };
}

export function registerUserApprovals(auth: AuthService): void {
  const requester = (req: ApprovalRequest) => req.requestedBy.id;
  const by = (req: ApprovalRequest, approvedBy: string) => ({ by: requester(req), approvedBy, at: auth.now() });

  auth.approvals.register('user.update', userKind('user.update', async (req, sealed, _approver, approvedBy) => {
    const id = param<string>(req, 'userId');
    const role = param<Role | undefined>(req, 'role');
    const passwordHash = sealed['passwordHash'] as string | undefined;
    const current = await auth.users.get(id);
    if (!current) throw new LucidError('AUTH_ERR_USER_NOT_FOUND');
    // Whoever asked must still be able to: the requester may have been demoted meanwhile.
    const asker = await auth.users.get(requester(req));
    if (!asker || (role !== undefined && roleRank(role) > roleRank(asker.role)) || roleRank(current.role) > roleRank(asker.role)) {
      throw new LucidError('AUTH_ERR_ROLE_TOO_HIGH', 'the requester can no longer make this change');
    }
    const done = await applyUpdate(auth, id, { ...(role !== undefined ? { role } : {}), ...(passwordHash ? { passwordHash } : {}) }, by(req, approvedBy));
    return { userId: id, from: done.from, role: done.user.role, sessionsRevoked: done.revoked };
  }));

  auth.approvals.register('user.wallet.link', userKind('user.wallet.link', async (req, _sealed, _approver, approvedBy) => {
    const next = await auth.users.linkWallet(param<string>(req, 'userId'), param<string>(req, 'address'), by(req, approvedBy));
    return { userId: next.id, wallets: next.wallets.length };
  }));

  auth.approvals.register('user.wallet.unlink', userKind('user.wallet.unlink', async (req, _sealed, _approver, approvedBy) => {
    const next = await auth.users.unlinkWallet(param<string>(req, 'userId'), param<string>(req, 'address'), by(req, approvedBy));
    return { userId: next.id, wallets: next.wallets.length };
  }));
}
