// Users in LevelDB: `auth-users` holds records by id, `auth-names` maps a canonical username
// (usernames.ts) to its id, `auth-wallets` maps a linked TRON address to its user id. Writes go
// through one batch, so a power cut never leaves a name or wallet pointing at nothing, and every
// write is synced (README: durability). Read-modify-write of one record is serialised per user
// (a lock per id), so a login resetting its failure count cannot undo a concurrent role change.
import { DURABLE, type Store, type Sublevel } from '../store/index.js';
import { LucidError } from '../common/errors.js';
import { KeyedLock } from '../common/keyed-lock.js';
import type { Logger } from '../common/log.js';
import type { Role } from './roles.js';
import { newId } from './jwt.js';
import { canonicalUsername } from './usernames.js';

export interface UserRecord {
  readonly id: string;
  /** The canonical form (usernames.ts); records made before it keep theirs until migrate(). */
  readonly username: string;
  readonly role: Role;
  readonly passwordHash: string;
  readonly wallets: readonly string[];
  readonly createdAt: number;
  readonly createdBy: string | null;
  // Provenance (two-person rule, approvals.ts): who last set this user's role and credentials
  // (password, wallets), when, and who approved it when that took two people.
  readonly roleChangedBy: string | null;
  readonly roleChangedAt: number;
  readonly roleApprovedBy: string | null;
  readonly credentialsChangedBy: string | null;
  readonly credentialsChangedAt: number;
  /** Consecutive failed logins since the last success or lock (an attempt in progress counts). */
  readonly failedLogins: number;
  /** Epoch ms until which the account is locked; 0 when not locked. */
  readonly lockedUntil: number;
}

export type PublicUser = Omit<UserRecord, 'passwordHash' | 'failedLogins'> & { readonly locked: boolean };

/** Who changed what, for the provenance fields. */
export interface Change { readonly by: string | null; readonly approvedBy?: string | null; readonly at: number }

export function publicUser(u: UserRecord, now: number): PublicUser {
  const { passwordHash: _h, failedLogins: _f, ...rest } = u;
  return { ...rest, locked: u.lockedUntil > now };
}

/** Fills the provenance of records written before it existed: creation set role and credentials. */
function withProvenance(u: UserRecord): UserRecord {
  if (u.roleChangedAt !== undefined && u.credentialsChangedAt !== undefined) return u;
  return {
    ...u,
    roleChangedBy: u.roleChangedBy ?? u.createdBy, roleChangedAt: u.roleChangedAt ?? u.createdAt, roleApprovedBy: u.roleApprovedBy ?? null,
    credentialsChangedBy: u.credentialsChangedBy ?? u.createdBy, credentialsChangedAt: u.credentialsChangedAt ?? u.createdAt,
  };
}

/** The key of the names index before canonical names (NFKC + toLowerCase), for migrate(). */
const legacyFold = (username: string): string => username.normalize('NFKC').toLowerCase();
const NAMES_VERSION = 2;

export class UserStore {
  private readonly users: Sublevel<UserRecord>;
  private readonly names: Sublevel<string>;
  private readonly walletIndex: Sublevel<string>;
  private readonly meta: Sublevel<number>;
  private readonly lock = new KeyedLock();

  constructor(private readonly store: Store) {
    this.users = store.sublevel<UserRecord>('auth-users');
    this.names = store.sublevel<string>('auth-names', 'utf8');
    this.walletIndex = store.sublevel<string>('auth-wallets', 'utf8');
    this.meta = store.sublevel<number>('auth-meta');
  }

  /**
   * Once per data dir: rewrites usernames to their canonical form, re-keys the names index
   * and fills provenance. Two old names with one canonical form cannot both keep it: the older
   * account keeps the name, the other stays reachable by id only (logged, for an admin to fix).
   */
  async migrate(log: Logger): Promise<void> {
    if ((await this.meta.get('names-version')) === NAMES_VERSION) return;
    const users = (await this.users.values().all()).sort((a, b) => a.createdAt - b.createdAt);
    let batch = this.store.batch();
    const taken = new Set<string>();
    for (const old of users) {
      const canonical = canonicalUsername(old.username);
      batch = batch.del(legacyFold(old.username), { sublevel: this.names as never });
      if (canonical === null || taken.has(canonical)) {
        log.error({ id: old.id, username: old.username }, 'username has no free canonical form: reachable by id only until an admin renames or deletes it');
        batch = batch.put(old.id, withProvenance(old) as never, { sublevel: this.users as never });
        continue;
      }
      taken.add(canonical);
      batch = batch.put(old.id, withProvenance({ ...old, username: canonical }) as never, { sublevel: this.users as never })
        .put(canonical, old.id as never, { sublevel: this.names as never });
    }
    await batch.put('names-version', NAMES_VERSION as never, { sublevel: this.meta as never }).write(DURABLE);
    if (users.length > 0) log.info({ users: users.length }, 'usernames migrated to their canonical form');
  }

  async get(id: string): Promise<UserRecord | null> {
    const u = await this.users.get(id);
    return u ? withProvenance(u) : null;
  }

  /** `username` must be canonical (usernames.ts). */
  async byName(username: string): Promise<UserRecord | null> {
    const id = await this.names.get(username);
    return id ? this.get(id) : null;
  }

  async byWallet(address: string): Promise<UserRecord | null> {
    const id = await this.walletIndex.get(address);
    return id ? this.get(id) : null;
  }

  async list(): Promise<UserRecord[]> {
    return (await this.users.values().all()).map(withProvenance);
  }

  async count(): Promise<number> {
    let n = 0;
    for await (const _ of this.users.keys()) n++;
    return n;
  }

  /** `username` must be canonical. Creations of one name are serialised: exactly one wins, the rest are 409. */
  async create(input: { username: string; role: Role; passwordHash: string; createdBy: string | null; now: number }): Promise<UserRecord> {
    return this.lock.run(`name:${input.username}`, async () => {
      if (await this.names.get(input.username)) throw new LucidError('AUTH_ERR_USER_EXISTS', `the username ${input.username} is taken`, { username: input.username });
      const user: UserRecord = {
        id: newId(12), username: input.username, role: input.role, passwordHash: input.passwordHash, wallets: [],
        createdAt: input.now, createdBy: input.createdBy,
        roleChangedBy: input.createdBy, roleChangedAt: input.now, roleApprovedBy: null,
        credentialsChangedBy: input.createdBy, credentialsChangedAt: input.now,
        failedLogins: 0, lockedUntil: 0,
      };
      await this.store.batch()
        .put(user.id, user as never, { sublevel: this.users as never })
        .put(user.username, user.id as never, { sublevel: this.names as never })
        .write(DURABLE);
      return user;
    });
  }

  /** Read-modify-write of one user, serialised per user and synced. */
  async update(id: string, change: (u: UserRecord) => UserRecord): Promise<UserRecord> {
    return this.lock.run(`user:${id}`, async () => {
      const user = await this.get(id);
      if (!user) throw new LucidError('AUTH_ERR_USER_NOT_FOUND');
      const next = change(user);
      await this.users.put(id, next, DURABLE);
      return next;
    });
  }

  async linkWallet(id: string, address: string, by: Change): Promise<UserRecord> {
    return this.lock.run(`wallet:${address}`, () => this.lock.run(`user:${id}`, async () => {
      const owner = await this.walletIndex.get(address);
      if (owner) throw new LucidError('AUTH_ERR_WALLET_LINKED', 'this address is already linked', owner === id ? { self: true } : undefined);
      const user = await this.get(id);
      if (!user) throw new LucidError('AUTH_ERR_USER_NOT_FOUND');
      const next: UserRecord = { ...user, wallets: [...user.wallets, address], ...credentialsChange(by) };
      await this.store.batch()
        .put(id, next as never, { sublevel: this.users as never })
        .put(address, id as never, { sublevel: this.walletIndex as never })
        .write(DURABLE);
      return next;
    }));
  }

  async unlinkWallet(id: string, address: string, by: Change): Promise<UserRecord> {
    return this.lock.run(`wallet:${address}`, () => this.lock.run(`user:${id}`, async () => {
      const user = await this.get(id);
      if (!user) throw new LucidError('AUTH_ERR_USER_NOT_FOUND');
      if (!user.wallets.includes(address)) return user;
      const next: UserRecord = { ...user, wallets: user.wallets.filter((w) => w !== address), ...credentialsChange(by) };
      await this.store.batch()
        .put(id, next as never, { sublevel: this.users as never })
        .del(address, { sublevel: this.walletIndex as never })
        .write(DURABLE);
      return next;
    }));
  }

  async delete(id: string): Promise<void> {
    await this.lock.run(`user:${id}`, async () => {
      const user = await this.get(id);
      if (!user) throw new LucidError('AUTH_ERR_USER_NOT_FOUND');
      let b = this.store.batch().del(id, { sublevel: this.users as never });
      if ((await this.names.get(user.username)) === id) b = b.del(user.username, { sublevel: this.names as never });
      for (const w of user.wallets) b = b.del(w, { sublevel: this.walletIndex as never });
      await b.write(DURABLE);
    });
  }
}

export const credentialsChange = (c: Change): Pick<UserRecord, 'credentialsChangedBy' | 'credentialsChangedAt'> =>
  ({ credentialsChangedBy: c.by, credentialsChangedAt: c.at });
export const roleChange = (c: Change): Pick<UserRecord, 'roleChangedBy' | 'roleChangedAt' | 'roleApprovedBy'> =>
  ({ roleChangedBy: c.by, roleChangedAt: c.at, roleApprovedBy: c.approvedBy ?? null });
