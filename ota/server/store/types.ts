// The fleet server's state behind one interface, with two implementations that pass one contract
// suite (tests/contract/fleet-store.ts): LevelDB (one instance; level-store.ts) and PostgreSQL
// (several stateless instances on one database; pg-store.ts).
//
// Every operation that decides something under concurrency is one atomic operation here, so the
// domain code above never does read-modify-write across an await:
//   - check-in: the sequence number compared and advanced in one step (replay protection);
//   - enrollment token: spent once (first spender wins);
//   - rollout: compare-and-set on its revision (`casRollout`): a stage advances exactly once,
//     however many instances evaluate it at the same moment — the loser re-reads;
//   - devices are claimed by at most one live rollout (`createRollout` claims atomically);
//   - a rollout member's state changes only from the states the caller names (`updateMember`);
//   - an approval is taken once (`takeApproval`), before its action runs;
//   - the audit chain appends one entry at a time, each hashing the previous.
import type { Health, ReportPhase } from '../../shared/fleet-protocol.js';
import type { Role } from '../../../services/api/index.js';

export interface FleetUser {
  readonly id: string;
  readonly username: string;
  readonly role: Role;
  readonly passwordHash: string;
  readonly wallets: readonly string[];
  readonly createdAt: number;
  readonly createdBy: string | null;
  // Provenance for the two-person rule (services/auth approvals.ts `independence`).
  readonly roleChangedBy: string | null;
  readonly roleChangedAt: number;
  readonly roleApprovedBy: string | null;
  readonly credentialsChangedBy: string | null;
  readonly credentialsChangedAt: number;
  readonly failedLogins: number;
  readonly lockedUntil: number;
  readonly rev: number;
}

export interface RefreshFamily {
  readonly id: string;
  readonly userId: string;
  readonly jti: string;
  readonly expiresAt: number;
  readonly revoked: boolean;
}

export interface EnrollmentToken {
  /** SHA-256 (hex) of the token: the token itself is shown once and never stored. */
  readonly hash: string;
  readonly id: string;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  /** Tags the enrolled device starts with. */
  readonly tags: readonly string[];
  readonly usedBy: string | null;
  readonly usedAt: number | null;
}

export interface DeviceStatus {
  readonly version: string;
  readonly arch: string;
  readonly slot: string | null;
  readonly health: Health;
  readonly reasons: readonly string[];
  readonly lastUpdate: { readonly version: string; readonly outcome: string; readonly reason: string; readonly at: number } | null;
  readonly freeDiskBytes: number | null;
}

export interface DeviceRecord {
  /** The node id (services/identity): 40 hex characters derived from the public key. */
  readonly id: string;
  readonly publicKey: string;
  readonly name: string;
  readonly tags: readonly string[];
  readonly enrolledAt: number;
  readonly lastSeenAt: number;
  readonly lastSeq: number;
  readonly status: DeviceStatus;
}

export interface GroupFilter {
  /** Every tag must be present. */
  readonly tags?: readonly string[];
  /** Exact version, or a prefix ending in `*` (e.g. `1.4.*`). */
  readonly version?: string;
  readonly arch?: string;
}

export interface MaintenanceWindow {
  /** Days of the week, 0 = Sunday (UTC). */
  readonly days: readonly number[];
  /** 'HH:MM' UTC; a window may pass midnight (end < start). */
  readonly start: string;
  readonly end: string;
}

export interface GroupRecord {
  readonly id: string;
  readonly name: string;
  readonly kind: 'static' | 'dynamic';
  readonly members: readonly string[];
  readonly filter: GroupFilter | null;
  /** Tags of the group itself: `production` makes a rollout to it need a second admin. */
  readonly tags: readonly string[];
  readonly windows: readonly MaintenanceWindow[];
  readonly createdAt: number;
  readonly createdBy: string;
}

export interface ChannelRecord {
  /** The fleet's name for the channel (also the TUF path: /tuf/<name>/). */
  readonly name: string;
  /** Base URL of the release repository (metadata/, targets/), as published by `./build.sh release publish`. */
  readonly repositoryUrl: string;
  /** The release repository's channel (the TUF target `<tufChannel>/release.json`). */
  readonly tufChannel: string;
  /** The trusted root.json this channel was pinned to at creation (the one devices ship). */
  readonly rootJson: string;
  readonly createdAt: number;
  readonly createdBy: string;
  readonly lastSync: { readonly at: number; readonly ok: boolean; readonly error: string | null; readonly timestampVersion: number } | null;
}

export interface ReleaseRecord {
  /** `<channel>@<version>`. */
  readonly id: string;
  readonly channel: string;
  readonly version: string;
  /** SHA-256 (hex) of the release document's bytes, as TUF signs them. */
  readonly sha256: string;
  readonly minVersion: string;
  readonly architectures: readonly string[];
  readonly downloadBytes: number;
  readonly created: string;
  readonly seenAt: number;
  /** Still what the channel's TUF metadata signs as its release. */
  readonly current: boolean;
}

export interface StageSpec {
  /** A number of devices (e.g. 1 canary) or a share of the group (cumulative, e.g. 10, 50, 100). */
  readonly count?: number;
  readonly percent?: number;
  /** Devices of the stage must stay healthy this long after their commit. */
  readonly soakS: number;
  /** Failures (failed installs, rollbacks, unhealthy after commit) in the stage that halt the rollout: more than this. */
  readonly maxFailures: number;
  /** Or more than this share of the stage (0..1); null: count only. */
  readonly maxFailureRate: number | null;
}

export type RolloutState = 'pending-approval' | 'running' | 'paused' | 'halted' | 'aborted' | 'completed' | 'superseded';
export const LIVE_ROLLOUT_STATES: readonly RolloutState[] = ['pending-approval', 'running', 'paused', 'halted', 'completed'];

export interface StageHistory {
  readonly stage: number;
  readonly startedAt: number;
  readonly endedAt: number | null;
  readonly how: 'auto' | 'manual' | null;
}

export interface RolloutRecord {
  readonly id: string;
  readonly releaseId: string;
  readonly channel: string;
  readonly version: string;
  readonly releaseSha256: string;
  readonly groupId: string;
  readonly groupName: string;
  readonly production: boolean;
  readonly stages: readonly StageSpec[];
  /** Cumulative member counts: stage i covers members with ord < stageEnds[i]. */
  readonly stageEnds: readonly number[];
  readonly total: number;
  readonly rollbackOnHalt: boolean;
  readonly state: RolloutState;
  readonly stage: number;
  readonly history: readonly StageHistory[];
  /** Bumped on each retry of the failed: a member's assignment id carries it. */
  readonly attempt: number;
  readonly reason: string | null;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly rev: number;
}

export type MemberState = 'waiting' | ReportPhase | 'healthy' | 'unhealthy' | 'reverting';
export const FAILED_MEMBER_STATES: readonly MemberState[] = ['failed', 'rolled-back', 'unhealthy'];
/** States of a member that is still working on the update (neither done nor failed). */
export const PENDING_MEMBER_STATES: readonly MemberState[] = ['waiting', 'assigned', 'downloading', 'installing', 'trial', 'committed', 'deferred'];

export interface RolloutMember {
  readonly rolloutId: string;
  readonly deviceId: string;
  /** Position in the rollout's fixed, random-looking device order (stage membership). */
  readonly ord: number;
  readonly state: MemberState;
  readonly reason: string | null;
  readonly attempt: number;
  readonly updatedAt: number;
  readonly committedAt: number | null;
}

export interface StageCounts {
  readonly total: number;
  /** Members per state, split by whether their device is online. */
  readonly online: Partial<Record<MemberState, number>>;
  readonly offline: Partial<Record<MemberState, number>>;
}

export interface Membership {
  readonly member: RolloutMember;
  readonly rollout: RolloutRecord;
}

export interface ApprovalRecord {
  readonly id: string;
  readonly kind: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly requestedBy: { readonly id: string; readonly username: string; readonly role: Role };
  readonly reason: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface AuditInput {
  readonly at: number;
  readonly actor: string;
  readonly action: string;
  readonly target: string | null;
  readonly outcome: 'success' | 'denied' | 'failure';
  readonly details: Readonly<Record<string, unknown>>;
}
export interface AuditRecord extends AuditInput {
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
}

export type CheckinResult =
  | { readonly kind: 'ok'; readonly device: DeviceRecord; readonly membership: Membership | null }
  | { readonly kind: 'replay'; readonly lastSeq: number }
  | { readonly kind: 'unknown' };

export interface DeviceQuery {
  readonly tag?: string;
  readonly version?: string;
  readonly health?: Health;
  readonly offlineBefore?: number;
  readonly onlineSince?: number;
  readonly search?: string;
  readonly limit?: number;
  readonly after?: string;
}

export interface FleetStore {
  readonly kind: 'leveldb' | 'postgres';
  start(): Promise<void>;
  stop(): Promise<void>;

  /** A value set once: the first caller's value wins and every caller gets the winner. */
  metaOnce(key: string, make: () => string): Promise<string>;

  // Users and login sessions
  /** Inserts; `firstOnly`: only while there is no user at all (setup). False when refused or the name exists. */
  createUser(user: FleetUser, options?: { firstOnly?: boolean }): Promise<boolean>;
  getUser(id: string): Promise<FleetUser | null>;
  getUserByName(username: string): Promise<FleetUser | null>;
  listUsers(): Promise<FleetUser[]>;
  /** Replaces the user if its rev is still `rev` (the new record carries rev + 1). */
  casUser(next: FleetUser, rev: number): Promise<boolean>;
  putFamily(family: RefreshFamily): Promise<void>;
  getFamily(id: string): Promise<RefreshFamily | null>;
  /** Rotates the family's jti from `jti` to `next`: 'ok', 'reuse' (jti was not current: the family is revoked), 'gone'. */
  spendFamily(id: string, jti: string, next: string, expiresAt: number): Promise<'ok' | 'reuse' | 'gone'>;
  revokeFamilies(userId: string, familyId?: string): Promise<void>;

  // Enrollment
  putToken(token: EnrollmentToken): Promise<void>;
  listTokens(): Promise<EnrollmentToken[]>;
  /** Spends the token for `deviceId` if unused and unexpired at `now`; returns it, or null. */
  spendToken(hash: string, deviceId: string, now: number): Promise<EnrollmentToken | null>;

  // Devices
  /** Inserts, or (same public key) keeps the existing record. False when the id exists with another key. */
  enrollDevice(device: DeviceRecord): Promise<boolean>;
  /** Bulk insert (devices moved from another fleet, the benchmark's 100,000); existing ids are kept. Returns how many were new. */
  importDevices(devices: readonly DeviceRecord[]): Promise<number>;
  getDevice(id: string): Promise<DeviceRecord | null>;
  listDevices(query?: DeviceQuery): Promise<DeviceRecord[]>;
  countDevices(offlineBefore: number): Promise<{ total: number; offline: number; byHealth: Record<string, number>; byVersion: Record<string, number> }>;
  setDeviceTags(id: string, tags: readonly string[]): Promise<DeviceRecord | null>;
  deleteDevice(id: string): Promise<boolean>;
  /** Atomically: refuse unless seq > lastSeq, record the status and time, and return the device's live rollout membership. */
  checkin(id: string, seq: number, status: DeviceStatus | null, now: number): Promise<CheckinResult>;

  // Groups
  createGroup(group: GroupRecord): Promise<boolean>;
  getGroup(id: string): Promise<GroupRecord | null>;
  listGroups(): Promise<GroupRecord[]>;
  putGroup(group: GroupRecord): Promise<void>;
  deleteGroup(id: string): Promise<boolean>;

  // Channels, their TUF files and releases
  createChannel(channel: ChannelRecord): Promise<boolean>;
  getChannel(name: string): Promise<ChannelRecord | null>;
  listChannels(): Promise<ChannelRecord[]>;
  /** Replaces the channel's mirrored TUF files and marks `current` as its signed release — only if `timestampVersion` is newer than what is stored. */
  syncChannel(name: string, files: ReadonlyMap<string, Buffer>, release: ReleaseRecord | null, sync: NonNullable<ChannelRecord['lastSync']>): Promise<boolean>;
  noteSyncFailure(name: string, sync: NonNullable<ChannelRecord['lastSync']>): Promise<void>;
  getTufFile(channel: string, path: string): Promise<Buffer | null>;
  listReleases(channel?: string): Promise<ReleaseRecord[]>;
  getRelease(id: string): Promise<ReleaseRecord | null>;

  // Rollouts
  /** Inserts the rollout and claims its devices (each in at most one live rollout); members get ord 0..n-1 in the given order. */
  createRollout(rollout: RolloutRecord, deviceIds: readonly string[]): Promise<{ claimed: number; skipped: readonly string[] }>;
  getRollout(id: string): Promise<RolloutRecord | null>;
  listRollouts(options?: { live?: boolean; limit?: number }): Promise<RolloutRecord[]>;
  /** Replaces the rollout if its rev is still `rev`; `release`: drop the claims of members in these states (or all, 'all'). */
  casRollout(next: RolloutRecord, rev: number, release?: readonly MemberState[] | 'all'): Promise<boolean>;
  getMember(rolloutId: string, deviceId: string): Promise<RolloutMember | null>;
  /** Sets the member's state if it is one of `from` (all states when omitted); the claim is dropped for `releaseClaim`. */
  updateMember(rolloutId: string, deviceId: string, from: readonly MemberState[] | null, patch: Partial<Pick<RolloutMember, 'state' | 'reason' | 'attempt' | 'committedAt'>>, now: number, releaseClaim?: boolean): Promise<RolloutMember | null>;
  /** Moves every member of `[fromOrd, toOrd)` in one of `from` to `state` (retry of the failed). */
  resetMembers(rolloutId: string, fromOrd: number, toOrd: number, from: readonly MemberState[], state: MemberState, attempt: number, now: number): Promise<number>;
  stageCounts(rolloutId: string, fromOrd: number, toOrd: number, offlineBefore: number): Promise<StageCounts>;
  listMembers(rolloutId: string, options?: { states?: readonly MemberState[]; limit?: number }): Promise<RolloutMember[]>;

  // Approvals (two-person rule)
  putApproval(approval: ApprovalRecord): Promise<void>;
  listApprovals(): Promise<ApprovalRecord[]>;
  getApproval(id: string): Promise<ApprovalRecord | null>;
  /** Deletes and returns it: exactly one caller gets it. */
  takeApproval(id: string): Promise<ApprovalRecord | null>;

  // Audit (append-only, hash-chained)
  appendAudit(entry: AuditInput): Promise<AuditRecord>;
  listAudit(options?: { limit?: number; before?: number }): Promise<AuditRecord[]>;
}
