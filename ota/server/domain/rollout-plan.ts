// A rollout's decisions in pure code (DESIGN §4.6): stage boundaries, when a stage advances or
// halts, what a device is told to do, and how a device's report moves its member state. The
// executor (rollouts.ts, devices.ts) reads the store, asks here, and writes with compare-and-set.
import { LucidError } from '../../../services/common/errors.js';
import type { Assignment, CheckinMessage, ReportPhase } from '../../shared/fleet-protocol.js';
import { FAILED_MEMBER_STATES, PENDING_MEMBER_STATES, type MemberState, type RolloutMember, type RolloutRecord, type StageCounts, type StageSpec } from '../store/types.js';

export const MAX_STAGES = 10;

/** Checks the stage list; throws FLEET_ERR_BAD_STAGES with the reason. */
export function checkStages(stages: readonly StageSpec[]): void {
  const bad = (why: string): never => { throw new LucidError('FLEET_ERR_BAD_STAGES', `stages: ${why}`); };
  if (stages.length < 1 || stages.length > MAX_STAGES) bad(`1..${MAX_STAGES} stages`);
  let lastPercent = 0;
  stages.forEach((s, i) => {
    if ((s.count === undefined) === (s.percent === undefined)) bad(`stage ${i + 1} needs a count or a percent, not both`);
    if (s.count !== undefined && (!Number.isInteger(s.count) || s.count < 1)) bad(`stage ${i + 1}: count is a whole number ≥ 1`);
    if (s.percent !== undefined) {
      if (!(s.percent > 0 && s.percent <= 100)) bad(`stage ${i + 1}: percent in (0, 100]`);
      if (s.percent < lastPercent) bad(`stage ${i + 1}: percentages are cumulative and may not shrink`);
      lastPercent = s.percent;
    }
    if (!(s.soakS >= 0 && s.soakS <= 7 * 86_400)) bad(`stage ${i + 1}: soak 0..7 days`);
    if (!Number.isInteger(s.maxFailures) || s.maxFailures < 0) bad(`stage ${i + 1}: maxFailures ≥ 0`);
    if (s.maxFailureRate !== null && !(s.maxFailureRate >= 0 && s.maxFailureRate <= 1)) bad(`stage ${i + 1}: maxFailureRate in [0, 1]`);
  });
  if (stages[stages.length - 1]!.percent !== 100) bad('the last stage must be percent 100 (the whole group)');
}

/** Cumulative member counts per stage: a count adds devices, a percent reaches that share of the group. */
export function stageEnds(stages: readonly StageSpec[], total: number): number[] {
  const ends: number[] = [];
  let end = 0;
  for (const s of stages) {
    end = s.count !== undefined ? Math.min(total, end + s.count) : Math.max(end, Math.min(total, Math.ceil((total * s.percent!) / 100)));
    ends.push(end);
  }
  return ends;
}

export const stageStart = (r: RolloutRecord, stage = r.stage): number => (stage === 0 ? 0 : r.stageEnds[stage - 1]!);
/** Members with ord below this may install (every stage is open once the rollout completed). */
export const openUpTo = (r: RolloutRecord): number => (r.state === 'completed' ? r.total : r.stageEnds[r.stage] ?? r.total);

const sum = (side: StageCounts['online'], states: readonly MemberState[]): number => states.reduce((a, s) => a + (side[s] ?? 0), 0);

export type StageDecision =
  | { readonly kind: 'wait'; readonly why: string }
  | { readonly kind: 'advance' }
  | { readonly kind: 'complete' }
  | { readonly kind: 'halt'; readonly reason: string };

/**
 * The current stage of a running rollout, from its members' counts: halt when failures pass the
 * stage's threshold; advance (or complete) when no online member is still working (in the first
 * stage also: at least one passed its soak). Offline members do not hold a stage back: they keep
 * their assignment and catch up when they return.
 */
export function evaluateStage(r: RolloutRecord, counts: StageCounts): StageDecision {
  if (r.state !== 'running') return { kind: 'wait', why: r.state };
  const spec = r.stages[r.stage]!;
  const size = counts.total;
  const last = r.stage >= r.stages.length - 1;
  if (size === 0) return last ? { kind: 'complete' } : { kind: 'advance' };
  const failures = sum(counts.online, FAILED_MEMBER_STATES) + sum(counts.offline, FAILED_MEMBER_STATES);
  if (failures > spec.maxFailures || (spec.maxFailureRate !== null && failures / size > spec.maxFailureRate)) {
    return { kind: 'halt', reason: `stage ${r.stage + 1}: ${failures} of ${size} devices failed (threshold: more than ${spec.maxFailures}${spec.maxFailureRate !== null ? ` or ${Math.round(spec.maxFailureRate * 100)} %` : ''})` };
  }
  const pendingOnline = sum(counts.online, PENDING_MEMBER_STATES);
  const healthy = (counts.online.healthy ?? 0) + (counts.offline.healthy ?? 0);
  if (pendingOnline > 0) return { kind: 'wait', why: `${pendingOnline} online devices still updating or soaking` };
  // The first stage must prove the release on at least one device; a later stage whose devices
  // are all offline does not hold the rollout (they catch up when they return).
  if (healthy === 0 && r.stage === 0) return { kind: 'wait', why: 'no device of the first stage is healthy after its update yet' };
  return last ? { kind: 'complete' } : { kind: 'advance' };
}

const STARTED: readonly MemberState[] = ['downloading', 'installing', 'trial', 'committed'];

/** What the device of `m` should do now (null: nothing), and why it waits when it has to. */
export function assignmentFor(r: RolloutRecord, m: RolloutMember, inWindow: boolean): { assignment: Assignment | null; waiting: string | null } {
  const base = { rolloutId: r.id, channel: r.channel, version: r.version, releaseSha256: r.releaseSha256, tufPath: `/tuf/${r.channel}`, stage: r.stage };
  if (r.state === 'aborted' || r.state === 'superseded' || r.state === 'pending-approval') return { assignment: null, waiting: r.state === 'pending-approval' ? 'the rollout waits for a second admin\'s approval' : null };
  if (m.state === 'reverting') return { assignment: { ...base, id: `${r.id}.${m.attempt}.rollback`, kind: 'rollback' }, waiting: null };
  if (!PENDING_MEMBER_STATES.includes(m.state)) return { assignment: null, waiting: null };
  const update: Assignment = { ...base, id: `${r.id}.${m.attempt}`, kind: 'update' };
  // A device that started keeps its assignment whatever happens (a trial is never cut short).
  if (STARTED.includes(m.state)) return { assignment: update, waiting: null };
  if (m.ord >= openUpTo(r)) return { assignment: null, waiting: `waits for stage ${r.stageEnds.findIndex((e) => m.ord < e) + 1}` };
  if (r.state === 'paused' || r.state === 'halted') return { assignment: null, waiting: `the rollout is ${r.state}` };
  if (!inWindow) return { assignment: null, waiting: 'outside the group\'s maintenance window' };
  return { assignment: update, waiting: null };
}

/** The member state a report moves to, or null when the report does not apply from `from`. */
export function reportTransition(from: MemberState, phase: ReportPhase, halted: boolean): MemberState | null {
  const working: readonly MemberState[] = ['waiting', 'assigned', 'downloading', 'installing', 'trial', 'deferred'];
  switch (phase) {
    case 'assigned':
      return from === 'waiting' || from === 'deferred' ? 'assigned' : null;
    case 'downloading': case 'installing': case 'trial': case 'deferred':
      return working.includes(from) ? phase : null;
    case 'committed':
      // Committed while its rollout was halted for a rollback: it is told to return at once.
      if (!working.includes(from)) return null;
      return halted ? 'reverting' : 'committed';
    case 'failed': case 'rolled-back':
      return working.includes(from) || from === 'committed' ? phase : null;
    case 'reverted':
      return from === 'reverting' ? 'reverted' : null;
  }
}

/** What a check-in says about a member on its soak: healthy once soaked, unhealthy if it failed after commit. */
export function soakTransition(r: RolloutRecord, m: RolloutMember, c: Pick<CheckinMessage, 'version' | 'health'>, now: number): { state: MemberState; reason: string | null } | null {
  if (m.state !== 'committed' || c.version !== r.version) return null;
  if (c.health === 'failed') return { state: 'unhealthy', reason: 'unhealthy after its update was committed' };
  const spec = r.stages[r.stages.findIndex((_, i) => m.ord < r.stageEnds[i]!)] ?? r.stages[r.stages.length - 1]!;
  if (c.health === 'ok' && m.committedAt !== null && now - m.committedAt >= spec.soakS * 1000) return { state: 'healthy', reason: null };
  return null;
}
