// The auth service: onboarding, logins (password, TRON wallet signature, hardware wallet),
// token issue/refresh/revocation, lockout, and who is calling (identify) for the API's RBAC.
// Users, families and audit live in LevelDB; everything a request needs to check a token is in
// memory, so identifying a caller never touches the disk.
import { createHash, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { LucidError, type ErrorCode } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { Store } from '../store/index.js';
import type { WalletDriver } from '../../hal/wallet/types.js';
import { AuditLog, RETENTION_MS, type AuditActor, type AuditSigner } from './audit.js';
import { EmergencyControls } from './emergency.js';
import { FamilyStore, type Family } from './families.js';
import { JwtSigner, newId, type AccessClaims, type Claims, type DownloadClaims, type RefreshClaims } from './jwt.js';
import { LoginLimiter } from './login-limiter.js';
import { checkPasswordPolicy, dummyHash, hashPassword, verifyPassword } from './passwords.js';
import { hasRole, type Principal, type Role, type Permission } from './roles.js';
import { SetupCode } from './setup-code.js';
import { performFactoryReset } from './factory-reset.js';
import type { ResetRequest } from '../common/reset-marker.js';
import { isTronAddress, recoverTip191Address } from './tron-message.js';
import { UserStore, publicUser, type UserRecord } from './users.js';

export const ACCESS_TTL_S = 15 * 60;
/** Lifetime of a download token: long enough to start a download, too short to be worth stealing. */
export const DOWNLOAD_TTL_S = 60;
export const REFRESH_TTL_S = 7 * 24 * 3600;
export const LOCK_AFTER = 5;
export const LOCK_MS = 15 * 60 * 1000;
export const NONCE_TTL_MS = 300_000;

export interface ClientContext { readonly ip: string; readonly userAgent: string }

export interface TokenPair {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresIn: number;
  readonly tokenType: 'Bearer';
  readonly user: { id: string; username: string; role: Role };
}

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
  readonly now?: () => number;
  /** A confirmed factory reset to perform first (prepareFactoryReset, factory-reset.ts). */
  readonly factoryReset?: ResetRequest | null;
}

export interface Challenge { readonly address: string; readonly message: string; readonly nonce: string; readonly expiresAt: number }

const hash16 = (text: string): string => createHash('sha256').update(text).digest('base64url').slice(0, 22);
export const actorOf = (u: Pick<UserRecord, 'id' | 'username' | 'role'> | Principal): AuditActor =>
  'userId' in u ? { id: u.userId, username: u.username, role: u.role } : { id: u.id, username: u.username, role: u.role };

export class AuthService {
  readonly users: UserStore;
  readonly families: FamilyStore;
  readonly audit: AuditLog;
  readonly emergency: EmergencyControls;
  readonly setupCode: SetupCode;
  private readonly jwt: JwtSigner;
  private readonly limiter: LoginLimiter;
  private readonly challenges = new Map<string, Challenge>();
  private readonly unlockTimers = new Map<string, NodeJS.Timeout>();
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
    this.emergency = new EmergencyControls({
      store: deps.store, audit: this.audit, log: this.log, now: this.now,
      setLockdownFlag: async (v) => deps.setLockdownFlag(v).catch((err: unknown) => this.log.warn({ err }, 'could not set the lockdown LED flag')),
      stopAllSessions: (approver) => this.stopAllSessions(approver),
    });
  }

  async start(): Promise<void> {
    await this.audit.open();
    if (this.deps.factoryReset) {
      await performFactoryReset({ store: this.deps.store, audit: this.audit, setupCode: this.setupCode, dataDir: this.deps.dataDir, log: this.log }, this.deps.factoryReset);
    }
    await this.families.load(this.now());
    await this.emergency.start();
    const users = await this.users.list();
    for (const u of users) if (u.lockedUntil > this.now()) this.scheduleUnlock(u);
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
    for (const t of this.unlockTimers.values()) clearTimeout(t);
    this.emergency.stop();
  }

  get isSetupRequired(): boolean { return this.setupRequired; }
  get hardwareWalletAvailable(): boolean { return this.deps.wallet !== null; }

  /** The button's long press: shows the setup code again (only while setup is pending). */
  onLongPress(): void {
    const code = this.setupCode.current;
    if (this.setupRequired && code) this.printSetupCode(code);
  }

  private printSetupCode(code: string): void {
    // The code goes in the message text on purpose: it is meant to be read from the console.
    this.log.warn({ file: this.setupCode.path }, `SETUP CODE: ${code} — open the web UI and create the first admin with it (POST /api/v1/auth/setup)`);
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

  // ---- onboarding and logins ----------------------------------------------------------------

  async setup(code: string, username: string, password: string, ctx: ClientContext): Promise<TokenPair> {
    this.limiter.hit([`ip:${ctx.ip}`, 'setup']);
    if (!this.setupRequired) throw new LucidError('AUTH_ERR_SETUP_DONE');
    if (!this.setupCode.matches(code)) {
      await this.audit.append({ actor: null, action: 'auth.setup', target: username, ip: ctx.ip, outcome: 'failure', details: { why: 'wrong code' } });
      throw new LucidError('AUTH_ERR_SETUP_CODE');
    }
    checkPasswordPolicy(password, username);
    const user = await this.users.create({ username, role: 'super_admin', passwordHash: await hashPassword(password), createdBy: null, now: this.now() });
    this.setupRequired = false;
    await this.setupCode.burn();
    await this.audit.append({ actor: actorOf(user), action: 'auth.setup', target: user.id, ip: ctx.ip, outcome: 'success', details: { username } });
    return this.startSession(user, 'setup', ctx);
  }

  async login(username: string, password: string, ctx: ClientContext): Promise<TokenPair> {
    this.limiter.hit([`ip:${ctx.ip}`, `user:${username.toLowerCase()}`]);
    const user = await this.users.byName(username);
    if (!user) {
      await verifyPassword(password, await dummyHash()); // same time as a real check
      await this.audit.append({ actor: null, action: 'auth.login', target: username, ip: ctx.ip, outcome: 'failure', details: { method: 'password', why: 'unknown user' } });
      throw new LucidError('AUTH_ERR_BAD_CREDENTIALS');
    }
    await this.refuseIfLocked(user, 'password', ctx);
    if (!(await verifyPassword(password, user.passwordHash))) {
      await this.failed(user, 'password', ctx);
      throw new LucidError('AUTH_ERR_BAD_CREDENTIALS');
    }
    return this.succeeded(user, 'password', ctx);
  }

  challenge(address: string): Challenge {
    if (!isTronAddress(address)) throw new LucidError('API_ERR_VALIDATION', 'not a TRON address', { address });
    const now = this.now();
    if (this.challenges.size > 5000) for (const [a, c] of this.challenges) if (c.expiresAt <= now) this.challenges.delete(a);
    const nonce = randomBytes(16).toString('hex');
    const expiresAt = now + NONCE_TTL_MS;
    const message = `Lucid appliance login\nNode: ${this.deps.nodeId}\nAddress: ${address}\nNonce: ${nonce}\nExpires: ${new Date(expiresAt).toISOString()}`;
    const c: Challenge = { address, message, nonce, expiresAt };
    this.challenges.set(address, c);
    return c;
  }

  /** Verifies a TIP-191 signature over the live challenge of `address`; the nonce is used up either way. */
  private async checkChallenge(address: string, signature: Uint8Array | null, ctx: ClientContext, method: string): Promise<void> {
    const c = this.challenges.get(address);
    this.challenges.delete(address);
    if (!c || c.expiresAt <= this.now()) {
      await this.audit.append({ actor: null, action: 'auth.login', target: address, ip: ctx.ip, outcome: 'failure', details: { method, why: 'no live nonce' } });
      throw new LucidError('AUTH_ERR_NONCE');
    }
    if (signature === null || recoverTip191Address(c.message, signature) !== address) {
      const user = await this.users.byWallet(address);
      if (user) await this.failed(user, method, ctx);
      else await this.audit.append({ actor: null, action: 'auth.login', target: address, ip: ctx.ip, outcome: 'failure', details: { method, why: 'bad signature' } });
      throw new LucidError('AUTH_ERR_BAD_SIGNATURE');
    }
  }

  async walletLogin(address: string, signature: Uint8Array | null, ctx: ClientContext): Promise<TokenPair> {
    this.limiter.hit([`ip:${ctx.ip}`, `wallet:${address}`]);
    const linked = await this.users.byWallet(address);
    if (linked) await this.refuseIfLocked(linked, 'wallet', ctx);
    await this.checkChallenge(address, signature, ctx, 'wallet');
    if (!linked) {
      await this.audit.append({ actor: null, action: 'auth.login', target: address, ip: ctx.ip, outcome: 'failure', details: { method: 'wallet', why: 'address not linked' } });
      throw new LucidError('AUTH_ERR_WALLET_UNLINKED');
    }
    return this.succeeded(linked, 'wallet', ctx);
  }

  /** Login with the Ledger plugged into this appliance: it signs our challenge on the device. */
  async hardwareLogin(ctx: ClientContext): Promise<TokenPair> {
    this.limiter.hit([`ip:${ctx.ip}`, 'hardware']);
    const wallet = this.deps.wallet;
    if (!wallet) throw new LucidError('HAL_ERR_UNAVAILABLE', 'no hardware wallet configured');
    const { address, signature } = await this.withWallet(wallet, async () => {
      const { address } = await wallet.getAddress();
      const c = this.challenge(address);
      const signature = await wallet.signPersonalMessage("m/44'/195'/0'/0/0", new TextEncoder().encode(c.message));
      return { address, signature };
    });
    const linked = await this.users.byWallet(address);
    if (linked) await this.refuseIfLocked(linked, 'hardware', ctx);
    await this.checkChallenge(address, signature, ctx, 'hardware');
    if (!linked) {
      await this.audit.append({ actor: null, action: 'auth.login', target: address, ip: ctx.ip, outcome: 'failure', details: { method: 'hardware', why: 'address not linked' } });
      throw new LucidError('AUTH_ERR_WALLET_UNLINKED');
    }
    return this.succeeded(linked, 'hardware', ctx);
  }

  async hardwareAddress(): Promise<{ address: string; version: string }> {
    const wallet = this.deps.wallet;
    if (!wallet) throw new LucidError('HAL_ERR_UNAVAILABLE', 'no hardware wallet configured');
    return this.withWallet(wallet, async () => {
      const { address } = await wallet.getAddress();
      const { version } = await wallet.getAppConfiguration();
      return { address, version };
    });
  }

  /** Opens the device for one use and always closes it: another process may need it next. */
  private async withWallet<T>(wallet: WalletDriver, use: () => Promise<T>): Promise<T> {
    const release = this.deps.acquireWallet ? await this.deps.acquireWallet() : async () => {};
    try {
      await wallet.open();
      return await use();
    } finally {
      await wallet.close().catch(() => {});
      await release().catch(() => {});
    }
  }

  private async refuseIfLocked(user: UserRecord, method: string, ctx: ClientContext): Promise<void> {
    // A lock whose time passed while no timer ran (restart, clock jump) is released and audited here.
    if (user.lockedUntil !== 0 && user.lockedUntil <= this.now()) await this.unlock(user.id, null, null, 'expired');
    if (user.lockedUntil > this.now()) {
      await this.audit.append({ actor: null, action: 'auth.login', target: user.id, ip: ctx.ip, outcome: 'denied', details: { method, why: 'locked', username: user.username } });
      throw new LucidError('AUTH_ERR_LOCKED', undefined, { until: new Date(user.lockedUntil).toISOString() });
    }
  }

  private async failed(user: UserRecord, method: string, ctx: ClientContext): Promise<void> {
    const failures = user.failedLogins + 1;
    const lock = failures >= LOCK_AFTER;
    const next = await this.users.update(user.id, (u) => ({ ...u, failedLogins: lock ? 0 : failures, lockedUntil: lock ? this.now() + LOCK_MS : u.lockedUntil }));
    await this.audit.append({ actor: null, action: 'auth.login', target: user.id, ip: ctx.ip, outcome: 'failure', details: { method, username: user.username, failures } });
    if (lock) {
      await this.audit.append({ actor: null, action: 'auth.lock', target: user.id, ip: ctx.ip, outcome: 'success', details: { username: user.username, until: next.lockedUntil, after: LOCK_AFTER } });
      this.log.warn({ user: user.username }, 'account locked after failed logins');
      this.scheduleUnlock(next);
    }
  }

  private scheduleUnlock(user: UserRecord): void {
    clearTimeout(this.unlockTimers.get(user.id));
    const t = setTimeout(() => {
      this.unlockTimers.delete(user.id);
      void this.unlock(user.id, null, null, 'expired').catch((err: unknown) => this.log.error({ err }, 'unlock failed'));
    }, Math.max(0, user.lockedUntil - this.now()) + 10);
    t.unref();
    this.unlockTimers.set(user.id, t);
  }

  /** Releases a lock (timer or admin) and audits the release. */
  async unlock(userId: string, actor: AuditActor | null, ip: string | null, reason: 'expired' | 'admin'): Promise<UserRecord> {
    const user = await this.users.get(userId);
    if (!user) throw new LucidError('AUTH_ERR_USER_NOT_FOUND');
    if (user.lockedUntil === 0) return user;
    clearTimeout(this.unlockTimers.get(userId));
    this.unlockTimers.delete(userId);
    const next = await this.users.update(userId, (u) => ({ ...u, lockedUntil: 0, failedLogins: 0 }));
    await this.audit.append({ actor, action: 'auth.unlock', target: userId, ip, outcome: 'success', details: { username: user.username, reason } });
    return next;
  }

  private async succeeded(user: UserRecord, method: Family['method'], ctx: ClientContext): Promise<TokenPair> {
    if (!this.emergency.newSessionsAllowed && !hasRole(user.role, 'admin')) {
      await this.audit.append({ actor: actorOf(user), action: 'auth.login', target: user.id, ip: ctx.ip, outcome: 'denied', details: { method, why: 'new sessions disabled' } });
      throw new LucidError('AUTH_ERR_SESSIONS_DISABLED');
    }
    if (this.emergency.lockdownActive && !hasRole(user.role, 'admin')) {
      await this.audit.append({ actor: actorOf(user), action: 'auth.login', target: user.id, ip: ctx.ip, outcome: 'denied', details: { method, why: 'lockdown' } });
      throw new LucidError('AUTH_ERR_LOCKDOWN');
    }
    if (user.failedLogins > 0) await this.users.update(user.id, (u) => ({ ...u, failedLogins: 0 }));
    const tokens = await this.startSession(user, method, ctx);
    await this.audit.append({ actor: actorOf(user), action: 'auth.login', target: user.id, ip: ctx.ip, outcome: 'success', details: { method } });
    return tokens;
  }

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

  async refresh(refreshToken: string, ctx: ClientContext): Promise<TokenPair> {
    const claims = this.jwt.verify(refreshToken);
    this.jwt.forget(refreshToken);
    const now = this.now();
    if (!claims || claims.typ !== 'refresh' || !this.bound(claims, ctx)) throw new LucidError('AUTH_ERR_TOKEN_INVALID');
    if (claims.exp * 1000 <= now) throw new LucidError('AUTH_ERR_TOKEN_EXPIRED');
    const family = this.families.get(claims.sid);
    if (!family || family.revokedAt !== null) throw new LucidError('AUTH_ERR_TOKEN_INVALID');
    const user = await this.users.get(family.userId);
    if (claims.jti !== family.refreshJti) {
      await this.families.revoke(family.id, 'refresh token reused', now);
      await this.audit.append({ actor: user ? actorOf(user) : null, action: 'auth.refresh', target: family.id, ip: ctx.ip, outcome: 'denied', details: { why: 'reuse: family revoked' } });
      throw new LucidError('AUTH_ERR_REFRESH_REUSED');
    }
    if (!user) throw new LucidError('AUTH_ERR_TOKEN_INVALID');
    const next: Family = { ...family, refreshJti: newId(), lastUsedAt: now, ip: ctx.ip };
    await this.families.put(next);
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

  async revokeAllOf(userId: string, reason: string): Promise<number> {
    let n = 0;
    for (const f of this.families.activeOf(userId, this.now())) if (await this.families.revoke(f.id, reason, this.now())) n++;
    return n;
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
