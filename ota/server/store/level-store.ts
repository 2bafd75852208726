// The LevelDB store (default; one fleet-server instance owns it). Every record is held in memory
// (loaded at start) and written through to LevelDB, so each atomic operation of the interface is
// a check and a change with no await in between — one process, one event loop — followed by the
// write. 100,000 devices take ~60 MB of memory.
//
// Durability per write: security state, enrollment, rollouts, members, approvals and the audit
// log are synced (acknowledged means durable). Check-ins are not: a power cut may lose the last
// seconds of "last seen" and status, which the next check-in rewrites; it may also lose the
// newest sequence numbers, so a message that was already accepted once could be accepted once
// more after such a crash — harmless (it is the device's own, and changes nothing a newer
// message has not), and impossible to exploit without the device key.
//
// Check-in writes are group-committed: the devices that checked in while the previous write
// was under way go to LevelDB as one batch, each answered once its batch is written (so a
// process crash loses no acknowledged check-in, as before). One write per round instead of one
// per check-in: the profile under load (README, "Measurements") showed the per-check-in put —
// its trip to the thread pool and LevelDB's writer queue — as the largest cost of a check-in. A
// batch serialises each device's record as it is in memory at write time, so it never puts back
// an older record over a newer one written meanwhile (a tag change, say).
import { ClassicLevel } from 'classic-level';
import { mkdir } from 'node:fs/promises';
import { LucidError } from '../../../services/common/errors.js';
import { installLogBarrier } from '../../../services/store/log-barrier.js';
import { addCount, AUDIT_GENESIS, auditHash, DEFAULT_LIST_LIMIT, deviceMatches, emptyCounts, MAX_LIST_LIMIT } from './common.js';
import {
  LIVE_ROLLOUT_STATES, type ApprovalRecord, type AuditInput, type AuditRecord, type ChannelRecord, type CheckinResult, type DeviceQuery,
  type DeviceRecord, type DeviceStatus, type EnrollmentToken, type FleetStore, type FleetUser, type GroupRecord, type MemberState,
  type RefreshFamily, type ReleaseRecord, type RolloutMember, type RolloutRecord, type StageCounts,
} from './types.js';

type Db = ClassicLevel<string, string>;
const SYNC = { sync: true } as const;
const AREAS = ['meta', 'users', 'families', 'tokens', 'devices', 'groups', 'channels', 'tuf', 'releases', 'rollouts', 'members', 'claims', 'approvals', 'audit'] as const;
type Area = (typeof AREAS)[number];

const key = (area: Area, id: string): string => `${area}!${id}`;
const pad = (n: number): string => String(n).padStart(12, '0');

export class LevelFleetStore implements FleetStore {
  readonly kind = 'leveldb' as const;
  private db: Db | null = null;
  private readonly meta = new Map<string, string>();
  private readonly users = new Map<string, FleetUser>();
  private readonly families = new Map<string, RefreshFamily>();
  private readonly tokens = new Map<string, EnrollmentToken>();
  private readonly devices = new Map<string, DeviceRecord>();
  private readonly groups = new Map<string, GroupRecord>();
  private readonly channels = new Map<string, ChannelRecord>();
  private readonly tuf = new Map<string, Map<string, Buffer>>();
  private readonly releases = new Map<string, ReleaseRecord>();
  private readonly rollouts = new Map<string, RolloutRecord>();
  /** rollout → members by ord. */
  private readonly members = new Map<string, RolloutMember[]>();
  private readonly byDevice = new Map<string, Map<string, RolloutMember>>();
  private readonly claims = new Map<string, string>();
  private readonly approvals = new Map<string, ApprovalRecord>();
  private audit: AuditRecord[] = [];
  private sortedDevices: DeviceRecord[] | null = null;
  /** Devices whose check-in awaits the next group commit, and that commit's outcome. */
  private round: { ids: Set<string>; done: Promise<void>; settle: (err: Error | null) => void } | null = null;
  private writing: Promise<void> | null = null;

  constructor(private readonly location: string) {}

  async start(): Promise<void> {
    await mkdir(this.location, { recursive: true, mode: 0o700 });
    const db: Db = new ClassicLevel<string, string>(this.location, { valueEncoding: 'utf8' });
    try {
      await db.open();
    } catch (err) {
      const code = (err as { cause?: { code?: string } }).cause?.code;
      if (code === 'LEVEL_LOCKED') throw new LucidError('STORE_ERR_LOCKED', `${this.location} is open in another process (one fleet server per LevelDB; use PostgreSQL for several)`);
      throw err;
    }
    // A synced write makes every earlier write durable, across LevelDB's log files.
    installLogBarrier(db, this.location);
    this.db = db;
    for await (const [k, v] of db.iterator()) {
      const bang = k.indexOf('!');
      const area = k.slice(0, bang) as Area;
      const id = k.slice(bang + 1);
      if (area === 'tuf') {
        const [channel, path] = [id.slice(0, id.indexOf('\0')), id.slice(id.indexOf('\0') + 1)];
        let files = this.tuf.get(channel);
        if (!files) this.tuf.set(channel, (files = new Map()));
        files.set(path, Buffer.from(v, 'base64'));
        continue;
      }
      if (area === 'meta') { this.meta.set(id, v); continue; }
      if (area === 'claims') { this.claims.set(id, v); continue; }
      const value = JSON.parse(v) as never;
      switch (area) {
        case 'users': this.users.set(id, value); break;
        case 'families': this.families.set(id, value); break;
        case 'tokens': this.tokens.set(id, value); break;
        case 'devices': this.devices.set(id, value); break;
        case 'groups': this.groups.set(id, value); break;
        case 'channels': this.channels.set(id, value); break;
        case 'releases': this.releases.set(id, value); break;
        case 'rollouts': this.rollouts.set(id, value); break;
        case 'members': this.indexMember(value); break;
        case 'approvals': this.approvals.set(id, value); break;
        case 'audit': this.audit.push(value); break;
      }
    }
  }

  async stop(): Promise<void> {
    while (this.writing || this.round) await (this.writing ?? this.flushRound());
    const db = this.db;
    this.db = null;
    await db?.close();
  }

  private get level(): Db {
    if (!this.db) throw new LucidError('STORE_ERR_CLOSED');
    return this.db;
  }

  private put(area: Area, id: string, value: unknown): Promise<void> {
    return this.level.put(key(area, id), typeof value === 'string' ? value : JSON.stringify(value), SYNC);
  }

  /** Resolves once `id`'s record (as it is in memory then) is written with the other check-ins of its round. */
  private commitCheckin(id: string): Promise<void> {
    let r = this.round;
    if (!r) {
      let settle!: (err: Error | null) => void;
      const done = new Promise<void>((resolve, reject) => { settle = (err) => (err ? reject(err) : resolve()); });
      r = this.round = { ids: new Set(), done, settle };
      if (!this.writing) setImmediate(() => { void this.flushRound(); });
    }
    r.ids.add(id);
    return r.done;
  }

  private flushRound(): Promise<void> {
    const r = this.round;
    if (!r || this.writing) return this.writing ?? Promise.resolve();
    this.round = null;
    const ops: Array<{ type: 'put'; key: string; value: string }> = [];
    for (const id of r.ids) {
      const d = this.devices.get(id);
      if (d) ops.push({ type: 'put', key: key('devices', id), value: JSON.stringify(d) });
    }
    this.writing = (async () => {
      try {
        await this.level.batch(ops);
        r.settle(null);
      } catch (err) {
        r.settle(err as Error);
      } finally {
        this.writing = null;
        if (this.round) setImmediate(() => { void this.flushRound(); });
      }
    })();
    return this.writing;
  }

  private indexMember(m: RolloutMember): void {
    let list = this.members.get(m.rolloutId);
    if (!list) this.members.set(m.rolloutId, (list = []));
    list[m.ord] = m;
    let mine = this.byDevice.get(m.deviceId);
    if (!mine) this.byDevice.set(m.deviceId, (mine = new Map()));
    mine.set(m.rolloutId, m);
  }

  async metaOnce(k: string, make: () => string): Promise<string> {
    const have = this.meta.get(k);
    if (have !== undefined) return have;
    const v = make();
    this.meta.set(k, v);
    await this.put('meta', k, v);
    return v;
  }

  // ── users ──────────────────────────────────────────────────────────────────────────────────
  async createUser(user: FleetUser, options: { firstOnly?: boolean } = {}): Promise<boolean> {
    if (options.firstOnly && this.users.size > 0) return false;
    if ([...this.users.values()].some((u) => u.username === user.username)) return false;
    this.users.set(user.id, user);
    await this.put('users', user.id, user);
    return true;
  }
  async getUser(id: string): Promise<FleetUser | null> { return this.users.get(id) ?? null; }
  async getUserByName(username: string): Promise<FleetUser | null> { return [...this.users.values()].find((u) => u.username === username) ?? null; }
  async listUsers(): Promise<FleetUser[]> { return [...this.users.values()].sort((a, b) => a.createdAt - b.createdAt); }
  async casUser(next: FleetUser, rev: number): Promise<boolean> {
    const cur = this.users.get(next.id);
    if (!cur || cur.rev !== rev) return false;
    const rec = { ...next, rev: rev + 1 };
    this.users.set(next.id, rec);
    await this.put('users', next.id, rec);
    return true;
  }
  async putFamily(f: RefreshFamily): Promise<void> { this.families.set(f.id, f); await this.put('families', f.id, f); }
  async getFamily(id: string): Promise<RefreshFamily | null> { return this.families.get(id) ?? null; }
  async spendFamily(id: string, jti: string, next: string, expiresAt: number): Promise<'ok' | 'reuse' | 'gone'> {
    const f = this.families.get(id);
    if (!f || f.revoked) return 'gone';
    const out = f.jti === jti ? { ...f, jti: next, expiresAt } : { ...f, revoked: true };
    this.families.set(id, out);
    await this.put('families', id, out);
    return f.jti === jti ? 'ok' : 'reuse';
  }
  async revokeFamilies(userId: string, familyId?: string): Promise<void> {
    for (const f of [...this.families.values()]) {
      if (f.userId !== userId || (familyId !== undefined && f.id !== familyId) || f.revoked) continue;
      const out = { ...f, revoked: true };
      this.families.set(f.id, out);
      await this.put('families', f.id, out);
    }
  }

  // ── enrollment and devices ────────────────────────────────────────────────────────────────
  async putToken(t: EnrollmentToken): Promise<void> { this.tokens.set(t.hash, t); await this.put('tokens', t.hash, t); }
  async listTokens(): Promise<EnrollmentToken[]> { return [...this.tokens.values()].sort((a, b) => b.createdAt - a.createdAt); }
  async spendToken(hash: string, deviceId: string, now: number): Promise<EnrollmentToken | null> {
    const t = this.tokens.get(hash);
    if (!t || t.usedBy !== null || t.expiresAt <= now) return null;
    const used = { ...t, usedBy: deviceId, usedAt: now };
    this.tokens.set(hash, used);
    await this.put('tokens', hash, used);
    return used;
  }
  async enrollDevice(d: DeviceRecord): Promise<boolean> {
    const cur = this.devices.get(d.id);
    if (cur) return cur.publicKey === d.publicKey;
    this.devices.set(d.id, d);
    this.sortedDevices = null;
    await this.put('devices', d.id, d);
    return true;
  }
  async importDevices(devices: readonly DeviceRecord[]): Promise<number> {
    const batch = this.level.batch();
    let n = 0;
    for (const d of devices) {
      if (this.devices.has(d.id)) continue;
      this.devices.set(d.id, d);
      batch.put(key('devices', d.id), JSON.stringify(d));
      n++;
    }
    this.sortedDevices = null;
    await batch.write(SYNC);
    return n;
  }
  async getDevice(id: string): Promise<DeviceRecord | null> { return this.devices.get(id) ?? null; }
  async listDevices(q: DeviceQuery = {}): Promise<DeviceRecord[]> {
    this.sortedDevices ??= [...this.devices.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
    const limit = Math.min(q.limit ?? DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT);
    const out: DeviceRecord[] = [];
    for (const d of this.sortedDevices) {
      const cur = this.devices.get(d.id)!;
      if (!deviceMatches(cur, q)) continue;
      out.push(cur);
      if (out.length >= limit) break;
    }
    return out;
  }
  async countDevices(offlineBefore: number): Promise<{ total: number; offline: number; byHealth: Record<string, number>; byVersion: Record<string, number> }> {
    const out = { total: 0, offline: 0, byHealth: {} as Record<string, number>, byVersion: {} as Record<string, number> };
    for (const d of this.devices.values()) {
      out.total++;
      if (d.lastSeenAt < offlineBefore) out.offline++;
      out.byHealth[d.status.health] = (out.byHealth[d.status.health] ?? 0) + 1;
      out.byVersion[d.status.version] = (out.byVersion[d.status.version] ?? 0) + 1;
    }
    return out;
  }
  async setDeviceTags(id: string, tags: readonly string[]): Promise<DeviceRecord | null> {
    const d = this.devices.get(id);
    if (!d) return null;
    const out = { ...d, tags };
    this.devices.set(id, out);
    await this.put('devices', id, out);
    return out;
  }
  async deleteDevice(id: string): Promise<boolean> {
    if (!this.devices.delete(id)) return false;
    this.sortedDevices = null;
    await this.level.del(key('devices', id), SYNC);
    return true;
  }
  async checkin(id: string, seq: number, status: DeviceStatus | null, now: number): Promise<CheckinResult> {
    const d = this.devices.get(id);
    if (!d) return { kind: 'unknown' };
    if (seq <= d.lastSeq) return { kind: 'replay', lastSeq: d.lastSeq };
    const out: DeviceRecord = { ...d, lastSeq: seq, lastSeenAt: now, status: status ?? d.status };
    this.devices.set(id, out);
    const rolloutId = this.claims.get(id);
    const rollout = rolloutId ? this.rollouts.get(rolloutId) : undefined;
    const member = rollout ? this.byDevice.get(id)?.get(rollout.id) : undefined;
    await this.commitCheckin(id);
    return { kind: 'ok', device: out, membership: rollout && member ? { rollout, member } : null };
  }

  // ── groups ───────────────────────────────────────────────────────────────────────────────
  async createGroup(g: GroupRecord): Promise<boolean> {
    if ([...this.groups.values()].some((x) => x.name === g.name) || this.groups.has(g.id)) return false;
    await this.putGroup(g);
    return true;
  }
  async getGroup(id: string): Promise<GroupRecord | null> { return this.groups.get(id) ?? null; }
  async listGroups(): Promise<GroupRecord[]> { return [...this.groups.values()].sort((a, b) => a.name.localeCompare(b.name)); }
  async putGroup(g: GroupRecord): Promise<void> { this.groups.set(g.id, g); await this.put('groups', g.id, g); }
  async deleteGroup(id: string): Promise<boolean> {
    if (!this.groups.delete(id)) return false;
    await this.level.del(key('groups', id), SYNC);
    return true;
  }

  // ── channels, TUF files, releases ─────────────────────────────────────────────────────────
  async createChannel(c: ChannelRecord): Promise<boolean> {
    if (this.channels.has(c.name)) return false;
    this.channels.set(c.name, c);
    await this.put('channels', c.name, c);
    return true;
  }
  async getChannel(name: string): Promise<ChannelRecord | null> { return this.channels.get(name) ?? null; }
  async listChannels(): Promise<ChannelRecord[]> { return [...this.channels.values()].sort((a, b) => a.name.localeCompare(b.name)); }
  async syncChannel(name: string, files: ReadonlyMap<string, Buffer>, release: ReleaseRecord | null, sync: NonNullable<ChannelRecord['lastSync']>): Promise<boolean> {
    const c = this.channels.get(name);
    if (!c) return false;
    if (c.lastSync && c.lastSync.timestampVersion >= sync.timestampVersion) return false;
    const batch = this.level.batch();
    const next = { ...c, lastSync: sync };
    this.channels.set(name, next);
    batch.put(key('channels', name), JSON.stringify(next));
    const old = this.tuf.get(name) ?? new Map<string, Buffer>();
    for (const path of old.keys()) if (!files.has(path)) batch.del(key('tuf', `${name}\0${path}`));
    for (const [path, bytes] of files) batch.put(key('tuf', `${name}\0${path}`), bytes.toString('base64'));
    this.tuf.set(name, new Map(files));
    for (const r of this.releases.values()) {
      if (r.channel !== name || !r.current || r.id === release?.id) continue;
      const out = { ...r, current: false };
      this.releases.set(r.id, out);
      batch.put(key('releases', r.id), JSON.stringify(out));
    }
    if (release) {
      const prior = this.releases.get(release.id);
      const out = { ...release, seenAt: prior?.seenAt ?? release.seenAt, current: true };
      this.releases.set(release.id, out);
      batch.put(key('releases', release.id), JSON.stringify(out));
    }
    await batch.write(SYNC);
    return true;
  }
  async noteSyncFailure(name: string, sync: NonNullable<ChannelRecord['lastSync']>): Promise<void> {
    const c = this.channels.get(name);
    if (!c) return;
    const next = { ...c, lastSync: { ...sync, timestampVersion: c.lastSync?.timestampVersion ?? 0 } };
    this.channels.set(name, next);
    await this.put('channels', name, next);
  }
  async getTufFile(channel: string, path: string): Promise<Buffer | null> { return this.tuf.get(channel)?.get(path) ?? null; }
  async listReleases(channel?: string): Promise<ReleaseRecord[]> {
    return [...this.releases.values()].filter((r) => channel === undefined || r.channel === channel).sort((a, b) => b.seenAt - a.seenAt);
  }
  async getRelease(id: string): Promise<ReleaseRecord | null> { return this.releases.get(id) ?? null; }

  // ── rollouts ─────────────────────────────────────────────────────────────────────────────
  async createRollout(r: RolloutRecord, deviceIds: readonly string[]): Promise<{ claimed: number; skipped: readonly string[] }> {
    const skipped: string[] = [];
    const taken: string[] = [];
    for (const id of deviceIds) {
      // A claim exists only while its rollout holds the device (as in pg-store.ts).
      if (!this.devices.has(id) || this.claims.has(id)) skipped.push(id);
      else taken.push(id);
    }
    const rollout = { ...r, total: taken.length };
    const batch = this.level.batch();
    this.rollouts.set(r.id, rollout);
    batch.put(key('rollouts', r.id), JSON.stringify(rollout));
    taken.forEach((deviceId, ord) => {
      const m: RolloutMember = { rolloutId: r.id, deviceId, ord, state: 'waiting', reason: null, attempt: r.attempt, updatedAt: r.createdAt, committedAt: null };
      this.indexMember(m);
      this.claims.set(deviceId, r.id);
      batch.put(key('members', `${r.id}!${pad(ord)}`), JSON.stringify(m));
      batch.put(key('claims', deviceId), r.id);
    });
    await batch.write(SYNC);
    return { claimed: taken.length, skipped };
  }
  async getRollout(id: string): Promise<RolloutRecord | null> { return this.rollouts.get(id) ?? null; }
  async listRollouts(options: { live?: boolean; limit?: number } = {}): Promise<RolloutRecord[]> {
    return [...this.rollouts.values()]
      .filter((r) => !options.live || LIVE_ROLLOUT_STATES.includes(r.state))
      .sort((a, b) => b.createdAt - a.createdAt)
      .slice(0, options.limit ?? DEFAULT_LIST_LIMIT);
  }
  async casRollout(next: RolloutRecord, rev: number, release?: readonly MemberState[] | 'all'): Promise<boolean> {
    const cur = this.rollouts.get(next.id);
    if (!cur || cur.rev !== rev) return false;
    const out = { ...next, rev: rev + 1 };
    this.rollouts.set(next.id, out);
    const batch = this.level.batch();
    batch.put(key('rollouts', next.id), JSON.stringify(out));
    if (release) {
      for (const m of this.members.get(next.id) ?? []) {
        if (release !== 'all' && !release.includes(m.state)) continue;
        if (this.claims.get(m.deviceId) !== next.id) continue;
        this.claims.delete(m.deviceId);
        batch.del(key('claims', m.deviceId));
      }
    }
    await batch.write(SYNC);
    return true;
  }
  async getMember(rolloutId: string, deviceId: string): Promise<RolloutMember | null> { return this.byDevice.get(deviceId)?.get(rolloutId) ?? null; }
  async updateMember(rolloutId: string, deviceId: string, from: readonly MemberState[] | null, patch: Partial<Pick<RolloutMember, 'state' | 'reason' | 'attempt' | 'committedAt'>>, now: number, releaseClaim = false): Promise<RolloutMember | null> {
    const cur = this.byDevice.get(deviceId)?.get(rolloutId);
    if (!cur || (from && !from.includes(cur.state))) return null;
    const out: RolloutMember = { ...cur, ...patch, updatedAt: now };
    this.indexMember(out);
    const batch = this.level.batch();
    batch.put(key('members', `${rolloutId}!${pad(out.ord)}`), JSON.stringify(out));
    if (releaseClaim && this.claims.get(deviceId) === rolloutId) {
      this.claims.delete(deviceId);
      batch.del(key('claims', deviceId));
    }
    await batch.write(SYNC);
    return out;
  }
  async resetMembers(rolloutId: string, fromOrd: number, toOrd: number, from: readonly MemberState[], state: MemberState, attempt: number, now: number): Promise<number> {
    const batch = this.level.batch();
    let n = 0;
    for (const m of (this.members.get(rolloutId) ?? []).slice(fromOrd, toOrd)) {
      if (!m || !from.includes(m.state)) continue;
      const out: RolloutMember = { ...m, state, attempt, reason: null, committedAt: null, updatedAt: now };
      this.indexMember(out);
      batch.put(key('members', `${rolloutId}!${pad(m.ord)}`), JSON.stringify(out));
      n++;
    }
    await batch.write(SYNC);
    return n;
  }
  async stageCounts(rolloutId: string, fromOrd: number, toOrd: number, offlineBefore: number): Promise<StageCounts> {
    const c = emptyCounts();
    const all = this.members.get(rolloutId) ?? [];
    for (let i = fromOrd, end = Math.min(toOrd, all.length); i < end; i++) {
      const m = all[i];
      if (!m) continue;
      const d = this.devices.get(m.deviceId);
      addCount(c, m.state, d !== undefined && d.lastSeenAt >= offlineBefore);
    }
    return c;
  }
  async listMembers(rolloutId: string, options: { states?: readonly MemberState[]; limit?: number } = {}): Promise<RolloutMember[]> {
    const out: RolloutMember[] = [];
    const limit = Math.min(options.limit ?? DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT);
    for (const m of this.members.get(rolloutId) ?? []) {
      if (!m || (options.states && !options.states.includes(m.state))) continue;
      out.push(m);
      if (out.length >= limit) break;
    }
    return out;
  }

  // ── approvals and audit ──────────────────────────────────────────────────────────────────
  async putApproval(a: ApprovalRecord): Promise<void> { this.approvals.set(a.id, a); await this.put('approvals', a.id, a); }
  async listApprovals(): Promise<ApprovalRecord[]> { return [...this.approvals.values()].sort((a, b) => a.createdAt - b.createdAt); }
  async getApproval(id: string): Promise<ApprovalRecord | null> { return this.approvals.get(id) ?? null; }
  async takeApproval(id: string): Promise<ApprovalRecord | null> {
    const a = this.approvals.get(id);
    if (!a) return null;
    this.approvals.delete(id);
    await this.level.del(key('approvals', id), SYNC);
    return a;
  }
  async appendAudit(e: AuditInput): Promise<AuditRecord> {
    const prev = this.audit[this.audit.length - 1];
    const seq = (prev?.seq ?? 0) + 1;
    const prevHash = prev?.hash ?? AUDIT_GENESIS;
    const rec: AuditRecord = { ...e, seq, prevHash, hash: auditHash(prevHash, seq, e) };
    this.audit.push(rec);
    await this.put('audit', pad(seq), rec);
    return rec;
  }
  async listAudit(options: { limit?: number; before?: number } = {}): Promise<AuditRecord[]> {
    const before = options.before ?? Number.MAX_SAFE_INTEGER;
    return this.audit.filter((a) => a.seq < before).slice(-(options.limit ?? 100)).reverse();
  }
}
