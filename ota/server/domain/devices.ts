// Devices: enrollment with a single-use token and proof of the node key, then signed check-ins
// and reports (ota/shared/fleet-protocol.ts). A check-in costs one signature verification and
// one store round trip (sequence check + status + membership); the answer is the device's
// assignment from the pure rules in rollout-plan.ts.
import { createHash, randomBytes, verify, type KeyObject } from 'node:crypto';
import { LucidError } from '../../../services/common/errors.js';
import {
  enrollProofPayload, nodeIdOfHex, publicKeyFromHex, REPORT_PHASES, signedBytes, verifyEnvelope,
  type CheckinAnswer, type CheckinMessage, type EnrollRequest, type Envelope, type ReportMessage, type ReportPhase,
} from '../../shared/fleet-protocol.js';
import { normTags } from '../store/common.js';
import type { DeviceRecord, DeviceStatus, FleetStore, GroupRecord, Membership, RolloutMember } from '../store/types.js';
import { inWindow, TAG } from './groups.js';
import { assignmentFor, reportTransition, soakTransition } from './rollout-plan.js';

export const TOKEN_TTL_MS = 7 * 86_400_000;
const KEY_CACHE_MAX = 200_000;

export interface DevicesDeps {
  readonly store: FleetStore;
  readonly fleetId: string;
  readonly now: () => number;
  readonly checkinIntervalS: number;
  /** The fleet certificate's pin (base64url SHA-256 of its SPKI): appended to every token made. */
  readonly pin: string;
  readonly audit: (action: string, actor: string, target: string | null, outcome: 'success' | 'denied' | 'failure', details?: Record<string, unknown>) => Promise<void>;
  /** A member changed state (a stage may now be decidable). */
  readonly onMemberChange: (rolloutId: string) => void;
}

/**
 * A token is `lft_<secret>.<pin>`: the pin tells the device which certificate to expect, the
 * secret is what enrolls. Identified by the part before the dot (base64url has none), so a token
 * given with or without its pin is the same token.
 */
export const tokenSecret = (token: string): string => token.trim().split('.')[0]!;
export const hashToken = (token: string): string => createHash('sha256').update(tokenSecret(token)).digest('hex');

function parse<T>(payload: string): T {
  try {
    const v = JSON.parse(payload) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as T;
  } catch { /* below */ }
  throw new LucidError('FLEET_ERR_BAD_MESSAGE', 'the signed payload is not a JSON object');
}

const isSeq = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
const str = (v: unknown, max = 200): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;

export class FleetDevices {
  /** Enrolled public keys (immutable once enrolled): a check-in verifies without a store read for the key. */
  private readonly keys = new Map<string, KeyObject>();
  private readonly groupCache = new Map<string, { at: number; group: GroupRecord | null }>();

  constructor(private readonly deps: DevicesDeps) {}

  async makeToken(by: string, tags: readonly string[], ttlMs = TOKEN_TTL_MS): Promise<{ token: string; id: string; expiresAt: number }> {
    for (const t of tags) if (!TAG.test(t)) throw new LucidError('API_ERR_VALIDATION', `tag ${JSON.stringify(t)}: lower-case letters, digits and . _ : -`);
    const secret = `lft_${randomBytes(24).toString('base64url')}`;
    const token = `${secret}.${this.deps.pin}`;
    const now = this.deps.now();
    const id = randomBytes(6).toString('hex');
    await this.deps.store.putToken({ hash: hashToken(secret), id, createdBy: by, createdAt: now, expiresAt: now + ttlMs, tags: normTags(tags), usedBy: null, usedAt: null });
    await this.deps.audit('enroll.token', by, id, 'success', { tags, expiresAt: now + ttlMs });
    return { token, id, expiresAt: now + ttlMs };
  }

  async enroll(req: EnrollRequest): Promise<{ deviceId: string; fleetId: string; checkinIntervalS: number; tags: readonly string[] }> {
    let key: KeyObject;
    try {
      key = publicKeyFromHex(req.publicKey);
    } catch {
      throw new LucidError('FLEET_ERR_BAD_PROOF', 'publicKey is not a raw 32-byte Ed25519 key (hex)');
    }
    const proof = Buffer.from(req.proof, 'base64url');
    const signed = signedBytes('enroll', this.deps.fleetId, enrollProofPayload(req.token, req.nodeId));
    if (nodeIdOfHex(req.publicKey) !== req.nodeId || proof.length !== 64 || !verify(null, signed, key, proof)) {
      await this.deps.audit('device.enroll', req.nodeId, req.nodeId, 'denied', { why: 'bad proof' });
      throw new LucidError('FLEET_ERR_BAD_PROOF');
    }
    // The key is proven before the token is spent: a forged enrollment cannot burn a token.
    const now = this.deps.now();
    const token = await this.deps.store.spendToken(hashToken(req.token), req.nodeId, now);
    if (!token) {
      await this.deps.audit('device.enroll', req.nodeId, req.nodeId, 'denied', { why: 'token unknown, used or expired' });
      throw new LucidError('FLEET_ERR_TOKEN_INVALID');
    }
    const status: DeviceStatus = { version: req.version, arch: req.arch, slot: null, health: 'ok', reasons: [], lastUpdate: null, freeDiskBytes: null };
    const device: DeviceRecord = { id: req.nodeId, publicKey: req.publicKey, name: req.name?.slice(0, 64) || `appliance-${req.nodeId.slice(0, 8)}`, tags: token.tags, enrolledAt: now, lastSeenAt: now, lastSeq: 0, status };
    if (!(await this.deps.store.enrollDevice(device))) throw new LucidError('FLEET_ERR_BAD_PROOF', 'another key is enrolled under this node id');
    await this.deps.audit('device.enroll', req.nodeId, req.nodeId, 'success', { token: token.id, tags: token.tags, version: req.version, arch: req.arch });
    const stored = await this.deps.store.getDevice(req.nodeId);
    return { deviceId: req.nodeId, fleetId: this.deps.fleetId, checkinIntervalS: this.deps.checkinIntervalS, tags: stored?.tags ?? token.tags };
  }

  private async keyOf(id: string): Promise<KeyObject> {
    let key = this.keys.get(id);
    if (key) return key;
    const d = await this.deps.store.getDevice(id);
    if (!d) throw new LucidError('FLEET_ERR_UNKNOWN_DEVICE');
    key = publicKeyFromHex(d.publicKey);
    if (this.keys.size >= KEY_CACHE_MAX) this.keys.delete(this.keys.keys().next().value as string);
    this.keys.set(id, key);
    return key;
  }

  forget(id: string): void {
    this.keys.delete(id);
  }

  private async open<T extends { seq: number }>(kind: 'checkin' | 'report', env: Envelope): Promise<T> {
    const key = await this.keyOf(env.device);
    if (!verifyEnvelope(kind, this.deps.fleetId, env, key)) throw new LucidError('FLEET_ERR_BAD_SIGNATURE');
    const msg = parse<T>(env.payload);
    if (!isSeq(msg.seq)) throw new LucidError('FLEET_ERR_BAD_MESSAGE', 'seq must be a positive integer');
    return msg;
  }

  private async group(id: string): Promise<GroupRecord | null> {
    const hit = this.groupCache.get(id);
    const now = this.deps.now();
    if (hit && now - hit.at < 5000) return hit.group;
    const group = await this.deps.store.getGroup(id);
    this.groupCache.set(id, { at: now, group });
    return group;
  }

  async checkin(env: Envelope): Promise<CheckinAnswer> {
    const msg = await this.open<CheckinMessage>('checkin', env);
    if (!str(msg.version, 64) || !str(msg.arch, 32) || !['ok', 'degraded', 'failed'].includes(msg.health)) {
      throw new LucidError('FLEET_ERR_BAD_MESSAGE', 'a check-in needs version, arch and health (ok, degraded, failed)');
    }
    const now = this.deps.now();
    const status: DeviceStatus = {
      version: msg.version, arch: msg.arch, slot: typeof msg.slot === 'string' ? msg.slot.slice(0, 8) : null, health: msg.health,
      reasons: Array.isArray(msg.reasons) ? msg.reasons.slice(0, 10).map((r) => String(r).slice(0, 200)) : [],
      lastUpdate: msg.lastUpdate && typeof msg.lastUpdate === 'object' ? {
        version: String(msg.lastUpdate.version).slice(0, 64), outcome: String(msg.lastUpdate.outcome).slice(0, 32),
        reason: String(msg.lastUpdate.reason ?? '').slice(0, 300), at: Number(msg.lastUpdate.at) || 0,
      } : null,
      freeDiskBytes: Number.isSafeInteger(msg.freeDiskBytes) ? msg.freeDiskBytes : null,
    };
    const res = await this.deps.store.checkin(env.device, msg.seq, status, now);
    if (res.kind === 'unknown') throw new LucidError('FLEET_ERR_UNKNOWN_DEVICE');
    if (res.kind === 'replay') throw new LucidError('FLEET_ERR_REPLAY', undefined, { lastSeq: res.lastSeq });
    let membership = res.membership;
    if (membership) {
      // The agent's own word on its assignment (it may have finished while the fleet was away).
      const a = msg.assignment;
      if (a && typeof a === 'object' && typeof a.id === 'string' && a.id.startsWith(`${membership.rollout.id}.${membership.member.attempt}`) && REPORT_PHASES.includes(a.phase)) {
        membership = await this.applyReport(membership, a.phase, typeof a.reason === 'string' ? a.reason : null, now) ?? membership;
      }
      const soak = soakTransition(membership.rollout, membership.member, msg, now);
      if (soak) membership = await this.move(membership, soak.state, soak.reason, now, ['committed']) ?? membership;
    }
    return this.answer(membership, now);
  }

  private async answer(membership: Membership | null, now: number): Promise<CheckinAnswer> {
    const base = { fleetId: this.deps.fleetId, serverTime: now, nextCheckinS: this.deps.checkinIntervalS };
    if (!membership) return { ...base, assignment: null, waiting: null };
    const group = await this.group(membership.rollout.groupId);
    const out = assignmentFor(membership.rollout, membership.member, inWindow(group?.windows ?? [], now));
    return { ...base, ...out };
  }

  async report(env: Envelope): Promise<{ state: string }> {
    const msg = await this.open<ReportMessage>('report', env);
    if (!str(msg.rolloutId, 64) || !str(msg.assignmentId, 100) || !REPORT_PHASES.includes(msg.phase)) {
      throw new LucidError('FLEET_ERR_BAD_MESSAGE', 'a report needs rolloutId, assignmentId and a phase');
    }
    const now = this.deps.now();
    const res = await this.deps.store.checkin(env.device, msg.seq, null, now);
    if (res.kind === 'unknown') throw new LucidError('FLEET_ERR_UNKNOWN_DEVICE');
    if (res.kind === 'replay') throw new LucidError('FLEET_ERR_REPLAY', undefined, { lastSeq: res.lastSeq });
    const m = res.membership;
    if (!m || m.rollout.id !== msg.rolloutId || !msg.assignmentId.startsWith(`${m.rollout.id}.${m.member.attempt}`)) {
      await this.deps.audit('device.report', env.device, msg.rolloutId, 'denied', { why: 'not a member', phase: msg.phase });
      throw new LucidError('FLEET_ERR_NOT_IN_ROLLOUT', undefined, { rolloutId: msg.rolloutId });
    }
    const after = await this.applyReport(m, msg.phase, typeof msg.reason === 'string' ? msg.reason.slice(0, 300) : null, now);
    return { state: (after ?? m).member.state };
  }

  private async applyReport(m: Membership, phase: ReportPhase, reason: string | null, now: number): Promise<Membership | null> {
    if (phase === m.member.state) return null;
    const to = reportTransition(m.member.state, phase, m.rollout.state === 'halted' && m.rollout.rollbackOnHalt);
    if (!to) return null;
    return this.move(m, to, reason, now, [m.member.state]);
  }

  private async move(m: Membership, state: RolloutMember['state'], reason: string | null, now: number, from: RolloutMember['state'][]): Promise<Membership | null> {
    // A member that is done in a rollout that has completed lets its device go.
    const done = m.rollout.state === 'completed' && ['healthy', 'failed', 'rolled-back', 'unhealthy', 'reverted'].includes(state);
    const member = await this.deps.store.updateMember(m.rollout.id, m.member.deviceId, from, {
      state, reason, ...(state === 'committed' ? { committedAt: now } : {}),
    }, now, done || state === 'reverted');
    if (!member) return null;
    this.deps.onMemberChange(m.rollout.id);
    if (['failed', 'rolled-back', 'unhealthy'].includes(state)) {
      await this.deps.audit('device.update', m.member.deviceId, m.rollout.id, 'failure', { state, reason, version: m.rollout.version });
    }
    return { rollout: m.rollout, member };
  }
}
