// Logins (password, TRON wallet signature, the hardware wallet) and the lockout they feed.
//
// Lockout under concurrency: every attempt on an account runs in that account's critical
// section (a lock per user id), and inside it the attempt is counted — durably — *before* the
// ~90 ms password hash or the signature check, then uncounted if it was right. So N attempts
// sent at once are decided one after the other, exactly as N sent in sequence: the 5th wrong
// one locks, the ones queued behind it find the lock. Killing the process mid-check leaves the
// attempt counted, never forgotten.
// Usernames are canonical (usernames.ts) for the lookup, the per-account rate limit and audit.
import { randomBytes } from 'node:crypto';
import { LucidError, type ErrorCode } from '../common/errors.js';
import { KeyedLock } from '../common/keyed-lock.js';
import type { Logger } from '../common/log.js';
import type { WalletDriver } from '../../hal/wallet/types.js';
import { actorOf, type AuditActor, type AuditLog } from './audit.js';
import type { EmergencyControls } from './emergency.js';
import type { Family } from './families.js';
import type { LoginLimiter } from './login-limiter.js';
import { dummyHash, verifyPassword } from './passwords.js';
import { hasRole, type Role } from './roles.js';
import { isTronAddress, recoverTip191Address } from './tron-message.js';
import { canonicalUsername } from './usernames.js';
import type { UserRecord, UserStore } from './users.js';

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
export interface Challenge { readonly address: string; readonly message: string; readonly nonce: string; readonly expiresAt: number }
type Method = Family['method'];

export interface LoginDeps {
  readonly users: UserStore;
  readonly audit: AuditLog;
  readonly limiter: LoginLimiter;
  readonly emergency: EmergencyControls;
  readonly log: Logger;
  readonly now: () => number;
  readonly nodeId: string;
  readonly wallet: WalletDriver | null;
  readonly acquireWallet?: () => Promise<() => Promise<void>>;
  /** Issues the tokens of a new login session. */
  readonly startSession: (user: UserRecord, method: Method, ctx: ClientContext) => Promise<TokenPair>;
}


export class LoginFlow {
  private readonly accounts = new KeyedLock();
  private readonly challenges = new Map<string, Challenge>();
  private readonly unlockTimers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly deps: LoginDeps) {}

  stop(): void {
    for (const t of this.unlockTimers.values()) clearTimeout(t);
  }

  async password(username: string, password: string, ctx: ClientContext): Promise<TokenPair> {
    const { audit, limiter, users } = this.deps;
    const canonical = canonicalUsername(username);
    if (canonical === null) {
      limiter.hit([`ip:${ctx.ip}`]);
      throw new LucidError('AUTH_ERR_USERNAME_INVALID');
    }
    limiter.hit([`ip:${ctx.ip}`, `user:${canonical}`]);
    const user = await users.byName(canonical);
    if (!user) {
      await verifyPassword(password, await dummyHash()); // same time as a real check
      await audit.append({ actor: null, action: 'auth.login', target: canonical, ip: ctx.ip, outcome: 'failure', details: { method: 'password', why: 'unknown user' } });
      throw new LucidError('AUTH_ERR_BAD_CREDENTIALS');
    }
    return this.attempt(user.id, 'password', ctx, 'AUTH_ERR_BAD_CREDENTIALS', (u) => verifyPassword(password, u.passwordHash));
  }

  challenge(address: string): Challenge {
    if (!isTronAddress(address)) throw new LucidError('API_ERR_VALIDATION', 'not a TRON address', { address });
    const now = this.deps.now();
    if (this.challenges.size > 5000) for (const [a, c] of this.challenges) if (c.expiresAt <= now) this.challenges.delete(a);
    const nonce = randomBytes(16).toString('hex');
    const expiresAt = now + NONCE_TTL_MS;
    const message = `Lucid appliance login\nNode: ${this.deps.nodeId}\nAddress: ${address}\nNonce: ${nonce}\nExpires: ${new Date(expiresAt).toISOString()}`;
    const c: Challenge = { address, message, nonce, expiresAt };
    this.challenges.set(address, c);
    return c;
  }

  async wallet(address: string, signature: Uint8Array | null, ctx: ClientContext): Promise<TokenPair> {
    this.deps.limiter.hit([`ip:${ctx.ip}`, `wallet:${address}`]);
    return this.signed(address, signature, ctx, 'wallet');
  }

  /** Login with the Ledger plugged into this appliance: it signs our challenge on the device. */
  async hardware(ctx: ClientContext): Promise<TokenPair> {
    this.deps.limiter.hit([`ip:${ctx.ip}`, 'hardware']);
    const wallet = this.deps.wallet;
    if (!wallet) throw new LucidError('HAL_ERR_UNAVAILABLE', 'no hardware wallet configured');
    const { address, signature } = await this.withWallet(wallet, async () => {
      const { address } = await wallet.getAddress();
      const c = this.challenge(address);
      const signature = await wallet.signPersonalMessage("m/44'/195'/0'/0/0", new TextEncoder().encode(c.message));
      return { address, signature };
    });
    return this.signed(address, signature, ctx, 'hardware');
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

  /** A TIP-191 signature over the live challenge of `address`; the nonce is used up either way. */
  private async signed(address: string, signature: Uint8Array | null, ctx: ClientContext, method: 'wallet' | 'hardware'): Promise<TokenPair> {
    const c = this.challenges.get(address);
    this.challenges.delete(address);
    const live = c !== undefined && c.expiresAt > this.deps.now();
    const valid = (): boolean => live && signature !== null && recoverTip191Address(c.message, signature) === address;
    const linked = await this.deps.users.byWallet(address);
    const fail = async (why: string, code: ErrorCode): Promise<never> => {
      await this.deps.audit.append({ actor: null, action: 'auth.login', target: address, ip: ctx.ip, outcome: 'failure', details: { method, why } });
      throw new LucidError(code);
    };
    if (!linked) {
      if (!live) return fail('no live nonce', 'AUTH_ERR_NONCE');
      if (!valid()) return fail('bad signature', 'AUTH_ERR_BAD_SIGNATURE');
      return fail('address not linked', 'AUTH_ERR_WALLET_UNLINKED');
    }
    return this.attempt(linked.id, method, ctx, 'AUTH_ERR_BAD_SIGNATURE', async () => valid(), async () => {
      if (!live) await fail('no live nonce', 'AUTH_ERR_NONCE'); // not a guess at the account: not counted
    });
  }

  /**
   * One attempt on account `userId`, serialised per account: refuse if locked, count the attempt
   * (durably), check it, then uncount it (right) or lock after LOCK_AFTER (wrong).
   */
  private attempt(userId: string, method: Method, ctx: ClientContext, wrong: ErrorCode, check: (u: UserRecord) => Promise<boolean>, precheck?: () => Promise<void>): Promise<TokenPair> {
    return this.accounts.run(userId, async () => {
      const current = await this.deps.users.get(userId);
      if (!current) throw new LucidError(wrong);
      await this.refuseIfLocked(current, method, ctx);
      await precheck?.();
      const counted = await this.deps.users.update(userId, (u) => ({ ...u, failedLogins: u.failedLogins + 1 }));
      if (!(await check(counted))) {
        await this.failed(counted, method, ctx);
        throw new LucidError(wrong);
      }
      const user = await this.deps.users.update(userId, (u) => ({ ...u, failedLogins: 0 }));
      return this.succeeded(user, method, ctx);
    });
  }

  private async refuseIfLocked(user: UserRecord, method: string, ctx: ClientContext): Promise<void> {
    // A lock whose time passed while no timer ran (restart, clock jump) is released and audited here.
    if (user.lockedUntil !== 0 && user.lockedUntil <= this.deps.now()) await this.unlock(user.id, null, null, 'expired');
    if (user.lockedUntil > this.deps.now()) {
      await this.deps.audit.append({ actor: null, action: 'auth.login', target: user.id, ip: ctx.ip, outcome: 'denied', details: { method, why: 'locked', username: user.username } });
      throw new LucidError('AUTH_ERR_LOCKED', undefined, { until: new Date(user.lockedUntil).toISOString() });
    }
  }

  /** `user.failedLogins` already counts this attempt. */
  private async failed(user: UserRecord, method: string, ctx: ClientContext): Promise<void> {
    const failures = user.failedLogins;
    const lock = failures >= LOCK_AFTER;
    const next = lock ? await this.deps.users.update(user.id, (u) => ({ ...u, failedLogins: 0, lockedUntil: this.deps.now() + LOCK_MS })) : user;
    await this.deps.audit.append({ actor: null, action: 'auth.login', target: user.id, ip: ctx.ip, outcome: 'failure', details: { method, username: user.username, failures } });
    if (lock) {
      await this.deps.audit.append({ actor: null, action: 'auth.lock', target: user.id, ip: ctx.ip, outcome: 'success', details: { username: user.username, until: next.lockedUntil, after: LOCK_AFTER } });
      this.deps.log.warn({ user: user.username }, 'account locked after failed logins');
      this.scheduleUnlock(next);
    }
  }

  scheduleUnlock(user: UserRecord): void {
    clearTimeout(this.unlockTimers.get(user.id));
    const t = setTimeout(() => {
      this.unlockTimers.delete(user.id);
      void this.unlock(user.id, null, null, 'expired').catch((err: unknown) => this.deps.log.error({ err }, 'unlock failed'));
    }, Math.max(0, user.lockedUntil - this.deps.now()) + 10);
    t.unref();
    this.unlockTimers.set(user.id, t);
  }

  /** Releases a lock (timer or admin) and audits the release. */
  async unlock(userId: string, actor: AuditActor | null, ip: string | null, reason: 'expired' | 'admin'): Promise<UserRecord> {
    const user = await this.deps.users.get(userId);
    if (!user) throw new LucidError('AUTH_ERR_USER_NOT_FOUND');
    if (user.lockedUntil === 0) return user;
    clearTimeout(this.unlockTimers.get(userId));
    this.unlockTimers.delete(userId);
    const next = await this.deps.users.update(userId, (u) => ({ ...u, lockedUntil: 0, failedLogins: 0 }));
    await this.deps.audit.append({ actor, action: 'auth.unlock', target: userId, ip, outcome: 'success', details: { username: user.username, reason } });
    return next;
  }

  private async succeeded(user: UserRecord, method: Method, ctx: ClientContext): Promise<TokenPair> {
    const { audit, emergency } = this.deps;
    if (!emergency.newSessionsAllowed && !hasRole(user.role, 'admin')) {
      await audit.append({ actor: actorOf(user), action: 'auth.login', target: user.id, ip: ctx.ip, outcome: 'denied', details: { method, why: 'new sessions disabled' } });
      throw new LucidError('AUTH_ERR_SESSIONS_DISABLED');
    }
    if (emergency.lockdownActive && !hasRole(user.role, 'admin')) {
      await audit.append({ actor: actorOf(user), action: 'auth.login', target: user.id, ip: ctx.ip, outcome: 'denied', details: { method, why: 'lockdown' } });
      throw new LucidError('AUTH_ERR_LOCKDOWN');
    }
    const tokens = await this.deps.startSession(user, method, ctx);
    await audit.append({ actor: actorOf(user), action: 'auth.login', target: user.id, ip: ctx.ip, outcome: 'success', details: { method } });
    return tokens;
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
}
