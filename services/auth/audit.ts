// The audit log: append-only, hash-chained entries in LevelDB (sublevel `audit`, key = 12-digit
// sequence number). Each entry's hash is SHA-256 over its canonical JSON (sorted keys) including
// the previous entry's hash, so editing an entry breaks its own hash and deleting one breaks the
// chain. The head (last seq + hash) is signed with the node key after every append, so cutting
// entries off the end is detected too. Retention (90 days) deletes a prefix of the chain and
// leaves a signed checkpoint (seq + hash of the last deleted entry): the rest still verifies.
import { createHash } from 'node:crypto';
import { DURABLE, type Store, type Sublevel } from '../store/index.js';
import type { Logger } from '../common/log.js';

export type AuditOutcome = 'success' | 'failure' | 'denied';

export interface AuditActor { readonly id: string; readonly username: string; readonly role: string }

/** The actor of an entry, from a user record or a request's principal. */
export const actorOf = (u: { readonly id: string; readonly username: string; readonly role: string } | { readonly userId: string; readonly username: string; readonly role: string }): AuditActor =>
  'userId' in u ? { id: u.userId, username: u.username, role: u.role } : { id: u.id, username: u.username, role: u.role };

export interface AuditInput {
  readonly actor: AuditActor | null;
  readonly action: string;
  readonly target?: string | null;
  readonly ip?: string | null;
  readonly outcome: AuditOutcome;
  readonly details?: Record<string, unknown> | null;
}

export interface AuditEntry {
  readonly seq: number;
  readonly at: number;
  readonly actor: AuditActor | null;
  readonly action: string;
  readonly target: string | null;
  readonly ip: string | null;
  readonly outcome: AuditOutcome;
  readonly details: Record<string, unknown> | null;
  readonly prev: string;
  readonly hash: string;
}

interface Signed { readonly seq: number; readonly hash: string; readonly sig: string }
interface Checkpoint extends Signed { readonly at: number; readonly pruned: number }

export interface AuditSigner {
  sign(message: Uint8Array): Uint8Array;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly entries: number;
  readonly headSeq: number;
  readonly checkpoint: { seq: number; at: number } | null;
  readonly firstBad: { seq: number; reason: string } | null;
}

export const GENESIS = '0'.repeat(64);
export const RETENTION_MS = 90 * 24 * 3600 * 1000;
const SECRET_KEY = /pass|secret|token|code|signature|private|mnemonic|seed|nonce|authorization|cookie/i;

export const keyOf = (seq: number): string => String(seq).padStart(12, '0');

/** Replaces the value of every secret-looking key (at any depth) with '[masked]'. */
export function mask(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => mask(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? '[masked]' : mask(v, depth + 1);
  return out;
}

export function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

export function hashEntry(e: Omit<AuditEntry, 'hash'>): string {
  return createHash('sha256').update(canonical(e)).digest('hex');
}

const headMessage = (kind: string, seq: number, hash: string): Uint8Array => new TextEncoder().encode(`lucid-audit-${kind}:${seq}:${hash}`);

export class AuditLog {
  private readonly entries: Sublevel<AuditEntry>;
  private readonly meta: Sublevel<Signed | Checkpoint>;
  private head: { seq: number; hash: string } = { seq: 0, hash: GENESIS };
  private tail: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<(e: AuditEntry) => void>();

  constructor(private readonly deps: { store: Store; signer: AuditSigner; log: Logger; now: () => number }) {
    this.entries = deps.store.sublevel<AuditEntry>('audit');
    this.meta = deps.store.sublevel<Signed | Checkpoint>('audit-meta');
  }

  async open(): Promise<void> {
    const head = (await this.meta.get('head')) as Signed | undefined;
    if (head) this.head = { seq: head.seq, hash: head.hash };
  }

  onAppend(listener: (e: AuditEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Appends one entry; appends are serialised so the chain has no forks. */
  append(input: AuditInput): Promise<AuditEntry> {
    const run = async (): Promise<AuditEntry> => {
      const seq = this.head.seq + 1;
      const body: Omit<AuditEntry, 'hash'> = {
        seq,
        at: this.deps.now(),
        actor: input.actor ? { id: input.actor.id, username: input.actor.username, role: input.actor.role } : null,
        action: input.action,
        target: input.target ?? null,
        ip: input.ip ?? null,
        outcome: input.outcome,
        details: input.details ? (mask(input.details) as Record<string, unknown>) : null,
        prev: this.head.hash,
      };
      const entry: AuditEntry = { ...body, hash: hashEntry(body) };
      const head: Signed = { seq, hash: entry.hash, sig: this.sign('head', seq, entry.hash) };
      await this.deps.store.batch()
        .put(keyOf(seq), entry as never, { sublevel: this.entries as never })
        .put('head', head as never, { sublevel: this.meta as never })
        .write(DURABLE); // acknowledged means durable: an audited action is never forgotten by a power cut
      this.head = { seq, hash: entry.hash };
      for (const l of this.listeners) l(entry);
      return entry;
    };
    const next = this.tail.then(run, run);
    this.tail = next.catch((err: unknown) => this.deps.log.error({ err }, 'audit append failed'));
    return next;
  }

  /** Newest first. `before` is a seq cursor; filters are exact (action also matches a `prefix.`). */
  async query(q: { before?: number; limit: number; action?: string; actor?: string; outcome?: AuditOutcome; since?: number; until?: number }): Promise<{ entries: AuditEntry[]; next: number | null }> {
    const out: AuditEntry[] = [];
    let scanned = 0;
    let last: number | null = null;
    const range = q.before !== undefined ? { lt: keyOf(q.before), reverse: true } : { reverse: true };
    for await (const e of this.entries.values(range)) {
      scanned++;
      last = e.seq;
      if (q.since !== undefined && e.at < q.since) break;
      const match = (q.action === undefined || e.action === q.action || e.action.startsWith(`${q.action}.`))
        && (q.actor === undefined || e.actor?.username === q.actor || e.actor?.id === q.actor)
        && (q.outcome === undefined || e.outcome === q.outcome)
        && (q.until === undefined || e.at <= q.until);
      if (match) out.push(e);
      if (out.length >= q.limit || scanned >= 20_000) break;
    }
    const more = last !== null && last > 1 && (out.length >= q.limit || scanned >= 20_000);
    return { entries: out, next: more ? last : null };
  }

  /** Walks the whole chain from the checkpoint (or genesis) to the signed head. */
  async verify(): Promise<VerifyResult> {
    await this.tail;
    const cp = (await this.meta.get('checkpoint')) as Checkpoint | undefined;
    const head = (await this.meta.get('head')) as Signed | undefined;
    let expectSeq = (cp?.seq ?? 0) + 1;
    let prev = cp?.hash ?? GENESIS;
    let count = 0;
    const bad = (seq: number, reason: string): VerifyResult => ({
      ok: false, entries: count, headSeq: head?.seq ?? 0, checkpoint: cp ? { seq: cp.seq, at: cp.at } : null, firstBad: { seq, reason },
    });
    if (cp && !this.check('checkpoint', cp)) return bad(cp.seq, 'checkpoint signature does not verify');
    if (head && !this.check('head', head)) return bad(head.seq, 'head signature does not verify');
    for await (const [key, e] of this.entries.iterator()) {
      if (typeof e !== 'object' || e === null || key !== keyOf(e.seq)) return bad(Number(key), 'entry stored under the wrong key or unreadable');
      if (e.seq !== expectSeq) return bad(expectSeq, `entry ${expectSeq} is missing`);
      if (e.prev !== prev) return bad(e.seq, 'previous-hash link broken');
      const { hash, ...body } = e;
      if (hashEntry(body) !== hash) return bad(e.seq, 'entry was modified (hash mismatch)');
      prev = hash;
      expectSeq++;
      count++;
    }
    const last = expectSeq - 1;
    if (!head && last > 0) return bad(last, 'head record missing');
    if (head && (head.seq !== last || head.hash !== prev)) {
      return bad(Math.min(head.seq, last + 1), head.seq > last ? `entries after ${last} were deleted` : 'head does not match the last entry');
    }
    return { ok: true, entries: count, headSeq: last, checkpoint: cp ? { seq: cp.seq, at: cp.at } : null, firstBad: null };
  }

  /** Deletes entries older than the retention and leaves a signed checkpoint in their place. */
  async prune(retentionMs = RETENTION_MS): Promise<number> {
    await this.tail;
    const cutoff = this.deps.now() - retentionMs;
    let lastOld: AuditEntry | null = null;
    const keys: string[] = [];
    for await (const e of this.entries.values()) {
      if (e.at >= cutoff || e.seq >= this.head.seq) break; // always keep the newest entry
      lastOld = e;
      keys.push(keyOf(e.seq));
    }
    if (!lastOld) return 0;
    const old = (await this.meta.get('checkpoint')) as Checkpoint | undefined;
    const cp: Checkpoint = { seq: lastOld.seq, hash: lastOld.hash, at: lastOld.at, pruned: (old?.pruned ?? 0) + keys.length, sig: this.sign('checkpoint', lastOld.seq, lastOld.hash) };
    let batch = this.deps.store.batch().put('checkpoint', cp as never, { sublevel: this.meta as never });
    for (const k of keys) batch = batch.del(k, { sublevel: this.entries as never });
    await batch.write(DURABLE);
    this.deps.log.info({ pruned: keys.length, checkpoint: cp.seq }, 'audit retention: old entries pruned behind a signed checkpoint');
    return keys.length;
  }

  get headSeq(): number { return this.head.seq; }

  private sign(kind: string, seq: number, hash: string): string {
    return Buffer.from(this.deps.signer.sign(headMessage(kind, seq, hash))).toString('base64');
  }

  private check(kind: string, s: Signed): boolean {
    try {
      return this.deps.signer.verify(headMessage(kind, s.seq, s.hash), Buffer.from(s.sig, 'base64'));
    } catch {
      return false;
    }
  }
}
