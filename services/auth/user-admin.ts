// User management rules (issue #4 §4): no one grants a role above their own or touches a user
// ranked above them; the last super_admin can be neither removed nor demoted. A role change or
// deletion revokes the user's login sessions, so a token never carries a stale role.
import { LucidError } from '../common/errors.js';
import { checkPasswordPolicy, hashPassword, verifyPassword } from './passwords.js';
import { roleRank, type Principal, type Role } from './roles.js';
import { actorOf, type AuthService } from './service.js';
import type { UserRecord } from './users.js';
import { isTronAddress } from './tron-message.js';

function assertCanGrant(actor: Principal, role: Role): void {
  if (roleRank(role) > roleRank(actor.role)) throw new LucidError('AUTH_ERR_ROLE_TOO_HIGH', `a ${actor.role} cannot grant ${role}`);
}

function assertCanTouch(actor: Principal, target: UserRecord): void {
  if (roleRank(target.role) > roleRank(actor.role)) throw new LucidError('AUTH_ERR_ROLE_TOO_HIGH', `a ${actor.role} cannot change a ${target.role}`);
}

async function superAdminCount(auth: AuthService): Promise<number> {
  return (await auth.users.list()).filter((u) => u.role === 'super_admin').length;
}

export async function createUser(auth: AuthService, actor: Principal, input: { username: string; password: string; role: Role }, ip: string): Promise<UserRecord> {
  try {
    assertCanGrant(actor, input.role);
    checkPasswordPolicy(input.password, input.username);
    const user = await auth.users.create({ username: input.username, role: input.role, passwordHash: await hashPassword(input.password), createdBy: actor.userId, now: auth.now() });
    await auth.audit.append({ actor: actorOf(actor), action: 'user.create', target: user.id, ip, outcome: 'success', details: { username: user.username, role: user.role } });
    return user;
  } catch (err) {
    await auth.audit.append({ actor: actorOf(actor), action: 'user.create', target: input.username, ip, outcome: 'denied', details: { role: input.role, code: (err as LucidError).code } });
    throw err;
  }
}

export async function updateUser(auth: AuthService, actor: Principal, id: string, change: { role?: Role; password?: string }, ip: string): Promise<UserRecord> {
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
  const passwordHash = change.password !== undefined ? await hashPassword(change.password) : user.passwordHash;
  const next = await auth.users.update(id, (u) => ({ ...u, role: change.role ?? u.role, passwordHash }));
  const revoked = (change.role !== undefined && change.role !== user.role) || change.password !== undefined ? await auth.revokeAllOf(id, 'user changed') : 0;
  await auth.audit.append({ actor: actorOf(actor), action: 'user.update', target: id, ip, outcome: 'success', details: { from: user.role, role: next.role, password: change.password !== undefined ? 'changed' : undefined, sessionsRevoked: revoked } });
  return next;
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

export async function linkWallet(auth: AuthService, actor: Principal, id: string, address: string, ip: string): Promise<UserRecord> {
  const user = await auth.users.get(id);
  if (!user) throw new LucidError('AUTH_ERR_USER_NOT_FOUND');
  assertCanTouch(actor, user);
  if (!isTronAddress(address)) throw new LucidError('API_ERR_VALIDATION', 'not a TRON address (base58check)', { address });
  const next = await auth.users.linkWallet(id, address);
  await auth.audit.append({ actor: actorOf(actor), action: 'user.wallet.link', target: id, ip, outcome: 'success', details: { address } });
  return next;
}

export async function unlinkWallet(auth: AuthService, actor: Principal, id: string, address: string, ip: string): Promise<UserRecord> {
  const user = await auth.users.get(id);
  if (!user) throw new LucidError('AUTH_ERR_USER_NOT_FOUND');
  assertCanTouch(actor, user);
  const next = await auth.users.unlinkWallet(id, address);
  await auth.audit.append({ actor: actorOf(actor), action: 'user.wallet.unlink', target: id, ip, outcome: 'success', details: { address } });
  return next;
}

export async function changeOwnPassword(auth: AuthService, actor: Principal, current: string, next: string, ip: string): Promise<void> {
  const user = await auth.users.get(actor.userId);
  if (!user) throw new LucidError('AUTH_ERR_USER_NOT_FOUND');
  if (!(await verifyPassword(current, user.passwordHash))) {
    await auth.audit.append({ actor: actorOf(actor), action: 'user.password', target: user.id, ip, outcome: 'failure' });
    throw new LucidError('AUTH_ERR_BAD_CREDENTIALS');
  }
  checkPasswordPolicy(next, user.username);
  const passwordHash = await hashPassword(next);
  await auth.users.update(user.id, (u) => ({ ...u, passwordHash }));
  await auth.audit.append({ actor: actorOf(actor), action: 'user.password', target: user.id, ip, outcome: 'success' });
}
