// The PostgreSQL store: several stateless fleet-server instances share one database. Each atomic
// operation of the interface is one SQL statement or one transaction; nothing is cached in the
// instance except what never changes (nothing, here: device keys are cached above, in devices.ts).
//
// Concurrency, and why this way: decisions are compare-and-set on a revision (`rev`) in a single
// UPDATE — a rollout's stage advances only through `UPDATE … WHERE id = $1 AND rev = $2`, so of
// any number of instances that decide the same advance at the same moment exactly one row update
// succeeds and the others re-read. No lock is held across a network round trip or an instance's
// lifetime (an advisory lock is per session: a hung instance would keep it), and the same rule
// works in the LevelDB store. Replay protection, token spending, member transitions and approval
// takes are likewise one conditional statement each. Advisory locks are used only where a value
// depends on the previous row of another key: the audit chain (each entry hashes the previous)
// and the schema set-up at start, each for one transaction (`pg_advisory_xact_lock`).
//
// `pg` (node-postgres) is the client: pure JavaScript (nothing to compile on a Pi or in CI), the
// most used and best maintained, with a pool; loaded only when LUCID_FLEET_DATABASE_URL is set.
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { AUDIT_GENESIS, auditHash, DEFAULT_LIST_LIMIT, emptyCounts, addCount, MAX_LIST_LIMIT } from './common.js';
import { retryDeadlock, StatementBatcher } from './pg-batch.js';
import { checkinWrites, memberWrites } from './pg-writes.js';
import { AUDIT_LOCK, SCHEMA_LOCK, SCHEMA_SQL } from './pg-schema.js';
import {
  LIVE_ROLLOUT_STATES, type ApprovalRecord, type AuditInput, type AuditRecord, type ChannelRecord, type CheckinResult, type DeviceQuery,
  type DeviceRecord, type DeviceStatus, type EnrollmentToken, type FleetStore, type FleetUser, type GroupRecord, type MemberState,
  type RefreshFamily, type ReleaseRecord, type RolloutMember, type RolloutRecord, type StageCounts,
} from './types.js';

type Row = QueryResultRow;
const j = (v: unknown): string => JSON.stringify(v);

const deviceOf = (r: Row): DeviceRecord => ({
  id: r['id'], publicKey: r['public_key'], name: r['name'], tags: r['tags'], enrolledAt: Number(r['enrolled_at']),
  lastSeenAt: Number(r['last_seen']), lastSeq: Number(r['last_seq']), status: r['status'],
});
const memberOf = (r: Row, prefix = ''): RolloutMember => ({
  rolloutId: r[`${prefix}rollout_id`], deviceId: r[`${prefix}device_id`], ord: r[`${prefix}ord`], state: r[`${prefix}state`], reason: r[`${prefix}reason`] ?? null,
  attempt: r[`${prefix}attempt`], updatedAt: Number(r[`${prefix}updated_at`]), committedAt: r[`${prefix}committed_at`] === null ? null : Number(r[`${prefix}committed_at`]),
});
const rolloutOf = (doc: RolloutRecord, rev: number): RolloutRecord => ({ ...doc, rev });

export class PgFleetStore implements FleetStore {
  readonly kind = 'postgres' as const;
  private pool: Pool | null = null;
  /**
   * Check-ins go through connections with asynchronous commit: the status and "last seen" of a
   * check-in are rewritten by the next one, so a database crash may lose the last few hundred
   * milliseconds of them (never corrupt anything), as the LevelDB store does not sync them
   * either. Everything else — enrollment, rollouts, members, approvals, audit — commits
   * synchronously. Measured: a synchronous commit per check-in queued behind the WAL flush on
   * this loaded machine (README, benchmark).
   */
  private checkinPool: Pool | null = null;
  /** Check-ins (on the asynchronous-commit pool) and member transitions, batched: pg-batch.ts. */
  readonly checkins = new StatementBatcher(() => {
    if (!this.checkinPool) throw new Error('fleet store is not started');
    return this.checkinPool;
  }, checkinWrites);
  readonly members = new StatementBatcher(() => this.db, memberWrites(memberOf));

  constructor(private readonly url: string, private readonly poolSize = 10) {}

  async start(): Promise<void> {
    const pg = (await import('pg')).default;
    const types = { getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === 20 ? Number : pg.types.getTypeParser(oid, format ?? 'text')) };
    this.pool = new pg.Pool({ connectionString: this.url, max: this.poolSize, types: types as never });
    this.checkinPool = new pg.Pool({ connectionString: this.url, max: this.poolSize, types: types as never, options: '-c synchronous_commit=off' });
    for (const p of [this.pool, this.checkinPool]) p.on('error', () => { /* an idle client lost its connection: the pool replaces it */ });
    await this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
      await c.query(SCHEMA_SQL);
    });
  }

  async stop(): Promise<void> {
    const pools = [this.pool, this.checkinPool];
    this.pool = null;
    this.checkinPool = null;
    await Promise.all(pools.map((p) => p?.end()));
  }

  private get db(): Pool {
    if (!this.pool) throw new Error('fleet store is not started');
    return this.pool;
  }

  private async q(sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await this.db.query(sql, params)).rows;
  }

  private tx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    return retryDeadlock(() => this.txOnce(fn));
  }

  private async txOnce<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    const c = await this.db.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      c.release();
    }
  }

  async metaOnce(key: string, make: () => string): Promise<string> {
    await this.q('INSERT INTO fleet_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, make()]);
    return (await this.q('SELECT value FROM fleet_meta WHERE key = $1', [key]))[0]!['value'];
  }

  // ── users ──────────────────────────────────────────────────────────────────────────────────
  async createUser(user: FleetUser, options: { firstOnly?: boolean } = {}): Promise<boolean> {
    return this.tx(async (c) => {
      if (options.firstOnly) {
        // The key's primary key serialises concurrent set-ups: one insert wins.
        const first = await c.query("INSERT INTO fleet_meta (key, value) VALUES ('first-user', $1) ON CONFLICT (key) DO NOTHING", [user.id]);
        if (first.rowCount !== 1) return false;
      }
      const r = await c.query('INSERT INTO fleet_users (id, username, rev, doc) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [user.id, user.username, user.rev, j(user)]);
      if (r.rowCount !== 1) throw Object.assign(new Error('exists'), { exists: true });
      return true;
    }).catch((err: { exists?: boolean }) => { if (err.exists) return false; throw err; });
  }
  async getUser(id: string): Promise<FleetUser | null> {
    const r = (await this.q('SELECT doc, rev FROM fleet_users WHERE id = $1', [id]))[0];
    return r ? { ...r['doc'], rev: r['rev'] } : null;
  }
  async getUserByName(username: string): Promise<FleetUser | null> {
    const r = (await this.q('SELECT doc, rev FROM fleet_users WHERE username = $1', [username]))[0];
    return r ? { ...r['doc'], rev: r['rev'] } : null;
  }
  async listUsers(): Promise<FleetUser[]> {
    return (await this.q('SELECT doc, rev FROM fleet_users')).map((r) => ({ ...r['doc'], rev: r['rev'] }) as FleetUser).sort((a, b) => a.createdAt - b.createdAt);
  }
  async casUser(next: FleetUser, rev: number): Promise<boolean> {
    const r = await this.db.query('UPDATE fleet_users SET doc = $2, rev = rev + 1, username = $4 WHERE id = $1 AND rev = $3', [next.id, j({ ...next, rev: rev + 1 }), rev, next.username]);
    return r.rowCount === 1;
  }
  async putFamily(f: RefreshFamily): Promise<void> {
    await this.q(`INSERT INTO fleet_families (id, user_id, jti, expires_at, revoked) VALUES ($1, $2, $3, $4, $5)
      ON CONFLICT (id) DO UPDATE SET jti = $3, expires_at = $4, revoked = $5`, [f.id, f.userId, f.jti, f.expiresAt, f.revoked]);
  }
  async getFamily(id: string): Promise<RefreshFamily | null> {
    const r = (await this.q('SELECT * FROM fleet_families WHERE id = $1', [id]))[0];
    return r ? { id: r['id'], userId: r['user_id'], jti: r['jti'], expiresAt: Number(r['expires_at']), revoked: r['revoked'] } : null;
  }
  async spendFamily(id: string, jti: string, next: string, expiresAt: number): Promise<'ok' | 'reuse' | 'gone'> {
    const spent = await this.db.query('UPDATE fleet_families SET jti = $3, expires_at = $4 WHERE id = $1 AND jti = $2 AND NOT revoked', [id, jti, next, expiresAt]);
    if (spent.rowCount === 1) return 'ok';
    const revoked = await this.db.query('UPDATE fleet_families SET revoked = true WHERE id = $1 AND NOT revoked', [id]);
    return revoked.rowCount === 1 ? 'reuse' : 'gone';
  }
  async revokeFamilies(userId: string, familyId?: string): Promise<void> {
    await this.q('UPDATE fleet_families SET revoked = true WHERE user_id = $1 AND ($2::text IS NULL OR id = $2)', [userId, familyId ?? null]);
  }

  // ── enrollment and devices ────────────────────────────────────────────────────────────────
  async putToken(t: EnrollmentToken): Promise<void> {
    await this.q('INSERT INTO fleet_tokens (hash, created_at, expires_at, used_by, used_at, doc) VALUES ($1, $2, $3, $4, $5, $6)', [t.hash, t.createdAt, t.expiresAt, t.usedBy, t.usedAt, j(t)]);
  }
  async listTokens(): Promise<EnrollmentToken[]> {
    return (await this.q('SELECT doc, used_by, used_at FROM fleet_tokens ORDER BY created_at DESC LIMIT 1000')).map((r) => ({ ...r['doc'], usedBy: r['used_by'], usedAt: r['used_at'] === null ? null : Number(r['used_at']) }));
  }
  async spendToken(hash: string, deviceId: string, now: number): Promise<EnrollmentToken | null> {
    const r = (await this.q('UPDATE fleet_tokens SET used_by = $2, used_at = $3 WHERE hash = $1 AND used_by IS NULL AND expires_at > $3 RETURNING doc', [hash, deviceId, now]))[0];
    return r ? { ...r['doc'], usedBy: deviceId, usedAt: now } : null;
  }
  async enrollDevice(d: DeviceRecord): Promise<boolean> {
    const ins = await this.db.query(`INSERT INTO fleet_devices (id, public_key, name, tags, enrolled_at, last_seen, last_seq, status)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`, [d.id, d.publicKey, d.name, d.tags, d.enrolledAt, d.lastSeenAt, d.lastSeq, j(d.status)]);
    if (ins.rowCount === 1) return true;
    const cur = (await this.q('SELECT public_key FROM fleet_devices WHERE id = $1', [d.id]))[0];
    return cur?.['public_key'] === d.publicKey;
  }
  async importDevices(devices: readonly DeviceRecord[]): Promise<number> {
    let n = 0;
    for (let i = 0; i < devices.length; i += 5000) {
      const part = devices.slice(i, i + 5000);
      const r = await this.db.query(`INSERT INTO fleet_devices (id, public_key, name, tags, enrolled_at, last_seen, last_seq, status)
        SELECT x.id, x.public_key, x.name, ARRAY(SELECT jsonb_array_elements_text(x.tags)), x.enrolled_at, x.last_seen, x.last_seq, x.status
        FROM jsonb_to_recordset($1::jsonb) AS x(id text, public_key text, name text, tags jsonb, enrolled_at bigint, last_seen bigint, last_seq bigint, status jsonb)
        ON CONFLICT (id) DO NOTHING`, [j(part.map((d) => ({ id: d.id, public_key: d.publicKey, name: d.name, tags: d.tags, enrolled_at: d.enrolledAt, last_seen: d.lastSeenAt, last_seq: d.lastSeq, status: d.status })))]);
      n += r.rowCount ?? 0;
    }
    return n;
  }
  async getDevice(id: string): Promise<DeviceRecord | null> {
    const r = (await this.q('SELECT * FROM fleet_devices WHERE id = $1', [id]))[0];
    return r ? deviceOf(r) : null;
  }
  async listDevices(q: DeviceQuery = {}): Promise<DeviceRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, v: unknown): void => { params.push(v); where.push(sql.replace('?', `$${params.length}`)); };
    if (q.tag !== undefined) add('? = ANY(tags)', q.tag);
    if (q.version !== undefined) add("status->>'version' = ?", q.version);
    if (q.health !== undefined) add("status->>'health' = ?", q.health);
    if (q.offlineBefore !== undefined) add('last_seen < ?', q.offlineBefore);
    if (q.onlineSince !== undefined) add('last_seen >= ?', q.onlineSince);
    if (q.search !== undefined) { params.push(q.search); where.push(`(id LIKE $${params.length} || '%' OR lower(name) LIKE '%' || lower($${params.length}) || '%')`); }
    if (q.after !== undefined) add('id > ?', q.after);
    params.push(Math.min(q.limit ?? DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT));
    const sql = `SELECT * FROM fleet_devices ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT $${params.length}`;
    return (await this.q(sql, params)).map(deviceOf);
  }
  async countDevices(offlineBefore: number): Promise<{ total: number; offline: number; byHealth: Record<string, number>; byVersion: Record<string, number> }> {
    const rows = await this.q(`SELECT status->>'health' AS health, status->>'version' AS version, (last_seen < $1) AS offline, count(*)::int AS n
      FROM fleet_devices GROUP BY 1, 2, 3`, [offlineBefore]);
    const out = { total: 0, offline: 0, byHealth: {} as Record<string, number>, byVersion: {} as Record<string, number> };
    for (const r of rows) {
      const n = r['n'] as number;
      out.total += n;
      if (r['offline']) out.offline += n;
      out.byHealth[r['health']] = (out.byHealth[r['health']] ?? 0) + n;
      out.byVersion[r['version']] = (out.byVersion[r['version']] ?? 0) + n;
    }
    return out;
  }
  async setDeviceTags(id: string, tags: readonly string[]): Promise<DeviceRecord | null> {
    const r = (await this.q('UPDATE fleet_devices SET tags = $2 WHERE id = $1 RETURNING *', [id, tags]))[0];
    return r ? deviceOf(r) : null;
  }
  async deleteDevice(id: string): Promise<boolean> {
    return (await this.db.query('DELETE FROM fleet_devices WHERE id = $1', [id])).rowCount === 1;
  }
  async checkin(id: string, seq: number, status: DeviceStatus | null, now: number): Promise<CheckinResult> {
    // Batched with the check-ins of the same moment (pg-writes.ts): the sequence
    // compare-and-advance, and the live membership with its rollout, in one statement.
    const got = await this.checkins.submit({ id, seq, status: status ? j(status) : null, now });
    if (got === null) return { kind: 'unknown' };
    if (!('row' in got)) return { kind: 'replay', lastSeq: got.lastSeq };
    const r = got.row;
    const membership = r['r_doc'] && r['m_rollout_id'] ? { rollout: rolloutOf(r['r_doc'], r['r_rev']), member: memberOf(r, 'm_') } : null;
    return { kind: 'ok', device: deviceOf(r), membership };
  }

  // ── groups ───────────────────────────────────────────────────────────────────────────────
  async createGroup(g: GroupRecord): Promise<boolean> {
    return (await this.db.query('INSERT INTO fleet_groups (id, name, doc) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [g.id, g.name, j(g)])).rowCount === 1;
  }
  async getGroup(id: string): Promise<GroupRecord | null> { return (await this.q('SELECT doc FROM fleet_groups WHERE id = $1', [id]))[0]?.['doc'] ?? null; }
  async listGroups(): Promise<GroupRecord[]> { return (await this.q('SELECT doc FROM fleet_groups ORDER BY name')).map((r) => r['doc']); }
  async putGroup(g: GroupRecord): Promise<void> {
    await this.q('INSERT INTO fleet_groups (id, name, doc) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET name = $2, doc = $3', [g.id, g.name, j(g)]);
  }
  async deleteGroup(id: string): Promise<boolean> { return (await this.db.query('DELETE FROM fleet_groups WHERE id = $1', [id])).rowCount === 1; }

  // ── channels, TUF files, releases ─────────────────────────────────────────────────────────
  async createChannel(c: ChannelRecord): Promise<boolean> {
    return (await this.db.query('INSERT INTO fleet_channels (name, doc) VALUES ($1, $2) ON CONFLICT DO NOTHING', [c.name, j(c)])).rowCount === 1;
  }
  async getChannel(name: string): Promise<ChannelRecord | null> { return (await this.q('SELECT doc FROM fleet_channels WHERE name = $1', [name]))[0]?.['doc'] ?? null; }
  async listChannels(): Promise<ChannelRecord[]> { return (await this.q('SELECT doc FROM fleet_channels ORDER BY name')).map((r) => r['doc']); }
  async syncChannel(name: string, files: ReadonlyMap<string, Buffer>, release: ReleaseRecord | null, sync: NonNullable<ChannelRecord['lastSync']>): Promise<boolean> {
    return this.tx(async (c) => {
      const up = await c.query(`UPDATE fleet_channels SET ts_version = $2, doc = jsonb_set(doc, '{lastSync}', $3::jsonb)
        WHERE name = $1 AND ts_version < $2`, [name, sync.timestampVersion, j(sync)]);
      if (up.rowCount !== 1) return false;
      await c.query('DELETE FROM fleet_tuf_files WHERE channel = $1', [name]);
      await c.query('INSERT INTO fleet_tuf_files (channel, path, bytes) SELECT $1, unnest($2::text[]), unnest($3::bytea[])', [name, [...files.keys()], [...files.values()]]);
      await c.query('UPDATE fleet_releases SET current = false, doc = jsonb_set(doc, \'{current}\', \'false\') WHERE channel = $1 AND current AND id <> $2', [name, release?.id ?? '']);
      if (release) {
        await c.query(`INSERT INTO fleet_releases (id, channel, current, seen_at, doc) VALUES ($1, $2, true, $3, $4)
          ON CONFLICT (id) DO UPDATE SET current = true, doc = jsonb_set($4::jsonb, '{seenAt}', to_jsonb(fleet_releases.seen_at))`, [release.id, name, release.seenAt, j({ ...release, current: true })]);
      }
      return true;
    });
  }
  async noteSyncFailure(name: string, sync: NonNullable<ChannelRecord['lastSync']>): Promise<void> {
    await this.q(`UPDATE fleet_channels SET doc = jsonb_set(doc, '{lastSync}', jsonb_set($2::jsonb, '{timestampVersion}', to_jsonb(ts_version))) WHERE name = $1`, [name, j(sync)]);
  }
  async getTufFile(channel: string, path: string): Promise<Buffer | null> {
    return (await this.q('SELECT bytes FROM fleet_tuf_files WHERE channel = $1 AND path = $2', [channel, path]))[0]?.['bytes'] ?? null;
  }
  async listReleases(channel?: string): Promise<ReleaseRecord[]> {
    return (await this.q('SELECT doc FROM fleet_releases WHERE $1::text IS NULL OR channel = $1 ORDER BY seen_at DESC', [channel ?? null])).map((r) => r['doc']);
  }
  async getRelease(id: string): Promise<ReleaseRecord | null> { return (await this.q('SELECT doc FROM fleet_releases WHERE id = $1', [id]))[0]?.['doc'] ?? null; }

  // ── rollouts ─────────────────────────────────────────────────────────────────────────────
  async createRollout(r: RolloutRecord, deviceIds: readonly string[]): Promise<{ claimed: number; skipped: readonly string[] }> {
    return this.tx(async (c) => {
      // A claim exists only while its rollout holds the device (every end of a rollout or of a
      // member deletes it), so a plain ON CONFLICT DO NOTHING decides: the unique key waits for a
      // concurrent creation's claim to commit or roll back. (A condition on the other rollout's
      // state would read the statement's snapshot, which cannot see a rollout committed meanwhile:
      // the contract test caught two rollouts claiming the same devices that way.)
      const got = await c.query(`INSERT INTO fleet_claims (device_id, rollout_id)
          SELECT d.id, $2 FROM unnest($1::text[]) AS x(id) JOIN fleet_devices d ON d.id = x.id
        ON CONFLICT (device_id) DO NOTHING
        RETURNING device_id`, [deviceIds, r.id]);
      const claimed = new Set(got.rows.map((row) => row['device_id'] as string));
      const taken = deviceIds.filter((id) => claimed.has(id));
      const rollout = { ...r, total: taken.length };
      await c.query('INSERT INTO fleet_rollouts (id, state, created_at, rev, doc) VALUES ($1, $2, $3, $4, $5)', [r.id, r.state, r.createdAt, r.rev, j(rollout)]);
      await c.query(`INSERT INTO fleet_members (rollout_id, ord, device_id, state, attempt, updated_at)
        SELECT $1, x.ord - 1, x.id, 'waiting', $3, $4 FROM unnest($2::text[]) WITH ORDINALITY AS x(id, ord)`, [r.id, taken, r.attempt, r.createdAt]);
      return { claimed: taken.length, skipped: deviceIds.filter((id) => !claimed.has(id)) };
    });
  }
  async getRollout(id: string): Promise<RolloutRecord | null> {
    const r = (await this.q('SELECT doc, rev FROM fleet_rollouts WHERE id = $1', [id]))[0];
    return r ? rolloutOf(r['doc'], r['rev']) : null;
  }
  async listRollouts(options: { live?: boolean; limit?: number } = {}): Promise<RolloutRecord[]> {
    const rows = await this.q(`SELECT doc, rev FROM fleet_rollouts WHERE NOT $1 OR state = ANY($2::text[]) ORDER BY created_at DESC LIMIT $3`,
      [options.live === true, LIVE_ROLLOUT_STATES, options.limit ?? DEFAULT_LIST_LIMIT]);
    return rows.map((r) => rolloutOf(r['doc'], r['rev']));
  }
  async casRollout(next: RolloutRecord, rev: number, release?: readonly MemberState[] | 'all'): Promise<boolean> {
    const update = (c: Pool | PoolClient) => c.query('UPDATE fleet_rollouts SET doc = $2, state = $3, rev = rev + 1 WHERE id = $1 AND rev = $4', [next.id, j({ ...next, rev: rev + 1 }), next.state, rev]);
    if (!release) return (await update(this.db)).rowCount === 1;
    return this.tx(async (c) => {
      if ((await update(c)).rowCount !== 1) return false;
      await c.query(`DELETE FROM fleet_claims c USING fleet_members m WHERE c.rollout_id = $1 AND m.rollout_id = $1 AND m.device_id = c.device_id
        AND ($2 OR m.state = ANY($3::text[]))`, [next.id, release === 'all', release === 'all' ? [] : release]);
      return true;
    });
  }
  async getMember(rolloutId: string, deviceId: string): Promise<RolloutMember | null> {
    const r = (await this.q('SELECT * FROM fleet_members WHERE rollout_id = $1 AND device_id = $2', [rolloutId, deviceId]))[0];
    return r ? memberOf(r) : null;
  }
  async updateMember(rolloutId: string, deviceId: string, from: readonly MemberState[] | null, patch: Partial<Pick<RolloutMember, 'state' | 'reason' | 'attempt' | 'committedAt'>>, now: number, releaseClaim = false): Promise<RolloutMember | null> {
    // Batched with the transitions of the same moment (pg-writes.ts): one statement, atomic
    // with the claim's release.
    return this.members.submit({ rolloutId, deviceId, from, patch, now, releaseClaim });
  }
  async resetMembers(rolloutId: string, fromOrd: number, toOrd: number, from: readonly MemberState[], state: MemberState, attempt: number, now: number): Promise<number> {
    const r = await retryDeadlock(() => this.db.query(`UPDATE fleet_members SET state = $5, attempt = $6, reason = NULL, committed_at = NULL, updated_at = $7
      WHERE rollout_id = $1 AND ord >= $2 AND ord < $3 AND state = ANY($4::text[])`, [rolloutId, fromOrd, toOrd, from, state, attempt, now]));
    return r.rowCount ?? 0;
  }
  async stageCounts(rolloutId: string, fromOrd: number, toOrd: number, offlineBefore: number): Promise<StageCounts> {
    const rows = await this.q(`SELECT m.state, COALESCE(d.last_seen >= $4, false) AS online, count(*)::int AS n
      FROM fleet_members m LEFT JOIN fleet_devices d ON d.id = m.device_id
      WHERE m.rollout_id = $1 AND m.ord >= $2 AND m.ord < $3 GROUP BY 1, 2`, [rolloutId, fromOrd, toOrd, offlineBefore]);
    const c = emptyCounts();
    for (const r of rows) addCount(c, r['state'], r['online'], r['n']);
    return c;
  }
  async listMembers(rolloutId: string, options: { states?: readonly MemberState[]; limit?: number } = {}): Promise<RolloutMember[]> {
    const rows = await this.q('SELECT * FROM fleet_members WHERE rollout_id = $1 AND ($2::text[] IS NULL OR state = ANY($2::text[])) ORDER BY ord LIMIT $3',
      [rolloutId, options.states ?? null, Math.min(options.limit ?? DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT)]);
    return rows.map((r) => memberOf(r));
  }

  // ── approvals and audit ──────────────────────────────────────────────────────────────────
  async putApproval(a: ApprovalRecord): Promise<void> { await this.q('INSERT INTO fleet_approvals (id, created_at, doc) VALUES ($1, $2, $3)', [a.id, a.createdAt, j(a)]); }
  async listApprovals(): Promise<ApprovalRecord[]> { return (await this.q('SELECT doc FROM fleet_approvals ORDER BY created_at')).map((r) => r['doc']); }
  async getApproval(id: string): Promise<ApprovalRecord | null> { return (await this.q('SELECT doc FROM fleet_approvals WHERE id = $1', [id]))[0]?.['doc'] ?? null; }
  async takeApproval(id: string): Promise<ApprovalRecord | null> { return (await this.q('DELETE FROM fleet_approvals WHERE id = $1 RETURNING doc', [id]))[0]?.['doc'] ?? null; }
  async appendAudit(e: AuditInput): Promise<AuditRecord> {
    return this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK]);
      const prev = (await c.query('SELECT seq, hash FROM fleet_audit ORDER BY seq DESC LIMIT 1')).rows[0];
      const seq = (prev ? Number(prev['seq']) : 0) + 1;
      const prevHash = prev ? (prev['hash'] as string) : AUDIT_GENESIS;
      const rec: AuditRecord = { ...e, seq, prevHash, hash: auditHash(prevHash, seq, e) };
      await c.query('INSERT INTO fleet_audit (seq, hash, doc) VALUES ($1, $2, $3)', [seq, rec.hash, j(rec)]);
      return rec;
    });
  }
  async listAudit(options: { limit?: number; before?: number } = {}): Promise<AuditRecord[]> {
    return (await this.q('SELECT doc FROM fleet_audit WHERE seq < $1 ORDER BY seq DESC LIMIT $2', [options.before ?? Number.MAX_SAFE_INTEGER, options.limit ?? 100])).map((r) => r['doc']);
  }
}
