// The API's view of a session record: no key material, derived figures added.
import type { SessionRecord } from './records.js';
import type { SessionView } from './schemas.js';
import { allowedActions } from './state-machine.js';

const CLIENT_VISIBLE = new Set(['start', 'pause', 'resume', 'stop', 'finalize', 'delete']);

export function toView(rec: SessionRecord, anchor: Record<string, unknown> | null = null): SessionView {
  const committedPlain = rec.state === 'completed' ? rec.received : rec.chunkCount * rec.chunkSize;
  return {
    id: rec.id,
    state: rec.state,
    owner: rec.owner,
    labels: { ...rec.labels },
    chunkSize: rec.chunkSize,
    cipher: rec.cipher,
    codec: 'gzip-6',
    quotaBytes: rec.quotaBytes,
    createdAt: rec.createdAt,
    updatedAt: rec.updatedAt,
    startedAt: rec.startedAt,
    stoppedAt: rec.stoppedAt,
    completedAt: rec.completedAt,
    deletedAt: rec.deletedAt,
    received: rec.received,
    chunkCount: rec.chunkCount,
    storedBytes: rec.storedBytes,
    compressionRatio: rec.storedBytes > 0 && committedPlain > 0 ? Math.round((committedPlain / rec.storedBytes) * 1000) / 1000 : null,
    pausedReason: rec.pausedReason,
    merkleRoot: rec.merkleRoot,
    manifestHash: rec.manifestHash,
    anchor,
    failure: rec.failure,
    lastVerify: rec.lastVerify ? { ...rec.lastVerify, bad: rec.lastVerify.bad.map((b) => ({ ...b })) } : null,
    actions: allowedActions(rec.state).filter((a) => CLIENT_VISIBLE.has(a)),
  };
}
