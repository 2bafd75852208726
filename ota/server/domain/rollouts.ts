// Rollouts at the edge: creation (members fixed and claimed), the admin commands (pause, resume,
// abort, retry the failed, manual advance), and the evaluator that advances or halts stages.
// Every change is a compare-and-set on the rollout's revision: any number of fleet-server
// instances may evaluate the same rollout at the same moment — one write wins, the others find
// the revision moved, re-read and see the decision already made. The winner alone audits it.
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../../services/common/log.js';
import { LucidError } from '../../../services/common/errors.js';
import type { Principal } from '../../../services/api/index.js';
import { FAILED_MEMBER_STATES, LIVE_ROLLOUT_STATES, type FleetStore, type MemberState, type RolloutRecord, type StageSpec } from '../store/types.js';
import { inGroup, rolloutOrder } from './groups.js';
import { checkStages, evaluateStage, stageEnds, stageStart } from './rollout-plan.js';
import type { FleetReleases } from './releases.js';

export interface RolloutsDeps {
  readonly store: FleetStore;
  readonly releases: FleetReleases;
  readonly log: Logger;
  readonly now: () => number;
  readonly offlineAfterMs: number;
  readonly audit: (action: string, actor: string, target: string | null, outcome: 'success' | 'denied' | 'failure', details?: Record<string, unknown>) => Promise<void>;
  /** Asks a second admin (the two-person rule) to start a rollout to a production group. */
  readonly requestApproval: (rollout: RolloutRecord, by: Principal, reason: string) => Promise<string>;
  /** Called with each stage decision this instance won (metrics: stage-advance latency). */
  readonly onDecision?: (r: RolloutRecord, kind: 'advance' | 'complete' | 'halt', at: number) => void;
}

export interface CreateRollout {
  readonly releaseId: string;
  readonly groupId: string;
  readonly stages: readonly StageSpec[];
  readonly rollbackOnHalt: boolean;
  readonly reason?: string;
}

/** States a member of a halted rollout leaves when it is told to roll back. */
const UPDATED: readonly MemberState[] = ['committed', 'healthy'];
const DONE: readonly MemberState[] = ['healthy', 'failed', 'rolled-back', 'unhealthy', 'reverted'];

export class FleetRollouts {
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly deps: RolloutsDeps) {}

  async create(by: Principal, input: CreateRollout): Promise<{ rollout: RolloutRecord; skipped: readonly string[]; approvalId: string | null }> {
    checkStages(input.stages);
    const release = await this.deps.releases.signedRelease(input.releaseId);
    const group = await this.deps.store.getGroup(input.groupId);
    if (!group) throw new LucidError('FLEET_ERR_NOT_FOUND', `no group ${input.groupId}`);
    const devices = (await this.deps.store.listDevices({ limit: 1_000_000 })).filter((d) => inGroup(d, group) && release.architectures.includes(d.status.arch));
    const id = `r-${randomBytes(6).toString('hex')}`;
    const order = rolloutOrder(id, devices.map((d) => d.id));
    const now = this.deps.now();
    const production = group.tags.includes('production');
    const draft: RolloutRecord = {
      id, releaseId: release.id, channel: release.channel, version: release.version, releaseSha256: release.sha256, groupId: group.id, groupName: group.name,
      production, stages: input.stages, stageEnds: [], total: 0, rollbackOnHalt: input.rollbackOnHalt,
      state: production ? 'pending-approval' : 'running', stage: 0, history: production ? [] : [{ stage: 0, startedAt: now, endedAt: null, how: null }],
      attempt: 0, reason: input.reason ?? null, createdBy: by.userId, createdAt: now, updatedAt: now, rev: 0,
    };
    if (order.length === 0) throw new LucidError('FLEET_ERR_EMPTY_GROUP', `group ${group.name} has no ${release.architectures.join('/')} device`);
    const { claimed, skipped } = await this.deps.store.createRollout(draft, order);
    let rollout = (await this.deps.store.getRollout(id))!;
    // The stage boundaries follow the devices actually claimed.
    const ends = stageEnds(input.stages, claimed);
    rollout = await this.cas(rollout, { stageEnds: ends });
    if (claimed === 0) {
      await this.cas(rollout, { state: 'aborted', reason: 'every device of the group is in another live rollout' }, 'all');
      throw new LucidError('FLEET_ERR_EMPTY_GROUP', `every device of group ${group.name} is in another live rollout`, { skipped: skipped.length });
    }
    await this.deps.audit('rollout.create', by.userId, id, 'success', { release: release.id, group: group.name, devices: claimed, skipped: skipped.length, production });
    const approvalId = production ? await this.deps.requestApproval(rollout, by, input.reason ?? `roll ${release.id} out to ${group.name}`) : null;
    this.poke(id);
    return { rollout, skipped, approvalId };
  }

  /** Replaces fields of `r` if nobody changed it since it was read; FLEET_ERR_CONFLICT otherwise. */
  private async cas(r: RolloutRecord, patch: Partial<RolloutRecord>, release?: readonly MemberState[] | 'all'): Promise<RolloutRecord> {
    const next = { ...r, ...patch, updatedAt: this.deps.now() };
    if (!(await this.deps.store.casRollout(next, r.rev, release))) throw new LucidError('FLEET_ERR_CONFLICT', `rollout ${r.id} changed meanwhile`);
    return { ...next, rev: r.rev + 1 };
  }

  async get(id: string): Promise<RolloutRecord> {
    const r = await this.deps.store.getRollout(id);
    if (!r) throw new LucidError('FLEET_ERR_NOT_FOUND', `no rollout ${id}`);
    return r;
  }

  private need(r: RolloutRecord, allowed: readonly RolloutRecord['state'][], what: string): void {
    if (!allowed.includes(r.state)) throw new LucidError('FLEET_ERR_INVALID_TRANSITION', `cannot ${what} a rollout that is ${r.state}`, { state: r.state });
  }

  /** Starts a rollout that waited for its approval (called once: the approval was taken first). */
  async approveStart(id: string): Promise<RolloutRecord> {
    const r = await this.get(id);
    this.need(r, ['pending-approval'], 'start');
    const out = await this.cas(r, { state: 'running', history: [{ stage: 0, startedAt: this.deps.now(), endedAt: null, how: null }] });
    this.poke(id);
    return out;
  }

  async command(by: Principal, id: string, action: 'pause' | 'resume' | 'abort' | 'retry' | 'advance'): Promise<RolloutRecord> {
    const r = await this.get(id);
    const now = this.deps.now();
    let out: RolloutRecord;
    switch (action) {
      case 'pause': this.need(r, ['running'], 'pause'); out = await this.cas(r, { state: 'paused' }); break;
      case 'resume': this.need(r, ['paused', 'halted'], 'resume'); out = await this.cas(r, { state: 'running' }); break;
      case 'abort': this.need(r, ['pending-approval', 'running', 'paused', 'halted', 'completed'], 'abort'); out = await this.cas(r, { state: 'aborted', reason: `aborted by ${by.username}` }, 'all'); break;
      case 'retry': {
        this.need(r, ['running', 'paused', 'halted'], 'retry the failed of');
        // The failed members are reset before the rollout runs again: were it running first, the
        // evaluator could count the old failures and halt it again at once. Two admins retrying
        // at once reset the same members to the same attempt; only one compare-and-set wins.
        const attempt = r.attempt + 1;
        const from = r.rollbackOnHalt ? [...FAILED_MEMBER_STATES, 'reverting', 'reverted'] as MemberState[] : [...FAILED_MEMBER_STATES];
        const n = await this.deps.store.resetMembers(id, 0, r.stageEnds[r.stage]!, from, 'waiting', attempt, now);
        out = await this.cas(r, { state: 'running', attempt, reason: null });
        await this.deps.audit('rollout.retry', by.userId, id, 'success', { members: n, attempt: out.attempt });
        this.poke(id);
        return out;
      }
      case 'advance': this.need(r, ['running', 'paused'], 'advance'); out = await this.advance(r, 'manual'); break;
    }
    await this.deps.audit(`rollout.${action}`, by.userId, id, 'success', { stage: out.stage + 1, state: out.state });
    this.poke(id);
    return out;
  }

  private async advance(r: RolloutRecord, how: 'auto' | 'manual'): Promise<RolloutRecord> {
    const now = this.deps.now();
    const history = r.history.map((h) => (h.stage === r.stage && h.endedAt === null ? { ...h, endedAt: now, how } : h));
    if (r.stage >= r.stages.length - 1) return this.cas(r, { state: 'completed', history }, DONE);
    return this.cas(r, { stage: r.stage + 1, history: [...history, { stage: r.stage + 1, startedAt: now, endedAt: null, how: null }] });
  }

  /** A channel signs another release now: live rollouts of its older ones cannot go on. */
  async supersede(channel: string, currentId: string | null): Promise<void> {
    for (const r of await this.deps.store.listRollouts({ live: true })) {
      if (r.channel !== channel || r.releaseId === currentId) continue;
      try {
        await this.cas(r, { state: 'superseded', reason: `channel ${channel} signs ${currentId ?? 'nothing'} now` }, 'all');
        await this.deps.audit('rollout.superseded', 'fleet', r.id, 'success', { release: r.releaseId, now: currentId });
      } catch (err) {
        if ((err as LucidError).code !== 'FLEET_ERR_CONFLICT') throw err;
      }
    }
  }

  // ── the evaluator ───────────────────────────────────────────────────────────────────────
  poke(id: string): void {
    this.dirty.add(id);
  }

  start(everyMs = 1000): void {
    this.timer = setInterval(() => { if (!this.running) this.running = this.tick().finally(() => { this.running = null; }); }, everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass over the running rollouts (every one: another instance's reports count too). */
  async tick(): Promise<void> {
    this.dirty.clear();
    // Nothing here may throw out of the timer's promise (an unhandled rejection ends the
    // process): a failed pass is logged and the next one, a second later, tries again.
    let live: RolloutRecord[];
    try {
      live = await this.deps.store.listRollouts({ live: true });
    } catch (err) {
      this.deps.log.warn({ err }, 'rollout evaluation: could not list the live rollouts');
      return;
    }
    for (const r of live) {
      try {
        // A halted rollout's rollback is re-applied (idempotent): an instance that died between
        // halting and telling the updated members still gets them told.
        if (r.state === 'halted' && r.rollbackOnHalt) await this.deps.store.resetMembers(r.id, 0, r.total, UPDATED, 'reverting', r.attempt, this.deps.now());
        if (r.state !== 'running') continue;
        await this.evaluate(r);
      } catch (err) {
        if ((err as LucidError).code !== 'FLEET_ERR_CONFLICT') this.deps.log.warn({ err, rollout: r.id }, 'rollout evaluation failed');
      }
    }
  }

  async evaluate(r: RolloutRecord): Promise<RolloutRecord> {
    // A rollout another instance is still creating has no stage boundaries yet: evaluating it
    // would move its revision under the creator's compare-and-set (FLEET_ERR_CONFLICT there).
    if (r.stageEnds.length === 0) return r;
    const now = this.deps.now();
    const counts = await this.deps.store.stageCounts(r.id, stageStart(r), r.stageEnds[r.stage]!, now - this.deps.offlineAfterMs);
    const d = evaluateStage(r, counts);
    if (d.kind === 'wait') return r;
    let out: RolloutRecord;
    if (d.kind === 'halt') {
      out = await this.cas(r, { state: 'halted', reason: d.reason });
      if (r.rollbackOnHalt) await this.deps.store.resetMembers(r.id, 0, r.total, UPDATED, 'reverting', r.attempt, now);
      this.deps.log.warn({ rollout: r.id, reason: d.reason, rollback: r.rollbackOnHalt }, 'rollout halted');
      await this.deps.audit('rollout.halt', 'fleet', r.id, 'success', { reason: d.reason, rollback: r.rollbackOnHalt });
    } else {
      out = await this.advance(r, 'auto');
      this.deps.log.info({ rollout: r.id, stage: out.stage + 1, state: out.state }, d.kind === 'complete' ? 'rollout completed' : 'rollout stage advanced');
      await this.deps.audit(d.kind === 'complete' ? 'rollout.complete' : 'rollout.advance', 'fleet', r.id, 'success', { stage: out.stage + 1 });
    }
    this.deps.onDecision?.(out, d.kind, now);
    return out;
  }

  async list(): Promise<RolloutRecord[]> {
    return this.deps.store.listRollouts({ limit: 200 });
  }

  static isLive(r: RolloutRecord): boolean {
    return LIVE_ROLLOUT_STATES.includes(r.state);
  }
}
