// The agent's pure planner: what the host state tells us after a crash or a restart, the trial's
// health gate, and which installs are allowed (no downgrade, the release's minimum version, this
// device's architecture). No I/O: facts in, one step out.
import { describe, expect, it } from 'vitest';
import { plan, reconcile, startInstall, startRollback, type Facts } from '../../../ota/client/planner.js';
import { initialState, type AgentState, type Job } from '../../../ota/client/state.js';
import type { HostState } from '../../../ota/client/slots/host-state.js';
import type { ReleaseDoc } from '../../../ota/shared/release/release-doc.js';

const release = (version: string, minVersion = '0.0.0', archs = ['amd64', 'arm64']): ReleaseDoc => ({
  schema: 'lucid-release/1', channel: 'stable', version, minVersion, created: '2026-01-01T00:00:00Z',
  image: { mediaType: 'application/vnd.oci.image.index.v1+json', digest: `sha256:${'1'.repeat(64)}`, size: 100 },
  source: { registry: 'http://r', repository: 'lucid/appliance' },
  platforms: archs.map((a) => ({
    architecture: a, os: 'linux', manifest: { digest: `sha256:${'2'.repeat(64)}`, size: 10 }, config: { digest: `sha256:${'3'.repeat(64)}`, size: 10 },
    layers: [{ digest: `sha256:${'4'.repeat(64)}`, size: 5, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }], downloadBytes: 5, unpackedBytes: 10,
  })),
});

const host = (over: Partial<HostState> = {}): HostState => ({
  seq: 1, committed: 'a', trial: null, trialId: null, trialVersion: null, boots: 0, maxBoots: 3, trialStarted: 0, last: null, release: null, ...over,
});

const baseFacts = (over: Partial<Facts> = {}): Facts => ({
  now: 100_000, version: '1.0.0', arch: 'amd64', host: host(), invalidTrialId: null, trialRequestPending: false,
  health: { criticalReady: true, readySince: 90_000, failed: null, reasons: [] }, selftest: { state: 'idle', reason: null },
  config: { canCheck: true, autoInstall: false, soakMs: 5000, healthTimeoutMs: 60_000 },
  nextCheckAt: null, switchRequestedAt: null, newId: 'new-1', ...over,
});

const facts = baseFacts;

const job = (over: Partial<Job> = {}): Job => ({
  id: 'j1', kind: 'update', version: '2.0.0', fromVersion: '1.0.0', source: { kind: 'online' }, release: release('2.0.0'), slot: 'b',
  startedAt: 1, progress: { done: 0, total: 0, transferred: 0 }, error: null, retryAt: null, attempts: 0, trialSeenAt: null, ...over,
});

const withJob = (phase: AgentState['phase'], j: Job = job()): AgentState => ({ ...initialState(), phase, job: j });
const available = (version: string, minVersion?: string, archs?: string[]): AgentState['available'] => ({ release: release(version, minVersion, archs), source: { kind: 'online' }, foundAt: 1, missingBytes: 5 });

describe('reconcile with the host state', () => {
  it('a trial the host committed: history, previous version, idle', () => {
    const s = reconcile(withJob('trial'), facts({ host: host({ committed: 'b', last: { id: 'j1', outcome: 'committed', reason: '', version: '2.0.0', at: 5 } }) }))!;
    expect(s).toMatchObject({ phase: 'idle', job: null, previous: { slot: 'a', version: '1.0.0' } });
    expect(s.history[0]).toMatchObject({ id: 'j1', outcome: 'committed', version: '2.0.0' });
  });

  it('a trial the host rolled back: the host\'s reason, and the version is not installed again automatically', () => {
    const s = reconcile(withJob('switching'), facts({ host: host({ last: { id: 'j1', outcome: 'rolled-back', reason: 'no commit after 3 boots', version: '2.0.0', at: 5 } }) }))!;
    expect(s.history[0]).toMatchObject({ outcome: 'rolled-back', reason: 'no commit after 3 boots' });
    expect(s.blocked).toContain('2.0.0');
  });

  it('switching, and the host booted our slot on trial: we are the version on trial', () => {
    const s = reconcile(withJob('switching'), facts({ now: 777, host: host({ trial: 'b', trialId: 'j1', boots: 1 }) }))!;
    expect(s.phase).toBe('trial');
    expect(s.job?.trialSeenAt).toBe(777);
  });

  it('the host refused the trial request, or a trial vanished: the job ends with a reason', () => {
    expect(reconcile(withJob('switching'), facts({ invalidTrialId: 'j1' }))!.history[0]).toMatchObject({ outcome: 'failed' });
    expect(reconcile(withJob('trial'), facts())!.history[0]).toMatchObject({ outcome: 'rolled-back', reason: 'the trial ended without an outcome' });
  });

  it('the host\'s outcome corrects a history written first (a commit the host never saw)', () => {
    const s = { ...initialState(), history: [{ id: 'j1', kind: 'update' as const, version: '2.0.0', fromVersion: '1.0.0', outcome: 'committed' as const, reason: 'passed', at: 1, source: 'online' as const }] };
    const r = reconcile(s, facts({ host: host({ last: { id: 'j1', outcome: 'rolled-back', reason: 'no commit within 600 s', version: '2.0.0', at: 2 } }) }))!;
    expect(r.history[0]).toMatchObject({ outcome: 'rolled-back', reason: 'no commit within 600 s' });
    expect(reconcile(r, facts({ host: host({ last: { id: 'j1', outcome: 'rolled-back', reason: 'x', version: '2.0.0', at: 2 } }) }))).toBeNull();
  });
});

describe('the trial\'s health gate', () => {
  const trial = withJob('trial', job({ trialSeenAt: 80_000 }));
  const onTrial = host({ trial: 'b', trialId: 'j1', boots: 1 });
  const facts = (over: Partial<Facts> = {}): Facts => baseFacts({ host: onTrial, ...over });
  it('commits after the soak with every critical child ready and the self-test passed', () => {
    expect(plan(trial, facts({ selftest: { state: 'passed', reason: null } })).kind).toBe('commit');
    // Not before the soak is over, not before the self-test says so.
    expect(plan(trial, facts({ selftest: { state: 'passed', reason: null }, health: { criticalReady: true, readySince: 98_000, failed: null, reasons: [] } })).kind).toBe('wait');
    expect(plan(trial, facts({ selftest: { state: 'running', reason: null } })).kind).toBe('wait');
    expect(plan(trial, facts()).kind).toBe('selftest');
  });

  it('fails on a failed critical child, a failed self-test, or no health within the timeout', () => {
    expect(plan(trial, facts({ health: { criticalReady: false, readySince: null, failed: 'core failed: crash loop', reasons: [] } }))).toEqual({ kind: 'fail-trial', reason: 'core failed: crash loop' });
    expect(plan(trial, facts({ selftest: { state: 'failed', reason: 'addon:usb' } }))).toEqual({ kind: 'fail-trial', reason: 'self-test failed: addon:usb' });
    const slow = plan(trial, facts({ now: 150_000, health: { criticalReady: false, readySince: null, failed: null, reasons: ['core is starting'] } }));
    expect(slow).toEqual({ kind: 'fail-trial', reason: 'not healthy within 60 s: core is starting' });
  });

  it('once failed, asks for the restart again if it is still running after 30 s', () => {
    const failed = withJob('trial', job({ error: { code: 'OTA_ERR_HEALTH_GATE', message: 'x' } }));
    expect(plan(failed, facts({ switchRequestedAt: 99_000 })).kind).toBe('wait');
    expect(plan(failed, facts({ switchRequestedAt: 60_000 }))).toEqual({ kind: 'fail-trial', reason: 'x' });
  });
});

describe('starting installs', () => {
  const idle = { ...initialState(), available: available('2.0.0') };
  it('refuses without slots, while busy, with nothing newer, below the minimum, for another architecture', () => {
    expect((startInstall(idle, facts({ host: null }), 'x') as { code: string }).code).toBe('OTA_ERR_NOT_CONFIGURED');
    expect((startInstall(withJob('fetching'), facts(), 'x') as { code: string }).code).toBe('OTA_ERR_BUSY');
    expect((startInstall(idle, facts({ host: host({ trial: 'b' }) }), 'x') as { code: string }).code).toBe('OTA_ERR_BUSY');
    expect((startInstall(initialState(), facts(), 'x') as { code: string }).code).toBe('OTA_ERR_NOTHING_TO_INSTALL');
    expect((startInstall({ ...idle, available: available('1.0.0') }, facts(), 'x') as { code: string }).code).toBe('OTA_ERR_DOWNGRADE');
    expect((startInstall({ ...idle, available: available('0.9.0') }, facts(), 'x') as { code: string }).code).toBe('OTA_ERR_DOWNGRADE');
    expect((startInstall({ ...idle, available: available('3.0.0', '2.0.0') }, facts(), 'x') as { code: string }).code).toBe('OTA_ERR_BELOW_MINIMUM');
    expect((startInstall({ ...idle, available: available('2.0.0', '0.0.0', ['arm64']) }, facts(), 'x') as { code: string }).code).toBe('OTA_ERR_NO_PLATFORM');
    expect((startInstall(idle, facts({ host: host({ release: 'b' }) }), 'x') as { code: string }).code).toBe('OTA_ERR_SLOT_BUSY');
  });

  it('writes into the slot that does not run, forgetting a previous version kept there', () => {
    const s = startInstall({ ...idle, previous: { slot: 'b', version: '0.9.0' }, blocked: ['2.0.0'] }, facts(), 'id-7') as AgentState;
    expect(s).toMatchObject({ phase: 'fetching', previous: null, blocked: [], job: { id: 'id-7', slot: 'b', version: '2.0.0', fromVersion: '1.0.0' } });
    const fromB = startInstall(idle, facts({ host: host({ committed: 'b' }) }), 'id-8') as AgentState;
    expect(fromB.job?.slot).toBe('a');
  });

  it('installs automatically only when enabled and the version is not blocked', () => {
    expect(plan(idle, facts({ config: { canCheck: true, autoInstall: true, soakMs: 1, healthTimeoutMs: 1 } })).kind).toBe('persist');
    expect(plan({ ...idle, blocked: ['2.0.0'] }, facts({ config: { canCheck: true, autoInstall: true, soakMs: 1, healthTimeoutMs: 1 } })).kind).toBe('wait');
    expect(plan(idle, facts()).kind).toBe('wait');
    expect(plan(idle, facts({ nextCheckAt: 50 })).kind).toBe('check');
  });

  it('rolls back only to an intact previous version in the other slot', () => {
    expect((startRollback(initialState(), facts(), 'r') as { code: string }).code).toBe('OTA_ERR_NO_PREVIOUS');
    expect((startRollback({ ...initialState(), previous: { slot: 'a', version: '0.9.0' } }, facts(), 'r') as { code: string }).code).toBe('OTA_ERR_NO_PREVIOUS');
    const s = startRollback({ ...initialState(), previous: { slot: 'b', version: '0.9.0' } }, facts(), 'r') as AgentState;
    expect(s).toMatchObject({ phase: 'staging', job: { kind: 'rollback', version: '0.9.0', slot: 'b', source: { kind: 'previous-slot' } } });
  });
});

describe('resuming after a kill', () => {
  it('picks up each phase where it was', () => {
    expect(plan(withJob('fetching'), facts()).kind).toBe('fetch');
    expect(plan(withJob('fetching', job({ retryAt: 200_000 })), facts()).kind).toBe('wait');
    expect(plan(withJob('staging'), facts()).kind).toBe('stage');
    expect(plan(withJob('staged'), facts()).kind).toBe('switch');
    expect(plan(withJob('switching'), facts()).kind).toBe('switch');
    expect(plan(withJob('switching'), facts({ switchRequestedAt: 99_000 })).kind).toBe('wait');
  });
});
