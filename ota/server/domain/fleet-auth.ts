// Fleet admins: the appliance's auth rules on the fleet's store, reusing its pieces (services/auth:
// scrypt passwords and policy, canonical usernames, the one-time setup code, Ed25519 JWTs, roles).
//   - No default password: at start, while no user exists, a setup code is printed to the log and
//     written to <data>/setup-code; it creates the first super_admin (once across every instance:
//     the store's first-user insert decides).
//   - Access JWT 15 min, refresh 7 days rotated on use; a reused refresh token revokes its family.
//     The signing key is made once and kept in the store, so every instance verifies every token.
//     Several instances share no memory: a logout ends the refresh family at once, and its
//     access tokens expire within their 15 minutes.
//   - Lockout after 5 failed logins for 15 min, counted before the hash (compare-and-set on the
//     user record, retried), so parallel guesses count as sequential ones.
import { createHash, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import type { Logger } from '../../../services/common/log.js';
import { LucidError, type ErrorCode } from '../../../services/common/errors.js';
import {
  JwtSigner, SetupCode, canonicalUsername, checkPasswordPolicy, dummyHash, hashPassword, newId, verifyPassword,
  type AccessClaims, type RefreshClaims,
} from '../../../services/auth/index.js';
import type { Permission, Principal, Role } from '../../../services/api/index.js';
import type { FleetStore, FleetUser } from '../store/types.js';

export const ACCESS_TTL_S = 15 * 60;
export const REFRESH_TTL_S = 7 * 86_400;
export const LOCK_AFTER = 5;
export const LOCK_MS = 15 * 60_000;
const NEW_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{2,31}$/;

export interface TokenPair { readonly accessToken: string; readonly refreshToken: string; readonly expiresIn: number; readonly tokenType: 'Bearer' }
export type PublicUser = Omit<FleetUser, 'passwordHash' | 'failedLogins' | 'rev'> & { readonly locked: boolean };

const uaHash = (ua: string): string => createHash('sha256').update(ua).digest('base64url').slice(0, 22);

export class FleetAuth {
  private jwt!: JwtSigner;
  readonly setupCode: SetupCode;

  constructor(private readonly deps: { store: FleetStore; dataDir: string; log: Logger; now: () => number; audit: (action: string, actor: string, target: string | null, outcome: 'success' | 'denied' | 'failure', details?: Record<string, unknown>) => Promise<void> }) {
    this.setupCode = new SetupCode(deps.dataDir);
  }

  async start(): Promise<void> {
    const pem = await this.deps.store.metaOnce('jwt-key', () => generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
    this.jwt = new JwtSigner(createPrivateKey(pem));
    if ((await this.deps.store.listUsers()).length === 0) {
      const code = await this.setupCode.ensure();
      this.deps.log.warn({ setupCodeFile: this.setupCode.path }, `fleet setup code: ${code} — create the first admin with it (web UI or POST /api/v1/auth/setup)`);
    }
  }

  publicUser(u: FleetUser): PublicUser {
    const { passwordHash: _h, failedLogins: _f, rev: _r, ...rest } = u;
    return { ...rest, locked: u.lockedUntil > this.deps.now() };
  }

  async setupNeeded(): Promise<boolean> {
    return (await this.deps.store.listUsers()).length === 0;
  }

  private newUser(id: string, username: string, role: Role, passwordHash: string, by: string | null): FleetUser {
    const now = this.deps.now();
    return {
      id, username, role, passwordHash, wallets: [], createdAt: now, createdBy: by, roleChangedBy: by, roleChangedAt: now, roleApprovedBy: null,
      credentialsChangedBy: by, credentialsChangedAt: now, failedLogins: 0, lockedUntil: 0, rev: 0,
    };
  }

  private canonicalNew(raw: string): string {
    const name = canonicalUsername(raw);
    if (!name || !NEW_NAME.test(name)) throw new LucidError('AUTH_ERR_USERNAME_INVALID', 'usernames are 3..32 of A-Z a-z 0-9 . _ -, starting with a letter or digit');
    return name;
  }

  async setup(code: string, username: string, password: string, ua: string): Promise<TokenPair> {
    if (!(await this.setupNeeded())) throw new LucidError('AUTH_ERR_SETUP_DONE', 'the fleet already has its first admin');
    if (!this.setupCode.matches(code)) throw new LucidError('AUTH_ERR_SETUP_CODE');
    const name = this.canonicalNew(username);
    checkPasswordPolicy(password, name);
    const user = this.newUser(newId(9), name, 'super_admin', await hashPassword(password), null);
    if (!(await this.deps.store.createUser(user, { firstOnly: true }))) throw new LucidError('AUTH_ERR_SETUP_DONE', 'the fleet already has its first admin');
    await this.setupCode.burn();
    await this.deps.audit('auth.setup', user.id, user.id, 'success', { username: name });
    return this.issue(user, ua);
  }

  async createUser(by: Principal, username: string, password: string, role: Role): Promise<PublicUser> {
    const name = this.canonicalNew(username);
    checkPasswordPolicy(password, name);
    const user = this.newUser(newId(9), name, role, await hashPassword(password), by.userId);
    if (!(await this.deps.store.createUser(user))) throw new LucidError('AUTH_ERR_USER_EXISTS', undefined, { username: name });
    await this.deps.audit('user.create', by.userId, user.id, 'success', { username: name, role });
    return this.publicUser(user);
  }

  /** Compare-and-set on the user record, retried against the current copy. */
  private async change(id: string, fn: (u: FleetUser) => FleetUser): Promise<FleetUser> {
    for (;;) {
      const cur = await this.deps.store.getUser(id);
      if (!cur) throw new LucidError('AUTH_ERR_USER_NOT_FOUND');
      const next = fn(cur);
      if (await this.deps.store.casUser(next, cur.rev)) return { ...next, rev: cur.rev + 1 };
    }
  }

  async login(username: string, password: string, ua: string): Promise<TokenPair> {
    const name = canonicalUsername(username);
    const found = name ? await this.deps.store.getUserByName(name) : null;
    if (!found) {
      await verifyPassword(password, await dummyHash());
      throw new LucidError('AUTH_ERR_BAD_CREDENTIALS');
    }
    const now = this.deps.now();
    // Count the attempt before checking it (a crash mid-hash leaves it counted).
    const counted = await this.change(found.id, (u) => (u.lockedUntil > now ? u : { ...u, failedLogins: u.failedLogins + 1 }));
    if (counted.lockedUntil > now) throw new LucidError('AUTH_ERR_LOCKED', undefined, { retryAfter: Math.ceil((counted.lockedUntil - now) / 1000) });
    if (!(await verifyPassword(password, counted.passwordHash))) {
      const after = await this.change(found.id, (u) => (u.failedLogins >= LOCK_AFTER ? { ...u, failedLogins: 0, lockedUntil: now + LOCK_MS } : u));
      await this.deps.audit('auth.login', found.id, found.id, 'denied', { locked: after.lockedUntil > now });
      throw new LucidError(after.lockedUntil > now ? 'AUTH_ERR_LOCKED' : 'AUTH_ERR_BAD_CREDENTIALS');
    }
    const ok = await this.change(found.id, (u) => ({ ...u, failedLogins: 0 }));
    await this.deps.audit('auth.login', ok.id, ok.id, 'success');
    return this.issue(ok, ua);
  }

  private async issue(user: FleetUser, ua: string, familyId = newId()): Promise<TokenPair> {
    const iat = Math.floor(this.deps.now() / 1000);
    const jti = newId();
    const exp = iat + REFRESH_TTL_S;
    await this.deps.store.putFamily({ id: familyId, userId: user.id, jti, expiresAt: exp * 1000, revoked: false });
    return this.pair(user, ua, familyId, jti, iat, exp);
  }

  private pair(user: FleetUser, ua: string, sid: string, jti: string, iat: number, exp: number): TokenPair {
    const uah = uaHash(ua);
    const access: AccessClaims = { typ: 'access', sub: user.id, sid, jti: newId(), iat, exp: iat + ACCESS_TTL_S, uah, usr: user.username, role: user.role };
    const refresh: RefreshClaims = { typ: 'refresh', sub: user.id, sid, jti, iat, exp, uah };
    return { accessToken: this.jwt.sign(access), refreshToken: this.jwt.sign(refresh), expiresIn: ACCESS_TTL_S, tokenType: 'Bearer' };
  }

  async refresh(token: string, ua: string): Promise<TokenPair> {
    const claims = this.jwt.verify(token);
    this.jwt.forget(token);
    const now = this.deps.now();
    if (!claims || claims.typ !== 'refresh' || claims.uah !== uaHash(ua)) throw new LucidError('AUTH_ERR_TOKEN_INVALID');
    if (claims.exp * 1000 <= now) throw new LucidError('AUTH_ERR_TOKEN_EXPIRED');
    const user = await this.deps.store.getUser(claims.sub);
    if (!user) throw new LucidError('AUTH_ERR_TOKEN_INVALID');
    const next = newId();
    const iat = Math.floor(now / 1000);
    const spent = await this.deps.store.spendFamily(claims.sid, claims.jti, next, claims.exp * 1000);
    if (spent === 'reuse') {
      await this.deps.audit('auth.refresh', user.id, claims.sid, 'denied', { why: 'reuse: family revoked' });
      throw new LucidError('AUTH_ERR_REFRESH_REUSED');
    }
    if (spent === 'gone') throw new LucidError('AUTH_ERR_TOKEN_INVALID');
    return this.pair(user, ua, claims.sid, next, iat, claims.exp);
  }

  async logout(p: Principal): Promise<void> {
    await this.deps.store.revokeFamilies(p.userId, p.sessionId);
  }

  async changeOwnPassword(p: Principal, current: string, next: string): Promise<void> {
    const u = await this.deps.store.getUser(p.userId);
    if (!u || !(await verifyPassword(current, u.passwordHash))) throw new LucidError('AUTH_ERR_BAD_CREDENTIALS');
    checkPasswordPolicy(next, u.username);
    const hash = await hashPassword(next);
    const now = this.deps.now();
    await this.change(u.id, (x) => ({ ...x, passwordHash: hash, credentialsChangedBy: x.id, credentialsChangedAt: now }));
    await this.deps.audit('auth.password', u.id, u.id, 'success');
  }

  /** The API's AuthPort: who is calling (never throws). */
  identify(header: string | undefined): { principal: Principal | null; error: ErrorCode | null } {
    if (!header) return { principal: null, error: null };
    const claims = this.jwt.verifyBearer(header);
    if (!claims || claims.typ !== 'access') return { principal: null, error: 'AUTH_ERR_TOKEN_INVALID' };
    if (claims.exp * 1000 <= this.deps.now()) return { principal: null, error: 'AUTH_ERR_TOKEN_EXPIRED' };
    return { principal: { userId: claims.sub, username: claims.usr, role: claims.role, sessionId: claims.sid }, error: null };
  }

  restrict(_p: Principal, _permission: Permission): ErrorCode | null {
    return null;
  }
}
