// User management rules (issue #4 §4, issue #18 §4): no one grants a role above their own or
// touches a user ranked above them; the last super_admin can be neither removed nor demoted. A
// role change, password reset or deletion revokes the user's login sessions, so a token never
// carries a stale role. Two-person actions (approvals.ts, user-approvals.ts): granting admin or
// super_admin (a new account is made as `user` and the grant is requested), and resetting,
// linking or unlinking the credentials of another admin. Each change records its provenance.
import { LucidError } from '../common/errors.js';
import type { ApprovalView } from './approvals.js';
import { checkPasswordPolicy, hashPassword, verifyPassword } from './passwords.js';
import { hasRole, roleRank, type Principal, type Role } from './roles.js';
import { actorOf } from './audit.js';
import type { AuthService } from './service.js';
import { credentialsChange, roleChange, type Change, type UserRecord } from './users.js';
import { isTronAddress } from './tron-message.js';
import { requireCanonical } from './usernames.js';

/** What a change did: done now, or waiting for a second admin. */
export type Outcome = { readonly user: UserRecord; readonly approval: ApprovalView | null };

export function assertCanGrant(actor: Pick<Principal, 'role'>, role: Role): void {
  if (roleRank(role) > roleRank(actor.role)) throw new LucidError('AUTH_ERR_ROLE_TOO_HIGH', `a ${actor.role} cannot grant ${role}`);
}

export function assertCanTouch(actor: Pick<Principal, 'role'>, target: UserRecord): void {
  if (roleRank(target.role) > roleRank(actor.role)) throw new LucidError('AUTH_ERR_ROLE_TOO_HIGH', `a ${actor.role} cannot change a ${target.role}`);
}

/** Granting admin or super_admin (a raise into those ranks) takes two people. */
export const isGrant = (from: Role, to: Role): boolean => roleRank(to) > roleRank(from) && hasRole(to, 'admin');
/** Another admin's credentials take two people; one's own, or a lower user's, one. */
const isOthersAdmin = (actor: Principal, target: UserRecord): boolean => target.id !== actor.userId && hasRole(target.role, 'admin');

async function superAdminCount(auth: AuthService): Promise<number> {
  return (await auth.users.list()).filter((u) => u.role === 'super_admin').length;
}

/** Applies a role and/or password change with its provenance and revokes the user's sessions. */
export async function applyUpdate(auth: AuthService, id: string, change: { role?: Role; passwordHash?: string }, by: Change): Promise<{ user: UserRecord; from: Role; revoked: number }> {
  let from: Role = 'user';
  const user = await auth.users.update(id, (u) => {
    from = u.role;
    const role = change.role !== undefined && change.role !== u.role ? { role: change.role, ...roleChange(by) } : {};
    const creds = change.passwordHash !== undefined ? { passwordHash: change.passwordHash, ...credentialsChange(by) } : {};
    return { ...u, ...role, ...creds };
  });
  const revoked = user.role !== from || change.passwordHash !== undefined ? await auth.revokeAllOf(id, 'user changed') : 0;
  return { user, from, revoked };
}

export async function createUser(auth: AuthService, actor: Principal, input: { username: string; password: string; role: Role }, ip: string): Promise<Outcome> {
  const username = requireCanonical(input.username);
  const twoPerson = hasRole(input.role, 'admin');
  let user: UserRecord;
  try {
    assertCanGrant(actor, input.role);
    checkPasswordPolicy(input.password, username);
    user = await auth.users.create({ username, role: twoPerson ? 'user' : input.role, passwordHash: await hashPassword(input.password), createdBy: actor.userId, now: auth.now() });
  } catch (err) {
    await auth.audit.append({ actor: actorOf(actor), action: 'user.create', target: username, ip, outcome: 'denied', details: { role: input.role, code: (err as LucidError).code } });
    throw err;
  }
  await auth.audit.append({ actor: actorOf(actor), action: 'user.create', target: user.id, ip, outcome: 'success', details: { username: user.username, role: user.role, ...(twoPerson ? { requestedRole: input.role } : {}) } });
  if (!twoPerson) return { user, approval: null };
  const approval = await auth.approvals.request('user.update', { userId: user.id, username, role: input.role, targetRole: user.role }, actorOf(actor), `new user ${username} as ${input.role}`, ip);
  return { user, approval };
}

export async function updateUser(auth: AuthService, actor: Principal, id: string, change: { role?: Role; password?: string }, ip: string): Promise<Outcome> {
  const user = await auth.users.get(id);
  if (!user) throw new LucidError('AUTH_ERR_USER_NOT_FOUND');
  try {
    assertCanTouch(actor, user);
    if (change.role !== undefined) {
      assertCanGrant(actor, change.role);
      if (user.role === 'super_admin' && change.role !== 'super_admin' && (await superAdminCount(auth)) <= 1) throw new LucidError('AUTH_ERR_LAST_SUPER_ADMIN');
    }
    if (change.password !== undefined) checkPasswordPolicy(change.password, user.username);
  } catch (err) {
    await auth.audit.append({ actor: actorOf(actor), action: 'user.update', target: id, ip, outcome: 'denied', details: { role: change.role, code: (err as LucidError).code } });
    throw err;
  }
  const passwordHash = change.password !== undefined ? await hashPassword(change.password) : undefined;
  const grant = change.role !== undefined && isGrant(user.role, change.role);
  if (grant || (passwordHash !== undefined && isOthersAdmin(actor, user))) {
    const params = { userId: id, username: user.username, targetRole: user.role, ...(change.role !== undefined ? { role: change.role } : {}), ...(passwordHash ? { credentials: 'password reset' } : {}) };
    const approval = await auth.approvals.request('user.update', params, actorOf(actor), `change ${user.username}`, ip, passwordHash ? { passwordHash } : {});
    return { user, approval };
  }
  const done = await applyUpdate(auth, id, { ...(change.role !== undefined ? { role: change.role } : {}), ...(passwordHash ? { passwordHash } : {}) }, { by: actor.userId, at: auth.now() });
  await auth.audit.append({ actor: actorOf(actor), action: 'user.update', target: id, ip, outcome: 'success', details: { from: done.from, role: done.user.role, credentials: passwordHash ? 'password reset' : undefined, sessionsRevoked: done.revoked } });
  return { user: done.user, approval: null };
}

export async function deleteUser(auth: AuthService, actor: Principal, id: string, ip: string): Promise<void> {
  const user = await auth.users.get(id);
  if (!user) throw new LucidError('AUTH_ERR_USER_NOT_FOUND');
  try {
    assertCanTouch(actor, user);
    if (user.role === 'super_admin' && (await superAdminCount(auth)) <= 1) throw new LucidError('AUTH_ERR_LAST_SUPER_ADMIN');
  } catch (err) {
    await auth.audit.append({ actor: actorOf(actor), action: 'user.delete', target: id, ip, outcome: 'denied', details: { code: (err as LucidError).code } });
    throw err;
  }
  await auth.users.delete(id);
  await auth.revokeAllOf(id, 'user deleted');
  await auth.audit.append({ actor: actorOf(actor), action: 'user.delete', target: id, ip, outcome: 'success', details: { username: user.username } });
}

export async function linkWallet(auth: AuthService, actor: Principal, id: string, address: string, ip: string): Promise<Outcome> {
  const user = await auth.users.get(id);
  if (!user) throw new LucidError('AUTH_ERR_USER_NOT_FOUND');
  assertCanTouch(actor, user);
  if (!isTronAddress(address)) throw new LucidError('API_ERR_VALIDATION', 'not a TRON address (base58check)', { address });
  const owner = await auth.users.byWallet(address);
  if (owner) throw new LucidError('AUTH_ERR_WALLET_LINKED', 'this address is already linked', owner.id === id ? { self: true } : undefined);
  if (isOthersAdmin(actor, user)) {
    const approval = await auth.approvals.request('user.wallet.link', { userId: id, username: user.username, address, targetRole: user.role }, actorOf(actor), `link a wallet to ${user.username}`, ip);
    return { user, approval };
  }
  const next = await auth.users.linkWallet(id, address, { by: actor.userId, at: auth.now() });
  await auth.audit.append({ actor: actorOf(actor), action: 'user.wallet.link', target: id, ip, outcome: 'success', details: { address } });
  return { user: next, approval: null };
}

export async function unlinkWallet(auth: AuthService, actor: Principal, id: string, address: string, ip: string): Promise<Outcome> {
  const user = await auth.users.get(id);
  if (!user) throw new LucidError('AUTH_ERR_USER_NOT_FOUND');
  assertCanTouch(actor, user);
  if (!user.wallets.includes(address)) return { user, approval: null };
  if (isOthersAdmin(actor, user)) {
    const approval = await auth.approvals.request('user.wallet.unlink', { userId: id, username: user.username, address, targetRole: user.role }, actorOf(actor), `unlink a wallet of ${user.username}`, ip);
    return { user, approval };
  }
  const next = await auth.users.unlinkWallet(id, address, { by: actor.userId, at: auth.now() });
  await auth.audit.append({ actor: actorOf(actor), action: 'user.wallet.unlink', target: id, ip, outcome: 'success', details: { address } });
  return { user: next, approval: null };
}

export async function changeOwnPassword(auth: AuthService, actor: Principal, current: string, next: string, ip: string): Promise<void> {
  const user = await auth.users.get(actor.userId);
  if (!user) throw new LucidError('AUTH_ERR_USER_NOT_FOUND');
  auth.limitPasswordCheck(user.username, ip);
  if (!(await verifyPassword(current, user.passwordHash))) {
    await auth.audit.append({ actor: actorOf(actor), action: 'user.password', target: user.id, ip, outcome: 'failure' });
    throw new LucidError('AUTH_ERR_BAD_CREDENTIALS');
  }
  checkPasswordPolicy(next, user.username);
  const passwordHash = await hashPassword(next);
  await auth.users.update(user.id, (u) => ({ ...u, passwordHash, ...credentialsChange({ by: u.id, at: auth.now() }) }));
  // Every other login session ends (one that knew the old password keeps nothing); this one stays.
  const revoked = await auth.revokeAllOf(user.id, 'password changed', actor.sessionId);
  await auth.audit.append({ actor: actorOf(actor), action: 'user.password', target: user.id, ip, outcome: 'success', details: { sessionsRevoked: revoked } });
}
