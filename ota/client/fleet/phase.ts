// Where the agent is with a fleet assignment, from its own persisted state: the running job's
// phase, or the outcome its history keeps (which the host step's word has already corrected).
import type { ReportPhase } from '../../shared/fleet-protocol.js';
import type { AgentState } from '../state.js';
import type { FleetAssignmentRecord } from './enrollment.js';

export function phaseOf(c: FleetAssignmentRecord, st: AgentState): { phase: ReportPhase; reason: string | null } {
  if (st.job && st.job.id === c.jobId) {
    switch (st.phase) {
      case 'fetching': return { phase: 'downloading', reason: st.job.error ? `${st.job.error.code}: ${st.job.error.message}`.slice(0, 300) : null };
      case 'staging': case 'staged': return { phase: c.kind === 'rollback' ? c.phase : 'installing', reason: null };
      case 'switching': case 'trial': return { phase: c.kind === 'rollback' ? c.phase : 'trial', reason: null };
      default: return { phase: c.phase, reason: c.reason };
    }
  }
  const h = st.history.find((e) => e.id === c.jobId);
  if (!h) return { phase: c.phase, reason: c.reason };
  if (h.outcome === 'committed') return { phase: c.kind === 'rollback' ? 'reverted' : 'committed', reason: c.kind === 'rollback' ? 'rolled back as the fleet asked' : null };
  return { phase: h.outcome === 'rolled-back' ? 'rolled-back' : 'failed', reason: h.reason };
}
