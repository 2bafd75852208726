// What the agent reports to the fleet for an assignment, read from its own persisted state
// (ota/client/fleet/phase.ts): the running job's phase, or the outcome its history keeps.
import { describe, expect, it } from 'vitest';
import { phaseOf } from '../../../ota/client/fleet/phase.js';
import { initialState, withHistory, type AgentState, type Job } from '../../../ota/client/state.js';
import type { FleetAssignmentRecord } from '../../../ota/client/fleet/enrollment.js';

const rec = (kind: 'update' | 'rollback', phase: FleetAssignmentRecord['phase'] = 'downloading'): FleetAssignmentRecord => ({ id: 'as1', rolloutId: 'r1', kind, version: '2.0.0', jobId: 'job-1', phase, reason: null, reported: null });
const job = (kind: 'update' | 'rollback'): Job => ({
  id: 'job-1', kind, version: kind === 'update' ? '2.0.0' : '1.0.0', fromVersion: kind === 'update' ? '1.0.0' : '2.0.0', source: { kind: 'online' }, release: null, slot: 'b',
  startedAt: 0, progress: { done: 0, total: 0, transferred: 0 }, error: null, retryAt: null, attempts: 0, trialSeenAt: null,
});
const at = (phase: AgentState['phase'], kind: 'update' | 'rollback' = 'update'): AgentState => ({ ...initialState(), phase, job: job(kind) });
const done = (outcome: 'committed' | 'rolled-back' | 'failed', kind: 'update' | 'rollback' = 'update'): AgentState =>
  withHistory(initialState(), { id: 'job-1', kind, version: '2.0.0', fromVersion: '1.0.0', outcome, reason: outcome === 'committed' ? 'passed its health gate' : 'self-test failed: x', at: 1, source: 'online' });

describe('fleet report phase from the agent state', () => {
  it('an update: downloading → installing → trial → committed, or rolled-back/failed with the reason', () => {
    expect(phaseOf(rec('update'), at('fetching')).phase).toBe('downloading');
    expect(phaseOf(rec('update'), at('staging')).phase).toBe('installing');
    expect(phaseOf(rec('update'), at('staged')).phase).toBe('installing');
    expect(phaseOf(rec('update'), at('switching')).phase).toBe('trial');
    expect(phaseOf(rec('update'), at('trial')).phase).toBe('trial');
    expect(phaseOf(rec('update'), done('committed'))).toEqual({ phase: 'committed', reason: null });
    expect(phaseOf(rec('update'), done('rolled-back'))).toEqual({ phase: 'rolled-back', reason: 'self-test failed: x' });
    expect(phaseOf(rec('update'), done('failed'))).toEqual({ phase: 'failed', reason: 'self-test failed: x' });
  });

  it('a rollback the fleet asked for reports nothing in between, then reverted', () => {
    expect(phaseOf(rec('rollback', 'assigned'), at('staging', 'rollback')).phase).toBe('assigned');
    expect(phaseOf(rec('rollback', 'assigned'), at('trial', 'rollback')).phase).toBe('assigned');
    expect(phaseOf(rec('rollback', 'assigned'), done('committed', 'rollback')).phase).toBe('reverted');
  });

  it('another job, or none yet: the recorded phase stays', () => {
    const other = { ...at('fetching'), job: { ...job('update'), id: 'job-2' } };
    expect(phaseOf(rec('update', 'downloading'), other).phase).toBe('downloading');
    expect(phaseOf(rec('update', 'trial'), initialState()).phase).toBe('trial');
  });
});
