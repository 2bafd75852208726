// Session metadata in LevelDB (core's store), in five sublevels:
//   sessions   <id>                    → SessionRecord (JSON)
//   chunks     <id>!<index, 10 digits> → ChunkRecord: one per committed chunk object
//   open       <id>                    → 1 while the session is not completed or deleted (recovery reads only these)
//   manifests  <id>                    → the signed manifest, canonical JSON text
//   completed  <seq, 16 digits>        → CompletedItem: the feed the ledger anchors from
// A chunk is committed when its ChunkRecord and the session record saying so are written in one
// batch; an acknowledged upload ends with a synced write, which makes every earlier write durable
// too (LevelDB's log is sequential).
import type { Store, Sublevel } from '../store/index.js';
import type { CipherName, CodecName } from '../chunks/index.js';
import type { SessionState } from './state-machine.js';

export interface TailState {
  /** The chunk the tail belongs to (always = chunkCount while recording). */
  readonly index: number;
  /** Plaintext bytes held by the tail. */
  readonly plain: number;
  /** Durable bytes of the tail file (its sealed segments). */
  readonly fileBytes: number;
}

export interface VerifyResult {
  readonly at: string;
  readonly ok: boolean;
  readonly chunkCount: number;
  readonly bad: ReadonlyArray<{ readonly index: number; readonly reason: string }>;
  readonly rootMatches: boolean | null;
}

export interface SessionRecord {
  readonly v: 1;
  readonly id: string;
  readonly state: SessionState;
  readonly owner: string | null;
  readonly labels: Readonly<Record<string, string>>;
  readonly chunkSize: number;
  readonly cipher: CipherName;
  readonly quotaBytes: number;
  /** The data key wrapped by the master key, base64; null once the session was crypto-shredded. */
  readonly wrappedKey: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly startedAt: string | null;
  readonly stoppedAt: string | null;
  readonly completedAt: string | null;
  readonly deletedAt: string | null;
  /** Acknowledged (durable) plaintext bytes. */
  readonly received: number;
  readonly chunkCount: number;
  readonly storedBytes: number;
  readonly tail: TailState;
  readonly pausedReason: 'user' | 'storage-full' | null;
  readonly merkleRoot: string | null;
  readonly manifestHash: string | null;
  readonly failure: { readonly code: string; readonly message: string } | null;
  readonly lastVerify: VerifyResult | null;
}

export interface ChunkRecord {
  /** Plaintext length. */
  readonly p: number;
  /** Stored object length. */
  readonly s: number;
  readonly c: CodecName;
  /** Leaf hash, hex. */
  readonly l: string;
}

export interface CompletedItem {
  readonly sessionId: string;
  /** SHA-256 of the manifest's canonical bytes without its signature, hex. */
  readonly manifestHash: string;
  readonly merkleRoot: string;
  readonly completedAt: string;
  /** The manifest's sizes (the anchor carries them: relay credits, storage challenges). */
  readonly chunkCount: number;
  readonly chunkSize: number;
  readonly totalBytes: number;
}

export interface CompletedPage {
  readonly items: ReadonlyArray<CompletedItem & { readonly cursor: string }>;
  /** Pass to the next call; equals the input cursor when nothing new arrived. */
  readonly cursor: string | null;
}

const pad = (n: number, w: number): string => n.toString().padStart(w, '0');
const chunkKey = (id: string, index: number): string => `${id}!${pad(index, 10)}`;

export interface ListQuery {
  readonly state?: SessionState;
  readonly label?: { readonly key: string; readonly value?: string };
  /** Exclusive: sessions created before this id (ids sort by creation time). */
  readonly cursor?: string;
  readonly limit: number;
  readonly visible: (r: SessionRecord) => boolean;
}

export class SessionRepo {
  private readonly sessions: Sublevel<SessionRecord>;
  private readonly chunks: Sublevel<ChunkRecord>;
  private readonly open: Sublevel<number>;
  private readonly manifests: Sublevel<string>;
  private readonly completed: Sublevel<CompletedItem>;
  private seq = 0;

  constructor(private readonly store: Store) {
    this.sessions = store.sublevel<SessionRecord>('sessions');
    this.chunks = store.sublevel<ChunkRecord>('chunks');
    this.open = store.sublevel<number>('open');
    this.manifests = store.sublevel<string>('manifests');
    this.completed = store.sublevel<CompletedItem>('completed');
  }

  async init(): Promise<void> {
    for await (const key of this.completed.keys({ reverse: true, limit: 1 })) this.seq = Number(key);
  }

  async get(id: string): Promise<SessionRecord | null> {
    return (await this.sessions.get(id)) ?? null;
  }

  private batch() {
    return this.store.batch() as unknown as {
      put(k: string, v: unknown, o: { sublevel: unknown }): unknown;
      del(k: string, o: { sublevel: unknown }): unknown;
      write(o?: { sync?: boolean }): Promise<void>;
    };
  }

  /** Writes the session (and keeps the open index in step with its state). */
  async save(rec: SessionRecord, options: { sync?: boolean } = {}): Promise<void> {
    const b = this.batch();
    b.put(rec.id, rec, { sublevel: this.sessions });
    if (rec.state === 'completed' || rec.state === 'deleted') b.del(rec.id, { sublevel: this.open });
    else b.put(rec.id, 1, { sublevel: this.open });
    await b.write({ sync: options.sync ?? true });
  }

  /** Commits chunk records and the session record that counts them, in one batch. */
  async commitChunks(rec: SessionRecord, chunks: ReadonlyArray<{ index: number; record: ChunkRecord }>, options: { sync?: boolean } = {}): Promise<void> {
    const b = this.batch();
    for (const c of chunks) b.put(chunkKey(rec.id, c.index), c.record, { sublevel: this.chunks });
    b.put(rec.id, rec, { sublevel: this.sessions });
    await b.write({ sync: options.sync ?? false });
  }

  async chunk(id: string, index: number): Promise<ChunkRecord | null> {
    return (await this.chunks.get(chunkKey(id, index))) ?? null;
  }

  /** Every committed chunk record of a session, in index order. */
  async chunkRecords(id: string): Promise<ChunkRecord[]> {
    const out: ChunkRecord[] = [];
    for await (const value of this.chunks.values({ gte: `${id}!`, lt: `${id}"` })) out.push(value);
    return out;
  }

  async clearChunks(id: string): Promise<void> {
    await this.chunks.clear({ gte: `${id}!`, lt: `${id}"` });
  }

  /** Completion: session, manifest and feed item in one synced batch. Returns the feed cursor. */
  async complete(rec: SessionRecord, manifest: string, item: CompletedItem): Promise<string> {
    const cursor = pad(++this.seq, 16);
    const b = this.batch();
    b.put(rec.id, rec, { sublevel: this.sessions });
    b.put(rec.id, manifest, { sublevel: this.manifests });
    b.put(cursor, item, { sublevel: this.completed });
    b.del(rec.id, { sublevel: this.open });
    await b.write({ sync: true });
    return cursor;
  }

  async manifest(id: string): Promise<string | null> {
    return (await this.manifests.get(id)) ?? null;
  }

  async openIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const key of this.open.keys()) ids.push(key);
    return ids;
  }

  async list(q: ListQuery): Promise<{ sessions: SessionRecord[]; next: string | null }> {
    const out: SessionRecord[] = [];
    const it = this.sessions.iterator({ reverse: true, ...(q.cursor ? { lt: q.cursor } : {}) });
    try {
      for await (const [, rec] of it) {
        if (q.state ? rec.state !== q.state : rec.state === 'deleted') continue;
        if (q.label && (!(q.label.key in rec.labels) || (q.label.value !== undefined && rec.labels[q.label.key] !== q.label.value))) continue;
        if (!q.visible(rec)) continue;
        if (out.length === q.limit) return { sessions: out, next: out[out.length - 1]!.id };
        out.push(rec);
      }
    } finally {
      await it.close();
    }
    return { sessions: out, next: null };
  }

  async completedSince(cursor: string | null, limit: number): Promise<CompletedPage> {
    const items: Array<CompletedItem & { cursor: string }> = [];
    for await (const [key, item] of this.completed.iterator({ ...(cursor ? { gt: cursor } : {}), limit })) items.push({ ...item, cursor: key });
    // Feed items written before they carried the manifest's sizes: take them from the session.
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if ((it as Partial<CompletedItem>).chunkCount !== undefined) continue;
      const rec = await this.get(it.sessionId);
      items[i] = { ...it, chunkCount: rec?.chunkCount ?? 0, chunkSize: rec?.chunkSize ?? 0, totalBytes: rec?.received ?? 0 };
    }
    return { items, cursor: items.length > 0 ? items[items.length - 1]!.cursor : cursor };
  }
}
