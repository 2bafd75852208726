// The two writes that come at the rate of the fleet's devices, batched on PostgreSQL
// (pg-batch.ts): check-ins, and rollout members' transitions (each device of a stage reports
// its steps and moves on its next check-ins — 100,000 devices in a few minutes).
import type { Pool, QueryResultRow } from 'pg';
import type { BatchKind } from './pg-batch.js';
import type { MemberState, RolloutMember } from './types.js';

export interface CheckinInput {
  readonly id: string;
  readonly seq: number;
  /** The status as JSON, or null to keep the stored one. */
  readonly status: string | null;
  readonly now: number;
}

/** The updated row (with its membership columns), or the device's last sequence, or nothing. */
export type CheckinRow = { readonly row: QueryResultRow } | { readonly lastSeq: number } | null;

// The sequence compare-and-advance, and the live membership with its rollout, in one statement.
const CHECKIN_SQL = `WITH v AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[]) AS v(id, seq, now, status)),
  up AS (UPDATE fleet_devices d SET last_seq = v.seq, last_seen = v.now, status = COALESCE(v.status::jsonb, d.status)
         FROM v WHERE d.id = v.id AND d.last_seq < v.seq RETURNING d.*)
  SELECT up.*, r.doc AS r_doc, r.rev AS r_rev, m.rollout_id AS m_rollout_id, m.device_id AS m_device_id, m.ord AS m_ord, m.state AS m_state,
         m.reason AS m_reason, m.attempt AS m_attempt, m.updated_at AS m_updated_at, m.committed_at AS m_committed_at
  FROM up LEFT JOIN fleet_claims c ON c.device_id = up.id
    LEFT JOIN fleet_rollouts r ON r.id = c.rollout_id
    LEFT JOIN fleet_members m ON m.rollout_id = c.rollout_id AND m.device_id = up.id`;

export const checkinWrites: BatchKind<CheckinInput, CheckinRow> = {
  key: (c) => c.id,
  async write(pool: Pool, batch: readonly CheckinInput[]): Promise<CheckinRow[]> {
    const rows = (await pool.query(CHECKIN_SQL, [batch.map((c) => c.id), batch.map((c) => c.seq), batch.map((c) => c.now), batch.map((c) => c.status)])).rows;
    const byId = new Map(rows.map((r) => [r['id'] as string, r]));
    // Not updated: a replay (its last sequence) or an unknown device.
    const missing = batch.filter((c) => !byId.has(c.id)).map((c) => c.id);
    const seqs = new Map<string, number>();
    if (missing.length > 0) {
      for (const r of (await pool.query('SELECT id, last_seq FROM fleet_devices WHERE id = ANY($1::text[])', [missing])).rows) seqs.set(r['id'], Number(r['last_seq']));
    }
    return batch.map((c) => {
      const row = byId.get(c.id);
      const lastSeq = seqs.get(c.id);
      return row ? { row } : lastSeq !== undefined ? { lastSeq } : null;
    });
  },
};

export interface MemberInput {
  readonly rolloutId: string;
  readonly deviceId: string;
  /** Applies only from these states (null: from any). */
  readonly from: readonly MemberState[] | null;
  readonly patch: Partial<Pick<RolloutMember, 'state' | 'reason' | 'attempt' | 'committedAt'>>;
  readonly now: number;
  /** Also lets the device go from the rollout's claim, in the same statement. */
  readonly releaseClaim: boolean;
}

// Each patch field is set only when given (`set_*`): a reason or commit time may be set to null.
const MEMBER_SQL = `WITH v AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::boolean[], $7::text[],
      $8::boolean[], $9::int[], $10::boolean[], $11::bigint[], $12::boolean[])
    AS v(rollout_id, device_id, from_states, now, state, set_reason, reason, set_attempt, attempt, set_committed, committed_at, release_claim)),
  up AS (UPDATE fleet_members m SET updated_at = v.now, state = COALESCE(v.state, m.state),
           reason = CASE WHEN v.set_reason THEN v.reason ELSE m.reason END,
           attempt = CASE WHEN v.set_attempt THEN v.attempt ELSE m.attempt END,
           committed_at = CASE WHEN v.set_committed THEN v.committed_at ELSE m.committed_at END
         FROM v WHERE m.rollout_id = v.rollout_id AND m.device_id = v.device_id
           AND (v.from_states IS NULL OR m.state = ANY(string_to_array(v.from_states, ',')))
         RETURNING m.*, v.release_claim),
  gone AS (DELETE FROM fleet_claims c USING up WHERE up.release_claim AND c.device_id = up.device_id AND c.rollout_id = up.rollout_id)
  SELECT * FROM up`;

export const memberWrites = (memberOf: (r: QueryResultRow) => RolloutMember): BatchKind<MemberInput, RolloutMember | null> => ({
  key: (m) => `${m.rolloutId}\n${m.deviceId}`,
  async write(pool: Pool, batch: readonly MemberInput[]): Promise<Array<RolloutMember | null>> {
    const col = <T>(f: (m: MemberInput) => T): T[] => batch.map(f);
    const rows = (await pool.query(MEMBER_SQL, [
      col((m) => m.rolloutId), col((m) => m.deviceId), col((m) => (m.from ? m.from.join(',') : null)), col((m) => m.now),
      col((m) => m.patch.state ?? null), col((m) => m.patch.reason !== undefined), col((m) => m.patch.reason ?? null),
      col((m) => m.patch.attempt !== undefined), col((m) => m.patch.attempt ?? null),
      col((m) => m.patch.committedAt !== undefined), col((m) => m.patch.committedAt ?? null), col((m) => m.releaseClaim),
    ])).rows;
    const byKey = new Map(rows.map((r) => [`${r['rollout_id']}\n${r['device_id']}`, r]));
    return batch.map((m) => {
      const r = byKey.get(`${m.rolloutId}\n${m.deviceId}`);
      return r ? memberOf(r) : null;
    });
  },
});
