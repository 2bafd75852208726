// The auth service: onboarding, logins (password, TRON wallet signature, hardware wallet),
// token issue/refresh/revocation, lockout, and who is calling (identify) for the API's RBAC.
// Users, families and audit live in LevelDB; everything a request needs to check a token is in
// memory, so identifying a caller never touches the disk.
import { createHash } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { LucidError, type ErrorCode } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { Store } from '../store/index.js';
import type { WalletDriver } from '../../hal/wallet/types.js';
import { Approvals } from './approvals.js';
import { AuditLog, RETENTION_MS, actorOf, type AuditActor, type AuditSigner } from './audit.js';
import { DeviceCode } from './device-code.js';
import { EmergencyControls } from './emergency.js';
import { FamilyStore, type Family } from './families.js';
import { JwtSigner, newId, type AccessClaims, type Claims, type DownloadClaims, type RefreshClaims } from './jwt.js';
import { LoginLimiter } from './login-limiter.js';
import { LoginFlow, type Challenge, type ClientContext, type TokenPair } from './logins.js';
import { checkPasswordPolicy, hashPassword } from './passwords.js';
import { hasRole, type Principal, type Permission } from './roles.js';
import { SetupCode } from './setup-code.js';
import { registerUserApprovals } from './user-approvals.js';
import { requireCanonical } from './usernames.js';
import { performFactoryReset } from './factory-reset.js';
import type { ResetRequest } from '../common/reset-marker.js';
import { UserStore, publicUser, type UserRecord } from './users.js';

export { LOCK_AFTER, LOCK_MS, NONCE_TTL_MS, type Challenge, type ClientContext, type TokenPair } from './logins.js';
export const ACCESS_TTL_S = 15 * 60;
/** Lifetime of a download token: long enough to start a download, too short to be worth stealing. */
export const DOWNLOAD_TTL_S = 60;
export const REFRESH_TTL_S = 7 * 24 * 3600;

export interface AuthDeps {
  readonly store: Store;
  readonly dataDir: string;
  readonly log: Logger;
  readonly jwtKey: KeyObject;
  /** The node key: signs audit heads and checkpoints. */
  readonly signer: AuditSigner;
  readonly nodeId: string;
  readonly bindIp: boolean;
  readonly maxSessions: number;
  /** The hardware wallet (simulated or USB Ledger), or null. */
  readonly wallet: WalletDriver | null;
  /** Takes the device for one use (see hal/wallet/README.md); resolves to a release function. */
  readonly acquireWallet?: () => Promise<() => Promise<void>>;
  readonly setLockdownFlag: (value: boolean) => Promise<void>;
  /** Printed with the setup code: the HTTPS certificate's fingerprint, for the person to compare with the browser. */
  readonly describeTls?: () => string;
  readonly now?: () => number;
  /** A confirmed factory reset to perform first (prepareFactoryReset, factory-reset.ts). */
  readonly factoryReset?: ResetRequest | null;
}

const hash16 = (text: string): string => createHash('sha256').update(text).digest('base64url').slice(0, 22);
export { actorOf } from './audit.js';

export class AuthService {
  readonly users: UserStore;
  readonly families: FamilyStore;
  readonly audit: AuditLog;
  readonly approvals: Approvals;
  readonly emergency: EmergencyControls;
  readonly setupCode: SetupCode;
  readonly deviceCode: DeviceCode;
  private readonly jwt: JwtSigner;
  private readonly limiter: LoginLimiter;
  private readonly logins: LoginFlow;
  private retention: NodeJS.Timeout | undefined;
  private readonly sessionStoppers = new Set<(actor: AuditActor) => Promise<number>>();
  private readonly log: Logger;
  readonly now: () => number;
  private setupRequired = false;

  constructor(private readonly deps: AuthDeps) {
    this.now = deps.now ?? Date.now;
    this.log = deps.log.child({ module: 'auth' });
    this.users = new UserStore(deps.store);
    this.families = new FamilyStore(deps.store);
    this.audit = new AuditLog({ store: deps.store, signer: deps.signer, log: this.log, now: this.now });
    this.jwt = new JwtSigner(deps.jwtKey);
    this.limiter = new LoginLimiter(this.now);
    this.setupCode = new SetupCode(deps.dataDir);
    this.deviceCode = new DeviceCode(deps.dataDir, this.now);
    this.approvals = new Approvals({ store: deps.store, audit: this.audit, now: this.now, users: this.users, takeDeviceCode: (c) => this.deviceCode.take(c) });
    this.emergency = new EmergencyControls({
      store: deps.store, audit: this.audit, approvals: this.approvals, log: this.log, now: this.now,
      setLockdownFlag: async (v) => deps.setLockdownFlag(v).catch((err: unknown) => this.log.warn({ err }, 'could not set the lockdown LED flag')),
      stopAllSessions: (approver) => this.stopAllSessions(approver),
    });
    registerUserApprovals(this);
    this.logins = new LoginFlow({
      users: this.users, audit: this.audit, limiter: this.limiter, emergency: this.emergency, log: this.log, now: this.now,
      nodeId: deps.nodeId, wallet: deps.wallet, ...(deps.acquireWallet ? { acquireWallet: deps.acquireWallet } : {}),
      startSession: (user, method, ctx) => this.startSession(user, method, ctx),
    });
  }

  async start(): Promise<void> {
    await this.users.migrate(this.log);
    await this.audit.open();
    if (this.deps.factoryReset) {
      await performFactoryReset({ store: this.deps.store, audit: this.audit, setupCode: this.setupCode, dataDir: this.deps.dataDir, log: this.log }, this.deps.factoryReset);
    }
    await this.families.load(this.now());
    await this.approvals.start();
    await this.emergency.start();
    await this.deviceCode.removeFile(); // a code does not outlive the process that printed it
    const users = await this.users.list();
    for (const u of users) if (u.lockedUntil > this.now()) this.logins.scheduleUnlock(u);
    this.setupRequired = users.length === 0;
    if (this.setupRequired) {
      const code = await this.setupCode.ensure();
      this.printSetupCode(code);
    } else {
      await this.setupCode.burn(); // a leftover file from a crash between user creation and burn
    }
    await this.audit.prune(RETENTION_MS);
    this.retention = setInterval(() => void this.audit.prune(RETENTION_MS).catch((err: unknown) => this.log.error({ err }, 'audit prune failed')), 6 * 3600 * 1000);
    this.retention.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.retention);
    this.logins.stop();
    this.emergency.stop();
  }

  get isSetupRequired(): boolean { return this.setupRequired; }
  get hardwareWalletAvailable(): boolean { return this.deps.wallet !== null; }

  /**
   * The button's long press: shows the setup code again while setup is pending; after setup,
   * when a request waits that no admin can approve (bootstrap), a one-time device code.
   */
  async onLongPress(): Promise<void> {
    const code = this.setupCode.current;
    if (this.setupRequired && code) return this.printSetupCode(code);
    if (!(await this.approvals.wantsDeviceCode())) {
      this.log.info('long press: no request waits for a device code');
      return;
    }
    const device = await this.deviceCode.issue();
    // In the message text on purpose: it is meant to be read from the console.
    this.log.warn({ file: this.deviceCode.path }, `APPROVAL CODE: ${device} — one use within 10 minutes: approves a request no second admin can approve yet (POST /api/v1/approvals/<id>/approve { deviceCode })`);
  }

  private printSetupCode(code: string): void {
    // The code goes in the message text on purpose: it is meant to be read from the console.
    const tls = this.deps.describeTls ? `; ${this.deps.describeTls()}` : '';
    this.log.warn({ file: this.setupCode.path }, `SETUP CODE: ${code} — open the web UI and create the first admin with it (POST /api/v1/auth/setup)${tls}`);
  }

  /** Recording-session areas register a stopper for the "stop all sessions" control. */
  registerSessionStopper(stop: (actor: AuditActor) => Promise<number>): () => void {
    this.sessionStoppers.add(stop);
    return () => this.sessionStoppers.delete(stop);
  }

  // ---- identify (every request) -------------------------------------------------------------

  identify(authorization: string | undefined, ctx: ClientContext): { principal: Principal | null; error: ErrorCode | null } {
    if (!authorization) return { principal: null, error: null };
    const claims = this.jwt.verifyBearer(authorization);
    if (!claims || claims.typ !== 'access') return { principal: null, error: 'AUTH_ERR_TOKEN_INVALID' };
    const now = this.now();
    if (claims.exp * 1000 <= now) return { principal: null, error: 'AUTH_ERR_TOKEN_EXPIRED' };
    if (!this.bound(claims, ctx) || !this.families.isLive(claims.sid, now)) return { principal: null, error: 'AUTH_ERR_TOKEN_INVALID' };
    return { principal: { userId: claims.sub, username: claims.usr, role: claims.role, sessionId: claims.sid }, error: null };
  }

  /**
   * A download token: the caller's identity for exactly one path, for DOWNLOAD_TTL_S seconds,
   * bound like the access token (user agent, IP) and to the same login session (logout ends it).
   * Only routes that declare `config.downloadToken` accept it, as `?token=`.
   */
  issueDownloadToken(principal: Principal, path: string, ctx: ClientContext): { token: string; expiresIn: number } {
    if (!principal.sessionId) throw new LucidError('AUTH_ERR_UNAUTHENTICATED', 'a download token needs a login session');
    const iat = Math.floor(this.now() / 1000);
    const claims: DownloadClaims = {
      typ: 'download', sub: principal.userId, usr: principal.username, role: principal.role, sid: principal.sessionId, path,
      jti: newId(), iat, exp: iat + DOWNLOAD_TTL_S, uah: this.uaHash(ctx.userAgent), ...(this.deps.bindIp ? { iph: hash16(ctx.ip) } : {}),
    };
    return { token: this.jwt.sign(claims), expiresIn: DOWNLOAD_TTL_S };
  }

  /** The principal of a download token presented for `path`, or why it is refused. */
  identifyDownload(token: string, path: string, ctx: ClientContext): { principal: Principal | null; error: ErrorCode | null } {
    const claims = this.jwt.verify(token);
    if (!claims || claims.typ !== 'download' || claims.path !== path) return { principal: null, error: 'AUTH_ERR_TOKEN_INVALID' };
    if (claims.exp * 1000 <= this.now()) return { principal: null, error: 'AUTH_ERR_TOKEN_EXPIRED' };
    if (!this.bound(claims, ctx) || !this.families.isLive(claims.sid, this.now())) return { principal: null, error: 'AUTH_ERR_TOKEN_INVALID' };
    return { principal: { userId: claims.sub, username: claims.usr, role: claims.role, sessionId: claims.sid }, error: null };
  }

  /** Refusals beyond the role check: the emergency lockdown lets only admins act. */
  restrict(principal: Principal, permission: Permission): ErrorCode | null {
    if (permission !== 'public' && this.emergency.lockdownActive && !hasRole(principal.role, 'admin')) return 'AUTH_ERR_LOCKDOWN';
    return null;
  }

  private bound(claims: Claims, ctx: ClientContext): boolean {
    if (claims.uah !== this.uaHash(ctx.userAgent)) return false;
    return claims.iph === undefined || claims.iph === hash16(ctx.ip);
  }

  /** The user agent's hash, memoised (a handful of browsers call every second). */
  private readonly uaHashes = new Map<string, string>();
  private uaHash(ua: string): string {
    let h = this.uaHashes.get(ua);
    if (h === undefined) {
      if (this.uaHashes.size > 256) this.uaHashes.clear();
      this.uaHashes.set(ua, (h = hash16(ua)));
    }
    return h;
  }

  // ---- onboarding and logins (logins.ts) ---------------------------------------------------

  async setup(code: string, username: string, password: string, ctx: ClientContext): Promise<TokenPair> {
    this.limiter.hit([`ip:${ctx.ip}`, 'setup']);
    if (!this.setupRequired) throw new LucidError('AUTH_ERR_SETUP_DONE');
    const canonical = requireCanonical(username);
    if (!this.setupCode.matches(code)) {
      await this.audit.append({ actor: null, action: 'auth.setup', target: canonical, ip: ctx.ip, outcome: 'failure', details: { why: 'wrong code' } });
      throw new LucidError('AUTH_ERR_SETUP_CODE');
    }
    checkPasswordPolicy(password, canonical);
    const user = await this.users.create({ username: canonical, role: 'super_admin', passwordHash: await hashPassword(password), createdBy: null, now: this.now() });
    this.setupRequired = false;
    await this.setupCode.burn();
    await this.audit.append({ actor: actorOf(user), action: 'auth.setup', target: user.id, ip: ctx.ip, outcome: 'success', details: { username: user.username } });
    return this.startSession(user, 'setup', ctx);
  }

  login(username: string, password: string, ctx: ClientContext): Promise<TokenPair> { return this.logins.password(username, password, ctx); }
  /**
   * Any other check of a password (changing one's own): limited like a login, per IP and account,
   * or a stolen access token would be a password oracle at the API's rate.
   */
  limitPasswordCheck(username: string, ip: string): void { this.limiter.hit([`ip:${ip}`, `user:${username}`]); }
  challenge(address: string): Challenge { return this.logins.challenge(address); }
  walletLogin(address: string, signature: Uint8Array | null, ctx: ClientContext): Promise<TokenPair> { return this.logins.wallet(address, signature, ctx); }
  hardwareLogin(ctx: ClientContext): Promise<TokenPair> { return this.logins.hardware(ctx); }
  hardwareAddress(): Promise<{ address: string; version: string }> { return this.logins.hardwareAddress(); }
  unlock(userId: string, actor: AuditActor | null, ip: string | null, reason: 'expired' | 'admin'): Promise<UserRecord> { return this.logins.unlock(userId, actor, ip, reason); }

  // ---- tokens -------------------------------------------------------------------------------

  private async startSession(user: UserRecord, method: Family['method'], ctx: ClientContext): Promise<TokenPair> {
    const now = this.now();
    const active = this.families.activeOf(user.id, now);
    for (const old of active.slice(0, Math.max(0, active.length - this.deps.maxSessions + 1))) {
      await this.families.revoke(old.id, 'session limit', now);
      await this.audit.append({ actor: actorOf(user), action: 'auth.session.revoke', target: old.id, ip: ctx.ip, outcome: 'success', details: { why: `over ${this.deps.maxSessions} sessions: oldest revoked` } });
    }
    const family: Family = {
      id: newId(12), userId: user.id, createdAt: now, lastUsedAt: now, expiresAt: now + REFRESH_TTL_S * 1000,
      refreshJti: newId(), method, uah: hash16(ctx.userAgent), ip: ctx.ip, revokedAt: null, revokeReason: null,
    };
    await this.families.put(family);
    return this.tokensFor(user, family, ctx);
  }

  private tokensFor(user: Pick<UserRecord, 'id' | 'username' | 'role'>, family: Family, ctx: ClientContext): TokenPair {
    const iat = Math.floor(this.now() / 1000);
    const bind = { uah: family.uah, ...(this.deps.bindIp ? { iph: hash16(ctx.ip) } : {}) };
    const access: AccessClaims = { typ: 'access', sub: user.id, usr: user.username, role: user.role, sid: family.id, jti: newId(), iat, exp: iat + ACCESS_TTL_S, ...bind };
    const refresh: RefreshClaims = { typ: 'refresh', sub: user.id, sid: family.id, jti: family.refreshJti, iat, exp: Math.floor(family.expiresAt / 1000), ...bind };
    return {
      accessToken: this.jwt.sign(access), refreshToken: this.jwt.sign(refresh), expiresIn: ACCESS_TTL_S, tokenType: 'Bearer',
      user: { id: user.id, username: user.username, role: user.role },
    };
  }

  /**
   * Rotates a refresh token. Spending is atomic (families.spend: check and change in memory with
   * no await between): of N concurrent uses exactly one rotates; each of the others is a reuse,
   * which revokes the family — the winner's new pair with it. The winner is answered only if its
   * family is still live once the rotation is durable, so a revoked pair is never handed out.
   */
  async refresh(refreshToken: string, ctx: ClientContext): Promise<TokenPair> {
    const claims = this.jwt.verify(refreshToken);
    this.jwt.forget(refreshToken);
    const now = this.now();
    if (!claims || claims.typ !== 'refresh' || !this.bound(claims, ctx)) throw new LucidError('AUTH_ERR_TOKEN_INVALID');
    if (claims.exp * 1000 <= now) throw new LucidError('AUTH_ERR_TOKEN_EXPIRED');
    if (!this.families.isLive(claims.sid, now)) throw new LucidError('AUTH_ERR_TOKEN_INVALID');
    const spent = this.families.spend(claims.sid, claims.jti, (f) => ({ ...f, refreshJti: newId(), lastUsedAt: now, ip: ctx.ip }), now);
    if (spent === null) {
      const family = await this.families.revoke(claims.sid, 'refresh token reused', now);
      const user = family ? await this.users.get(family.userId) : null;
      await this.audit.append({ actor: user ? actorOf(user) : null, action: 'auth.refresh', target: claims.sid, ip: ctx.ip, outcome: 'denied', details: { why: 'reuse: family revoked' } });
      throw new LucidError('AUTH_ERR_REFRESH_REUSED');
    }
    const next = await spent;
    const user = await this.users.get(next.userId);
    if (!user) {
      await this.families.revoke(next.id, 'user gone', now);
      throw new LucidError('AUTH_ERR_TOKEN_INVALID');
    }
    if (!this.families.isLive(next.id, this.now())) throw new LucidError('AUTH_ERR_REFRESH_REUSED');
    return this.tokensFor(user, next, ctx);
  }

  async logout(principal: Principal, ip: string): Promise<void> {
    if (principal.sessionId) await this.families.revoke(principal.sessionId, 'logout', this.now());
    await this.audit.append({ actor: actorOf(principal), action: 'auth.logout', target: principal.sessionId ?? null, ip, outcome: 'success' });
  }

  async revokeSession(id: string, actor: Principal, ip: string): Promise<void> {
    const f = this.families.get(id);
    if (!f || (f.userId !== actor.userId && !hasRole(actor.role, 'admin'))) throw new LucidError('AUTH_ERR_USER_NOT_FOUND', 'no such session');
    await this.families.revoke(id, 'revoked', this.now());
    await this.audit.append({ actor: actorOf(actor), action: 'auth.session.revoke', target: id, ip, outcome: 'success' });
  }

  /** Revokes every live login session of a user (but `except`); resolves once all are durable. */
  async revokeAllOf(userId: string, reason: string, except?: string): Promise<number> {
    const now = this.now();
    const done = await Promise.all(this.families.activeOf(userId, now).filter((f) => f.id !== except).map((f) => this.families.revoke(f.id, reason, now)));
    return done.filter((f) => f !== null).length;
  }

  /** Emergency stop: every login session except the approving admin's, plus recording sessions. */
  private async stopAllSessions(approver: AuditActor): Promise<Record<string, number>> {
    const now = this.now();
    let logins = 0;
    for (const f of this.families.all()) {
      if (f.revokedAt !== null || f.expiresAt <= now || f.userId === approver.id) continue;
      await this.families.revoke(f.id, 'emergency stop', now);
      logins++;
    }
    let recordings = 0;
    for (const stop of this.sessionStoppers) recordings += await stop(approver);
    return { logins, recordings };
  }

  publicUser(u: UserRecord): ReturnType<typeof publicUser> {
    return publicUser(u, this.now());
  }
}
