// Damage to one session's stored data, found at startup (recovery.ts) or before a finalize of a
// quarantined session: what it is, and the quarantine record that replaces the session's state.
// One damaged session must never stop the appliance: it goes to `failed` with the code
// SESS_ERR_DAMAGED and a reason, its readable chunks stay downloadable and verifiable, and
// everything else starts. Pure code; the I/O that gathers the facts is in recovery.ts.
import type { CipherName } from '../chunks/index.js';
import type { ChunkRecord, SessionRecord } from './records.js';
import { SESSION_STATES, transition, type SessionState } from './state-machine.js';

export const DAMAGE_REASONS = [
  'record-unreadable', // the session's record in the store is not a readable record
  'key-unavailable', //   its data key does not open with the master key (master key replaced or lost)
  'files-unreadable', //  its chunk folder cannot be read (EIO, EACCES, not a folder)
  'records-missing', //   fewer chunk records than the session counts (or unreadable ones)
  'chunk-missing', //     a committed chunk object's file is gone
  'chunk-truncated', //   a committed chunk object is shorter than recorded
  'chunk-size-mismatch', // … or longer
  'tail-missing', //      the tail file holding acknowledged bytes is gone
  'tail-short', //        the tail file is shorter than its acknowledged length
] as const;
export type DamageReason = (typeof DAMAGE_REASONS)[number];

export const DAMAGED = 'SESS_ERR_DAMAGED';

export interface Damage {
  readonly reason: DamageReason;
  readonly message: string;
  readonly index?: number;
}

/** What the chunk folder holds: sizes of object files by chunk index, and of tail files. */
export interface FolderFacts {
  readonly objects: ReadonlyMap<number, number>;
  readonly tails: ReadonlyMap<number, number>;
}

/** The first damage of a readable record against its chunk records and folder, or null. */
export function damageOf(rec: SessionRecord, chunks: readonly ChunkRecord[] | null, folder: FolderFacts): Damage | null {
  if (rec.tail.fileBytes > 0) {
    const size = folder.tails.get(rec.tail.index);
    if (size === undefined) return { reason: 'tail-missing', index: rec.tail.index, message: `the tail of chunk ${rec.tail.index} is missing (${rec.tail.fileBytes} bytes acknowledged)` };
    if (size < rec.tail.fileBytes) return { reason: 'tail-short', index: rec.tail.index, message: `the tail of chunk ${rec.tail.index} holds ${size} bytes, ${rec.tail.fileBytes} were acknowledged` };
  }
  if (chunks === null || chunks.length < rec.chunkCount) {
    return { reason: 'records-missing', message: `the store holds ${chunks === null ? 'unreadable' : chunks.length} chunk records, the session counts ${rec.chunkCount}` };
  }
  for (let index = 0; index < rec.chunkCount; index++) {
    const size = folder.objects.get(index);
    const want = chunks[index]!.s;
    if (size === undefined) return { reason: 'chunk-missing', index, message: `chunk object ${index} is missing` };
    if (size < want) return { reason: 'chunk-truncated', index, message: `chunk object ${index} holds ${size} bytes, ${want} were stored` };
    if (size > want) return { reason: 'chunk-size-mismatch', index, message: `chunk object ${index} holds ${size} bytes, ${want} were stored` };
  }
  return null;
}

/** The session, quarantined: `failed` with the damage, remembering the state it was in. */
export function quarantine(rec: SessionRecord, damage: Damage, now: string): SessionRecord {
  const before = rec.failure?.code === DAMAGED && rec.failure.state ? rec.failure.state : rec.state;
  const state = rec.state === 'failed' ? 'failed' : transition(rec.state, 'quarantine');
  return {
    ...rec, state, updatedAt: now,
    failure: { code: DAMAGED, message: damage.message, reason: damage.reason, state: before, ...(damage.index !== undefined ? { index: damage.index } : {}) },
  };
}

/** A quarantined session whose data is whole again goes back to the state it was in. */
export function lifted(rec: SessionRecord, now: string): SessionRecord {
  const back = rec.failure?.state ?? 'failed';
  return { ...rec, state: back, failure: null, updatedAt: now };
}

export function isQuarantined(rec: SessionRecord): boolean {
  return rec.failure?.code === DAMAGED;
}

const CIPHERS: readonly unknown[] = ['aes-256-gcm', 'xchacha20-poly1305'] satisfies CipherName[];
const isInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isStr = (v: unknown): v is string => typeof v === 'string';
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A stored session record, or null when the text is not one (bad JSON, wrong shape or id). */
export function parseSessionRecord(id: string, text: string): SessionRecord | null {
  let r: unknown;
  try {
    r = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObj(r) || r['v'] !== 1 || r['id'] !== id || !(SESSION_STATES as readonly unknown[]).includes(r['state'])) return null;
  if (!CIPHERS.includes(r['cipher']) || !isObj(r['labels']) || !isObj(r['tail'])) return null;
  const tail = r['tail'];
  if (![r['chunkSize'], r['quotaBytes'], r['received'], r['chunkCount'], r['storedBytes'], tail['index'], tail['plain'], tail['fileBytes']].every(isInt)) return null;
  if (!(r['wrappedKey'] === null || isStr(r['wrappedKey'])) || !isStr(r['createdAt']) || !isStr(r['updatedAt'])) return null;
  return r as unknown as SessionRecord;
}

/**
 * Stands in for a record that cannot be read: `failed` (record-unreadable), with what the chunk
 * records still tell (count, sizes, leaf hashes: the committed chunks stay downloadable and
 * their storage verifiable). The data key was in the record, so the content is lost.
 */
export function unreadableRecord(id: string, chunks: readonly ChunkRecord[], cipher: CipherName | null, now: string, why: string): SessionRecord {
  const plain = chunks.reduce((n, c) => n + c.p, 0);
  const stored = chunks.reduce((n, c) => n + c.s, 0);
  return {
    v: 1, id, state: 'failed', owner: null, labels: {}, chunkSize: chunks[0]?.p ?? 0, cipher: cipher ?? 'aes-256-gcm', quotaBytes: 0,
    wrappedKey: null, createdAt: now, updatedAt: now, startedAt: null, stoppedAt: null, completedAt: null, deletedAt: null,
    received: plain, chunkCount: chunks.length, storedBytes: stored, tail: { index: chunks.length, plain: 0, fileBytes: 0 },
    pausedReason: null, merkleRoot: null, manifestHash: null,
    failure: { code: DAMAGED, message: `the session record cannot be read (${why}); its data key is lost with it`, reason: 'record-unreadable', state: 'failed' as SessionState },
    lastVerify: null,
  };
}
