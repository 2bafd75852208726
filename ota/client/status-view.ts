// The status document (ota/shared/status.ts) from the agent's state and facts. Pure.
import { platformFor } from '../shared/release/release-doc.js';
import type { OtaReleaseSummary, OtaStatus } from '../shared/status.js';
import type { Facts } from './planner.js';
import { HostFiles } from './slots/host-state.js';
import type { AgentState, Available } from './state.js';
import type { AgentConfig } from './steps.js';

function summary(a: Available, arch: string): OtaReleaseSummary {
  let downloadBytes = 0;
  try {
    downloadBytes = platformFor(a.release, arch).downloadBytes;
  } catch { /* no image for this platform: 0 */ }
  return {
    version: a.release.version, channel: a.release.channel, minVersion: a.release.minVersion, created: a.release.created,
    ...(a.release.notes ? { notes: a.release.notes } : {}),
    source: a.source.kind === 'bundle' ? 'bundle' : 'online', downloadBytes, missingBytes: a.missingBytes,
  };
}

export function statusOf(
  state: AgentState, f: Facts, config: AgentConfig, trust: { clock: number; floor: number } | null,
  progress: { done: number; total: number } | null = null,
): OtaStatus {
  const job = state.job;
  const host = f.host;
  const onTrial = state.phase === 'trial' && job !== null && host?.trial === job.slot;
  return {
    version: config.version,
    slot: host ? HostFiles.running(host) : null,
    slotsAvailable: host !== null,
    channel: config.channel,
    online: config.url !== null,
    intervalS: config.intervalMs === null ? null : Math.round(config.intervalMs / 1000),
    autoInstall: config.autoInstall,
    phase: state.phase,
    job: job === null ? null : {
      id: job.id, kind: job.kind, version: job.version, fromVersion: job.fromVersion, source: job.source.kind, slot: job.slot, startedAt: job.startedAt,
      progress: progress && state.phase === 'fetching' ? { ...progress, transferred: job.progress.transferred } : job.progress,
      error: job.error,
    },
    trial: onTrial ? {
      slot: job.slot, version: job.version, boots: host.boots, maxBoots: host.maxBoots, soakS: Math.round(f.config.soakMs / 1000),
      healthySinceS: f.health.readySince === null ? null : Math.max(0, Math.round((f.now - f.health.readySince) / 1000)),
      selftest: f.selftest.state === 'passed' ? 'passed' : f.selftest.state === 'failed' ? 'failed' : 'pending',
    } : null,
    lastCheck: state.lastCheck,
    available: state.available ? summary(state.available, config.arch) : null,
    previous: state.previous,
    history: state.history,
    trustTime: trust,
  };
}
