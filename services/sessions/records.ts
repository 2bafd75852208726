// Session metadata in LevelDB (core's store), in six sublevels:
//   sessions   <id>                    → SessionRecord (JSON; read as text and checked, damage.ts)
//   chunks     <id>!<index, 10 digits> → ChunkRecord: one per committed chunk object
//   open       <id>                    → 1 while the session is not completed or deleted (recovery reads only these)
//   manifests  <id>                    → the signed manifest, canonical JSON text
//   completed  <seq, 16 digits>        → CompletedItem: the feed the ledger anchors from
//   damaged    <id>                    → the text of a session record that could not be read, kept
//                                        when recovery put a quarantine record in its place
// A chunk is committed when its ChunkRecord and the session record saying so are written in one
// batch; an acknowledged upload ends with a synced write, which makes every earlier write durable
// too (LevelDB's log is sequential).
import type { Store, Sublevel } from '../store/index.js';
import type { CipherName, CodecName } from '../chunks/index.js';
import type { SessionState } from './state-machine.js';
import { parseSessionRecord, unreadableRecord } from './damage.js';

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
  /** `storage`: without the data key, only the stored objects against their leaf hashes and root. */
  readonly scope?: 'full' | 'storage';
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
  /**
   * Why the session failed. A quarantined one (damage.ts) also names the damage (`reason`, and
   * the chunk `index` where there is one) and the `state` it was in.
   */
  readonly failure: {
    readonly code: string; readonly message: string; readonly reason?: string; readonly index?: number; readonly state?: SessionState;
  } | null;
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

function parseItem(text: string): CompletedItem | null {
  try {
    const v = JSON.parse(text) as Partial<CompletedItem> | null;
    return v && typeof v.sessionId === 'string' && typeof v.manifestHash === 'string' && typeof v.merkleRoot === 'string' && typeof v.completedAt === 'string'
      ? v as CompletedItem : null;
  } catch {
    return null;
  }
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
  /** The same records as text: one that does not parse must not throw out of a read or a list. */
  private readonly sessionTexts: Sublevel<string>;
  private readonly damaged: Sublevel<string>;
  private readonly chunks: Sublevel<ChunkRecord>;
  private readonly open: Sublevel<number>;
  private readonly manifests: Sublevel<string>;
  private readonly completed: Sublevel<CompletedItem>;
  private readonly completedTexts: Sublevel<string>;
  private seq = 0;

  constructor(private readonly store: Store) {
    this.sessions = store.sublevel<SessionRecord>('sessions');
    this.sessionTexts = store.sublevel<string>('sessions', 'utf8');
    this.damaged = store.sublevel<string>('damaged', 'utf8');
    this.chunks = store.sublevel<ChunkRecord>('chunks');
    this.open = store.sublevel<number>('open');
    this.manifests = store.sublevel<string>('manifests');
    this.completed = store.sublevel<CompletedItem>('completed');
    this.completedTexts = store.sublevel<string>('completed', 'utf8');
  }

  async init(): Promise<void> {
    for await (const key of this.completed.keys({ reverse: true, limit: 1 })) this.seq = Number(key);
  }

  /**
   * The session, or null when there is none. A record that cannot be read (damage.ts) reads as a
   * `failed` stand-in (record-unreadable) rather than an error, so one bad record cannot break
   * reads and lists; recovery persists such a stand-in for open sessions.
   */
  async get(id: string): Promise<SessionRecord | null> {
    const r = await this.read(id);
    return r === null ? null : 'record' in r ? r.record : unreadableRecord(id, [], null, new Date().toISOString(), r.why);
  }

  /** The record, or why it cannot be read (with its raw text, when there is any). */
  async read(id: string): Promise<{ record: SessionRecord } | { why: string; text: string | null } | null> {
    let text: string | undefined;
    try {
      text = await this.sessionTexts.get(id);
    } catch (err) {
      return { why: `the store cannot read it: ${(err as Error).message}`, text: null };
    }
    if (text === undefined) return null;
    const record = parseSessionRecord(id, text);
    return record ? { record } : { why: 'not a valid session record', text };
  }

  /** Replaces an unreadable record by its quarantine stand-in, keeping the old text aside. */
  async replaceUnreadable(rec: SessionRecord, text: string | null): Promise<void> {
    const b = this.batch();
    if (text !== null) b.put(rec.id, text, { sublevel: this.damaged });
    b.put(rec.id, rec, { sublevel: this.sessions });
    b.put(rec.id, 1, { sublevel: this.open });
    await b.write({ sync: true });
  }

  /**
   * The unbroken run of a session's chunk records from chunk 0, as far as they can be read, and
   * whether every record there is could be read and belongs to that run.
   */
  async readableChunkRecords(id: string): Promise<{ records: ChunkRecord[]; complete: boolean }> {
    const records: ChunkRecord[] = [];
    try {
      for await (const [key, value] of this.chunks.iterator({ gte: `${id}!`, lt: `${id}"` })) {
        if (Number(key.slice(id.length + 1)) !== records.length) return { records, complete: false };
        records.push(value);
      }
      return { records, complete: true };
    } catch {
      return { records, complete: false };
    }
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
    const it = this.sessionTexts.iterator({ reverse: true, ...(q.cursor ? { lt: q.cursor } : {}) });
    try {
      for await (const [id, text] of it) {
        const rec = parseSessionRecord(id, text) ?? unreadableRecord(id, [], null, new Date().toISOString(), 'not a valid session record');
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

  /**
   * Feed items after `cursor`. An item that cannot be read is skipped (counted in `skipped`) and
   * the cursor moves past it: one damaged item must not stop the anchoring of every later one.
   */
  async completedSince(cursor: string | null, limit: number): Promise<CompletedPage & { skipped: number }> {
    const items: Array<CompletedItem & { cursor: string }> = [];
    let last = cursor;
    let skipped = 0;
    for await (const [key, text] of this.completedTexts.iterator({ ...(cursor ? { gt: cursor } : {}), limit })) {
      last = key;
      const item = parseItem(text);
      if (item) items.push({ ...item, cursor: key });
      else skipped++;
    }
    // Feed items written before they carried the manifest's sizes: take them from the session.
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if ((it as Partial<CompletedItem>).chunkCount !== undefined) continue;
      const rec = await this.get(it.sessionId);
      items[i] = { ...it, chunkCount: rec?.chunkCount ?? 0, chunkSize: rec?.chunkSize ?? 0, totalBytes: rec?.received ?? 0 };
    }
    return { items, cursor: last, skipped };
  }
}
