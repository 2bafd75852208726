// The agent's decisions, in pure code (DESIGN §4.6): from the persisted state and the facts of
// this moment (host state, health of the tree, the clock, configuration) to the one next step.
// The executor (agent.ts) performs the step, persists the new state, and asks again. The host
// state wins over ours: what the host step booted or settled is the truth after any crash.
import { LucidError } from '../../services/common/errors.js';
import { platformFor, ociArch } from '../shared/release/release-doc.js';
import { compareVersions } from '../shared/release/version.js';
import type { OtaHistoryEntry } from '../shared/status.js';
import type { HostState } from './slots/host-state.js';
import { otherSlot } from './slots/slot-store.js';
import { withHistory, type AgentState, type Available, type Job } from './state.js';

export interface Health {
  /** Every critical child is ready. */
  readonly criticalReady: boolean;
  /** Since when (ms) they have all been ready without interruption, or null. */
  readonly readySince: number | null;
  /** A critical child the supervisor gave up on (crash loop), as a reason. */
  readonly failed: string | null;
  /** Why not ready, for messages. */
  readonly reasons: readonly string[];
}

export interface Facts {
  readonly now: number;
  readonly version: string;
  readonly arch: string;
  readonly host: HostState | null;
  /** The trial request file names this id and the host refused it (trial.invalid). */
  readonly invalidTrialId: string | null;
  /** The trial request is still waiting for the host step (not taken yet). */
  readonly trialRequestPending: boolean;
  readonly health: Health;
  readonly selftest: { readonly state: 'idle' | 'running' | 'passed' | 'failed'; readonly reason: string | null };
  readonly config: {
    readonly canCheck: boolean;
    readonly autoInstall: boolean;
    readonly soakMs: number;
    readonly healthTimeoutMs: number;
  };
  /** When the next scheduled check is due (null: no schedule). */
  readonly nextCheckAt: number | null;
  /** When this process last asked the supervisor to stop for the switch (null: not yet). */
  readonly switchRequestedAt: number | null;
  /** A fresh job id, should this plan start one. */
  readonly newId: string;
}

export type Step =
  | { readonly kind: 'persist'; readonly state: AgentState; readonly why: string }
  | { readonly kind: 'check' }
  | { readonly kind: 'fetch' }
  | { readonly kind: 'stage' }
  | { readonly kind: 'switch' }
  | { readonly kind: 'selftest' }
  | { readonly kind: 'commit' }
  | { readonly kind: 'fail-trial'; readonly reason: string }
  | { readonly kind: 'wait'; readonly until: number | null; readonly why: string };

const entry = (job: Job, outcome: OtaHistoryEntry['outcome'], reason: string, at: number): OtaHistoryEntry => ({
  id: job.id, kind: job.kind, version: job.version, fromVersion: job.fromVersion, outcome, reason, at, source: job.source.kind,
});

const block = (state: AgentState, version: string): readonly string[] => [...new Set([...state.blocked, version])].slice(-20);

/** What the host step's state says about our job, folded into our state (null: nothing to do). */
export function reconcile(state: AgentState, f: Facts): AgentState | null {
  const host = f.host;
  if (!host) return null;
  // The host's word on the last trial wins over a history we may have written first.
  const h = host.last ? state.history.find((e) => e.id === host.last!.id) : undefined;
  if (h && host.last && h.outcome !== host.last.outcome && !(h.outcome === 'failed' && host.last.outcome === 'rolled-back')) {
    return withHistory(state, { ...h, outcome: host.last.outcome, reason: host.last.reason || h.reason });
  }
  const job = state.job;
  if (!job) return null;
  if (host.last?.id === job.id && state.phase !== 'idle') {
    const done = { ...state, phase: 'idle' as const, job: null };
    if (host.last.outcome === 'committed') {
      const reason = job.kind === 'rollback' ? `rolled back by an admin from ${job.fromVersion}` : 'passed its health gate';
      return withHistory({
        ...done, previous: { slot: otherSlot(job.slot), version: job.fromVersion },
        blocked: job.kind === 'rollback' ? block(state, job.fromVersion) : state.blocked.filter((v) => v !== job.version),
      }, entry(job, 'committed', reason, f.now));
    }
    return withHistory({ ...done, blocked: block(state, job.version) }, entry(job, 'rolled-back', host.last.reason || 'rolled back', f.now));
  }
  if ((state.phase === 'switching' || state.phase === 'staged') && host.trial === job.slot && host.trialId === job.id) {
    return { ...state, phase: 'trial', job: { ...job, trialSeenAt: f.now, error: null } };
  }
  if (state.phase === 'switching' && f.invalidTrialId === job.id) {
    return withHistory({ ...state, phase: 'idle', job: null }, entry(job, 'failed', 'the host step refused the trial: the slot was not ready', f.now));
  }
  if (state.phase === 'trial' && host.trialId !== job.id) {
    return withHistory({ ...state, phase: 'idle', job: null, blocked: block(state, job.version) }, entry(job, 'rolled-back', 'the trial ended without an outcome', f.now));
  }
  return null;
}

/** Why `release` cannot be installed here, or null. */
export function installable(available: Available, f: Facts): LucidError | null {
  const r = available.release;
  if (compareVersions(r.version, f.version) <= 0) {
    return new LucidError('OTA_ERR_DOWNGRADE', `release ${r.version} is not newer than the installed ${f.version}`, { version: r.version, installed: f.version });
  }
  if (compareVersions(f.version, r.minVersion) < 0) {
    return new LucidError('OTA_ERR_BELOW_MINIMUM', `release ${r.version} installs only over ${r.minVersion} or later; this is ${f.version}`, { minVersion: r.minVersion, installed: f.version });
  }
  try {
    platformFor(r, f.arch || ociArch());
  } catch (err) {
    return err as LucidError;
  }
  return null;
}

/** Starting an install (API or automatic): the new state, or the coded reason it cannot start. */
export function startInstall(state: AgentState, f: Facts, id: string): AgentState | LucidError {
  if (!f.host) return new LucidError('OTA_ERR_NOT_CONFIGURED', 'no slot layout here (LUCID_OTA_HOST_DIR): this appliance can check for updates but not install them');
  if (state.phase !== 'idle' || state.job || f.host.trial) return new LucidError('OTA_ERR_BUSY', `an update is in progress (${state.phase}${f.host.trial ? `, trial of ${f.host.trialVersion}` : ''})`);
  if (!state.available) return new LucidError('OTA_ERR_NOTHING_TO_INSTALL');
  const why = installable(state.available, f);
  if (why) return why;
  const slot = otherSlot(f.host.committed);
  if (f.host.release === slot) return new LucidError('OTA_ERR_SLOT_BUSY', `slot ${slot} becomes writable at the next start`);
  const r = state.available.release;
  const job: Job = {
    id, kind: 'update', version: r.version, fromVersion: f.version, source: state.available.source, release: r, slot,
    startedAt: f.now, progress: { done: 0, total: 0, transferred: 0 }, error: null, retryAt: null, attempts: 0, trialSeenAt: null,
  };
  return {
    ...state, phase: 'fetching', job,
    previous: state.previous?.slot === slot ? null : state.previous, // about to be overwritten
    blocked: state.blocked.filter((v) => v !== r.version),
  };
}

/** "Roll back to previous": boot the intact previous slot on trial. */
export function startRollback(state: AgentState, f: Facts, id: string): AgentState | LucidError {
  if (!f.host) return new LucidError('OTA_ERR_NOT_CONFIGURED', 'no slot layout here');
  if (state.phase !== 'idle' || state.job || f.host.trial) return new LucidError('OTA_ERR_BUSY', `an update is in progress (${state.phase})`);
  const prev = state.previous;
  if (!prev || prev.slot !== otherSlot(f.host.committed)) return new LucidError('OTA_ERR_NO_PREVIOUS');
  if (f.host.release === prev.slot) return new LucidError('OTA_ERR_SLOT_BUSY', `slot ${prev.slot} becomes usable at the next start`);
  const job: Job = {
    id, kind: 'rollback', version: prev.version, fromVersion: f.version, source: { kind: 'previous-slot' }, release: null, slot: prev.slot,
    startedAt: f.now, progress: { done: 0, total: 0, transferred: 0 }, error: null, retryAt: null, attempts: 0, trialSeenAt: null,
  };
  return { ...state, phase: 'staging', job };
}

export function plan(state: AgentState, f: Facts): Step {
  const reconciled = reconcile(state, f);
  if (reconciled) return { kind: 'persist', state: reconciled, why: 'host state' };
  const job = state.job;
  switch (state.phase) {
    case 'idle': {
      if (f.host && !f.host.trial && f.config.autoInstall && state.available && !state.blocked.includes(state.available.release.version) && installable(state.available, f) === null) {
        const started = startInstall(state, f, f.newId);
        if (!(started instanceof LucidError)) return { kind: 'persist', state: started, why: 'automatic install' };
      }
      if (f.config.canCheck && f.nextCheckAt !== null && f.now >= f.nextCheckAt) return { kind: 'check' };
      return { kind: 'wait', until: f.config.canCheck ? f.nextCheckAt : null, why: 'idle' };
    }
    case 'fetching':
      if (job?.retryAt && f.now < job.retryAt) return { kind: 'wait', until: job.retryAt, why: 'retry after an error' };
      return { kind: 'fetch' };
    case 'staging':
      return { kind: 'stage' };
    case 'staged':
      return { kind: 'switch' };
    case 'switching':
      // Asked already in this process: the supervisor is stopping us (or the host has yet to run).
      if (f.switchRequestedAt !== null && f.now - f.switchRequestedAt < 30_000) return { kind: 'wait', until: f.switchRequestedAt + 30_000, why: 'waiting for the restart' };
      return { kind: 'switch' };
    case 'trial': {
      if (!job) return { kind: 'persist', state: { ...state, phase: 'idle' }, why: 'trial without a job' };
      if (job.error) {
        if (f.switchRequestedAt !== null && f.now - f.switchRequestedAt < 30_000) return { kind: 'wait', until: f.switchRequestedAt + 30_000, why: 'waiting for the rollback restart' };
        return { kind: 'fail-trial', reason: job.error.message };
      }
      if (f.health.failed) return { kind: 'fail-trial', reason: f.health.failed };
      if (f.selftest.state === 'failed') return { kind: 'fail-trial', reason: `self-test failed: ${f.selftest.reason ?? 'unknown'}` };
      const since = job.trialSeenAt ?? f.now;
      if (!f.health.criticalReady && f.now - since > f.config.healthTimeoutMs) {
        return { kind: 'fail-trial', reason: `not healthy within ${Math.round(f.config.healthTimeoutMs / 1000)} s: ${f.health.reasons.join('; ') || 'critical children not ready'}` };
      }
      if (f.selftest.state === 'idle') return { kind: 'selftest' };
      if (f.health.criticalReady && f.health.readySince !== null && f.now - f.health.readySince >= f.config.soakMs && f.selftest.state === 'passed') {
        return { kind: 'commit' };
      }
      const soakEnd = f.health.readySince !== null ? f.health.readySince + f.config.soakMs : f.now + 1000;
      return { kind: 'wait', until: Math.min(Math.max(soakEnd, f.now + 50), f.now + 1000), why: 'trial: health gate' };
    }
  }
}
