// Pieces both store implementations share, so they cannot drift: the audit chain's hash, device
// queries and the order of listings.
import { createHash } from 'node:crypto';
import type { AuditInput, DeviceQuery, DeviceRecord, MemberState, StageCounts } from './types.js';

export const AUDIT_GENESIS = '0'.repeat(64);

/** SHA-256 over the previous hash and the entry (fixed field order), hex. */
export function auditHash(prevHash: string, seq: number, e: AuditInput): string {
  const body = JSON.stringify([seq, e.at, e.actor, e.action, e.target, e.outcome, e.details]);
  return createHash('sha256').update(prevHash).update('\n').update(body).digest('hex');
}

/** Does the device match the query? (LevelDB filters in memory; PostgreSQL in SQL, same rules.) */
export function deviceMatches(d: DeviceRecord, q: DeviceQuery): boolean {
  if (q.tag !== undefined && !d.tags.includes(q.tag)) return false;
  if (q.version !== undefined && d.status.version !== q.version) return false;
  if (q.health !== undefined && d.status.health !== q.health) return false;
  if (q.offlineBefore !== undefined && d.lastSeenAt >= q.offlineBefore) return false;
  if (q.onlineSince !== undefined && d.lastSeenAt < q.onlineSince) return false;
  if (q.search !== undefined && !d.id.startsWith(q.search) && !d.name.toLowerCase().includes(q.search.toLowerCase())) return false;
  if (q.after !== undefined && d.id <= q.after) return false;
  return true;
}

export const DEFAULT_LIST_LIMIT = 500;
export const MAX_LIST_LIMIT = 100_000;

export function emptyCounts(): { total: number; online: Partial<Record<MemberState, number>>; offline: Partial<Record<MemberState, number>> } {
  return { total: 0, online: {}, offline: {} };
}

export function addCount(c: ReturnType<typeof emptyCounts>, state: MemberState, online: boolean, n = 1): void {
  const side = online ? c.online : c.offline;
  side[state] = (side[state] ?? 0) + n;
  c.total += n;
}

export const frozenCounts = (c: ReturnType<typeof emptyCounts>): StageCounts => c;

export const normTags = (tags: readonly string[]): string[] => [...new Set(tags)].sort();
