// Login sessions = refresh-token families. Each login starts a family; every refresh rotates its
// refresh token (new jti) and a refresh token whose jti is not the family's current one is a
// replay: the whole family is revoked. Access tokens carry the family id, so revoking a family
// (logout, reuse, session limit, emergency stop) kills its access tokens at once.
// All families live in memory (users × 5, small) and in LevelDB (`auth-families`), so revocation
// survives restarts and checking it costs a Map lookup.
// Memory is the source of truth while running: a change (rotation, revocation) is made there
// synchronously — no await between the check and the change, so of N concurrent spends of one
// refresh token exactly one rotates and the rest see a reused token — and then written to the
// store, synced, in the order the changes were made (one write queue per family), so the disk
// never ends with an older state than memory had.
import { DURABLE, type Store, type Sublevel } from '../store/index.js';

export interface Family {
  readonly id: string;
  readonly userId: string;
  readonly createdAt: number;
  readonly lastUsedAt: number;
  readonly expiresAt: number;
  /** jti of the only refresh token of this family that may still be used. */
  readonly refreshJti: string;
  readonly method: 'password' | 'wallet' | 'hardware' | 'setup';
  readonly uah: string;
  readonly ip: string | null;
  readonly revokedAt: number | null;
  readonly revokeReason: string | null;
}

export class FamilyStore {
  private readonly db: Sublevel<Family>;
  private readonly byId = new Map<string, Family>();
  /** Family ids per user (a family never changes user): a user's sessions without a scan of all. */
  private readonly byUser = new Map<string, Set<string>>();

  constructor(store: Store) {
    this.db = store.sublevel<Family>('auth-families');
  }

  /** Loads every family; drops those expired for more than a day (their tokens are long dead). */
  async load(now: number): Promise<void> {
    const stale: string[] = [];
    for await (const f of this.db.values()) {
      if (f.expiresAt < now - 24 * 3600 * 1000) stale.push(f.id);
      else this.remember(f);
    }
    // Not synced: a power cut only brings back records of tokens that are long expired.
    if (stale.length > 0) await this.db.batch(stale.map((key) => ({ type: 'del' as const, key })));
  }

  get(id: string): Family | undefined {
    return this.byId.get(id);
  }

  /** Every family of a user (live or not). */
  ofUser(userId: string): Family[] {
    const out: Family[] = [];
    for (const id of this.byUser.get(userId) ?? []) out.push(this.byId.get(id)!);
    return out;
  }

  /** Live (not revoked, not expired) families of a user, oldest first. */
  activeOf(userId: string, now: number): Family[] {
    return this.ofUser(userId).filter((f) => f.revokedAt === null && f.expiresAt > now).sort((a, b) => a.createdAt - b.createdAt);
  }

  all(): Family[] {
    return [...this.byId.values()];
  }

  /** Keeps `f` (memory first, now) and resolves once it is durable. */
  put(f: Family): Promise<void> {
    this.remember(f);
    return this.persist(f);
  }

  /**
   * Spends the refresh token `jti` of family `id`: if it is the family's current one and the
   * family is live, the family moves to `next` at once and this resolves to it once durable;
   * otherwise nothing changes and this resolves to null (a reused or dead token).
   */
  spend(id: string, jti: string, change: (f: Family) => Family, now: number): Promise<Family> | null {
    const f = this.byId.get(id);
    if (!f || f.revokedAt !== null || f.expiresAt <= now || f.refreshJti !== jti) return null;
    const next = change(f);
    this.remember(next);
    return this.persist(next).then(() => next);
  }

  private readonly writes = new Map<string, Promise<void>>();
  private persist(f: Family): Promise<void> {
    const previous = this.writes.get(f.id) ?? Promise.resolve();
    const write = previous.catch(() => {}).then(() => this.db.put(f.id, f, DURABLE));
    this.writes.set(f.id, write);
    void write.finally(() => { if (this.writes.get(f.id) === write) this.writes.delete(f.id); }).catch(() => {});
    return write;
  }

  private remember(f: Family): void {
    this.byId.set(f.id, f);
    let ids = this.byUser.get(f.userId);
    if (!ids) this.byUser.set(f.userId, (ids = new Set()));
    ids.add(f.id);
  }

  /** Revokes at once (memory) and resolves once durable; null when already revoked or unknown. */
  async revoke(id: string, reason: string, now: number): Promise<Family | null> {
    const f = this.byId.get(id);
    if (!f || f.revokedAt !== null) return null;
    const next: Family = { ...f, revokedAt: now, revokeReason: reason };
    await this.put(next);
    return next;
  }

  isLive(id: string, now: number): boolean {
    const f = this.byId.get(id);
    return f !== undefined && f.revokedAt === null && f.expiresAt > now;
  }
}
