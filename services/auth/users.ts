// Users in LevelDB: `auth-users` holds records by id, `auth-names` maps a folded username to its
// id, `auth-wallets` maps a linked TRON address to its user id. Writes go through one batch, so a
// power cut never leaves a name or wallet pointing at nothing.
import type { Store, Sublevel } from '../store/index.js';
import { LucidError } from '../common/errors.js';
import type { Role } from './roles.js';
import { newId } from './jwt.js';

export interface UserRecord {
  readonly id: string;
  readonly username: string;
  readonly role: Role;
  readonly passwordHash: string;
  readonly wallets: readonly string[];
  readonly createdAt: number;
  readonly createdBy: string | null;
  /** Consecutive failed logins since the last success or lock. */
  readonly failedLogins: number;
  /** Epoch ms until which the account is locked; 0 when not locked. */
  readonly lockedUntil: number;
}

export type PublicUser = Omit<UserRecord, 'passwordHash' | 'failedLogins'> & { readonly locked: boolean };

export const fold = (username: string): string => username.normalize('NFKC').toLowerCase();

export function publicUser(u: UserRecord, now: number): PublicUser {
  const { passwordHash: _h, failedLogins: _f, ...rest } = u;
  return { ...rest, locked: u.lockedUntil > now };
}

export class UserStore {
  private readonly users: Sublevel<UserRecord>;
  private readonly names: Sublevel<string>;
  private readonly walletIndex: Sublevel<string>;

  constructor(private readonly store: Store) {
    this.users = store.sublevel<UserRecord>('auth-users');
    this.names = store.sublevel<string>('auth-names', 'utf8');
    this.walletIndex = store.sublevel<string>('auth-wallets', 'utf8');
  }

  async get(id: string): Promise<UserRecord | null> {
    return (await this.users.get(id)) ?? null;
  }

  async byName(username: string): Promise<UserRecord | null> {
    const id = await this.names.get(fold(username));
    return id ? this.get(id) : null;
  }

  async byWallet(address: string): Promise<UserRecord | null> {
    const id = await this.walletIndex.get(address);
    return id ? this.get(id) : null;
  }

  async list(): Promise<UserRecord[]> {
    return this.users.values().all();
  }

  async count(): Promise<number> {
    let n = 0;
    for await (const _ of this.users.keys()) n++;
    return n;
  }

  async create(input: { username: string; role: Role; passwordHash: string; createdBy: string | null; now: number }): Promise<UserRecord> {
    if (await this.names.get(fold(input.username))) throw new LucidError('AUTH_ERR_USER_EXISTS', `user ${input.username} exists`);
    const user: UserRecord = {
      id: newId(12), username: input.username, role: input.role, passwordHash: input.passwordHash, wallets: [],
      createdAt: input.now, createdBy: input.createdBy, failedLogins: 0, lockedUntil: 0,
    };
    await this.store.batch()
      .put(user.id, user as never, { sublevel: this.users as never })
      .put(fold(user.username), user.id as never, { sublevel: this.names as never })
      .write();
    return user;
  }

  async put(user: UserRecord): Promise<void> {
    await this.users.put(user.id, user);
  }

  async update(id: string, change: (u: UserRecord) => UserRecord): Promise<UserRecord> {
    const user = await this.get(id);
    if (!user) throw new LucidError('AUTH_ERR_USER_NOT_FOUND');
    const next = change(user);
    await this.users.put(id, next);
    return next;
  }

  async linkWallet(id: string, address: string): Promise<UserRecord> {
    const owner = await this.walletIndex.get(address);
    if (owner) throw new LucidError('AUTH_ERR_WALLET_LINKED', 'this address is already linked', owner === id ? { self: true } : undefined);
    const user = await this.get(id);
    if (!user) throw new LucidError('AUTH_ERR_USER_NOT_FOUND');
    const next: UserRecord = { ...user, wallets: [...user.wallets, address] };
    await this.store.batch()
      .put(id, next as never, { sublevel: this.users as never })
      .put(address, id as never, { sublevel: this.walletIndex as never })
      .write();
    return next;
  }

  async unlinkWallet(id: string, address: string): Promise<UserRecord> {
    const user = await this.get(id);
    if (!user) throw new LucidError('AUTH_ERR_USER_NOT_FOUND');
    const next: UserRecord = { ...user, wallets: user.wallets.filter((w) => w !== address) };
    await this.store.batch()
      .put(id, next as never, { sublevel: this.users as never })
      .del(address, { sublevel: this.walletIndex as never })
      .write();
    return next;
  }

  async delete(id: string): Promise<void> {
    const user = await this.get(id);
    if (!user) throw new LucidError('AUTH_ERR_USER_NOT_FOUND');
    let b = this.store.batch().del(id, { sublevel: this.users as never }).del(fold(user.username), { sublevel: this.names as never });
    for (const w of user.wallets) b = b.del(w, { sublevel: this.walletIndex as never });
    await b.write();
  }
}
