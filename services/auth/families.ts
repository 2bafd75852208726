// Login sessions = refresh-token families. Each login starts a family; every refresh rotates its
// refresh token (new jti) and a refresh token whose jti is not the family's current one is a
// replay: the whole family is revoked. Access tokens carry the family id, so revoking a family
// (logout, reuse, session limit, emergency stop) kills its access tokens at once.
// All families live in memory (users × 5, small) and in LevelDB (`auth-families`), so revocation
// survives restarts and checking it costs a Map lookup.
import type { Store, Sublevel } from '../store/index.js';

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

  async put(f: Family): Promise<void> {
    await this.db.put(f.id, f);
    this.remember(f);
  }

  private remember(f: Family): void {
    this.byId.set(f.id, f);
    let ids = this.byUser.get(f.userId);
    if (!ids) this.byUser.set(f.userId, (ids = new Set()));
    ids.add(f.id);
  }

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
