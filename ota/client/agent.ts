// The OTA agent (the supervisor's `ota-agent` child): a loop that gathers facts, asks the pure
// planner for the next step, performs it and persists the new state before the next one. Steps
// that touch the network or disks live in steps.ts; this file owns the loop, the wake-ups
// (timers, API commands, supervisor snapshots) and the in-memory facts.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../services/common/fs-atomic.js';
import type { Logger } from '../../services/common/log.js';
import { LucidError } from '../../services/common/errors.js';
import type { SupervisorSnapshot } from '../../services/common/ipc.js';
import type { OtaStatus } from '../shared/status.js';
import { HealthTracker, runSelftest, type SelftestResult } from './health.js';
import { plan, startInstall, startRollback, type Facts, type Step } from './planner.js';
import { HostFiles, HOST_ID } from './slots/host-state.js';
import { StateStore, type AgentState, type Available } from './state.js';
import { statusOf } from './status-view.js';
import { AgentSteps, type AgentConfig, type SupervisorPort } from './steps.js';

export type { AgentConfig, SupervisorPort } from './steps.js';

export interface AgentDeps {
  readonly log: Logger;
  readonly config: AgentConfig;
  readonly supervisor: SupervisorPort | null;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly selftest?: () => Promise<SelftestResult>;
  /** Test hook (appliance/entries/shared/test-crash.ts): a SIGKILL of the agent at a named point. */
  readonly crashPoint?: (point: string) => void;
}

export class Agent {
  private state: AgentState | null = null;
  private readonly store: StateStore;
  private readonly host: HostFiles | null;
  private readonly steps: AgentSteps;
  private readonly health: HealthTracker;
  private readonly now: () => number;
  private readonly random: () => number;
  private stopped = false;
  private dirty = false;
  private wake: (() => void) | null = null;
  private nextCheckAt: number | null = null;
  private switchRequestedAt: number | null = null;
  private selftest: Facts['selftest'] = { state: 'idle', reason: null };
  private loop: Promise<void> | null = null;
  private busy: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<(s: AgentState) => void>();
  /** Fleet mode (ota/client/fleet), loaded with import() only when configured. */
  fleet: { status(): unknown; stop(): Promise<void> } | null = null;

  constructor(private readonly deps: AgentDeps) {
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
    this.store = new StateStore(`${deps.config.otaDir}/state.json`);
    this.host = deps.config.hostDir ? new HostFiles(deps.config.hostDir, deps.config.dataDir) : null;
    this.health = new HealthTracker(this.now);
    this.steps = new AgentSteps({ ...deps, now: this.now, host: this.host, onProgress: () => this.poke() });
  }

  async start(): Promise<void> {
    await this.singleInstance();
    this.state = await this.store.read();
    const c = this.deps.config;
    // The first check comes soon after boot (jittered so a fleet does not ask at once).
    if ((c.url || c.bundleDir) && c.intervalMs !== null) this.nextCheckAt = this.now() + Math.round(this.random() * Math.min(c.intervalMs, 10_000));
    this.deps.supervisor?.onSnapshot((s) => this.onSnapshot(s));
    const snap = this.deps.supervisor?.snapshot;
    if (snap) this.health.update(snap);
    await this.steps.showUpdating(this.state.phase);
    this.loop = this.run();
  }

  /**
   * Stops without waiting long for a step in flight: every step starts from a persisted state
   * and resumes after a restart, so a download or an unpack is simply abandoned. (A stopping
   * agent that lingered would race the next one on the same files.)
   */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.fleet?.stop().catch(() => {});
    this.poke();
    await Promise.race([Promise.all([this.loop?.catch(() => {}), this.busy.catch(() => {})]), new Promise((r) => setTimeout(r, 1000).unref())]);
  }

  /**
   * One agent per data volume. Under systemd the unit's cgroup is killed with its supervisor;
   * without (a killed supervisor's child that has not noticed yet) the previous agent may still
   * run for a moment: wait for it, and end it if it lingers.
   */
  private async singleInstance(): Promise<void> {
    const file = join(this.deps.config.otaDir, 'agent.pid');
    const other = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    const alive = (): boolean => {
      try {
        return readFileSync(`/proc/${other}/cmdline`, 'utf8').includes('ota-agent');
      } catch {
        return false;
      }
    };
    if (Number.isSafeInteger(other) && other > 0 && other !== process.pid && alive()) {
      this.deps.log.warn({ pid: other }, 'another ota agent is still running: waiting for it');
      const until = this.now() + 15_000;
      while (alive() && this.now() < until) await new Promise((r) => setTimeout(r, 100));
      if (alive()) try { process.kill(other, 'SIGKILL'); } catch { /* gone */ }
    }
    await mkdir(this.deps.config.otaDir, { recursive: true });
    await writeFileAtomic(file, `${process.pid}\n`);
  }

  private onSnapshot(s: SupervisorSnapshot): void {
    const before = this.health.current;
    const after = this.health.update(s);
    if (before.criticalReady !== after.criticalReady || before.failed !== after.failed) this.poke();
  }

  private poke(): void {
    this.dirty = true;
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Until `until` (null: until poked); returns at once if something changed since the last plan. */
  private sleep(until: number | null): Promise<void> {
    if (this.dirty || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = until === null ? null : setTimeout(() => { this.wake = null; resolve(); }, Math.max(0, until - this.now()));
      this.wake = () => { if (timer) clearTimeout(timer); resolve(); };
    });
  }

  async facts(): Promise<Facts> {
    const c = this.deps.config;
    const host = this.host ? await this.host.state() : null;
    const req = this.host ? await this.host.trialRequest() : { pending: null, invalid: null };
    return {
      now: this.now(), version: c.version, arch: c.arch, host,
      invalidTrialId: req.invalid?.['id'] ?? null, trialRequestPending: req.pending !== null,
      health: this.health.current, selftest: this.selftest,
      config: { canCheck: Boolean(c.url || c.bundleDir) && c.intervalMs !== null, autoInstall: c.autoInstall, soakMs: c.soakMs, healthTimeoutMs: c.healthTimeoutMs },
      nextCheckAt: this.nextCheckAt, switchRequestedAt: this.switchRequestedAt, newId: this.newId(this.state?.available?.release.version ?? 'job'),
    };
  }

  private newId(version: string): string {
    const id = `${version.replace(/[^A-Za-z0-9._+-]/g, '_').slice(0, 60)}-${randomBytes(4).toString('hex')}`;
    return HOST_ID.test(id) ? id : `job-${randomBytes(4).toString('hex')}`;
  }

  private async persist(next: AgentState): Promise<void> {
    const before = this.state?.phase;
    this.state = await this.store.write(next);
    for (const l of this.listeners) l(this.state);
    if (before !== next.phase) {
      this.deps.log.info({ from: before, to: next.phase, job: next.job?.id, version: next.job?.version }, 'ota state');
      await this.steps.showUpdating(next.phase);
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let until: number | null | undefined;
      await this.serial(async () => {
        this.dirty = false;
        const facts = await this.facts();
        const step = plan(this.state!, facts);
        if (step.kind === 'wait') { until = step.until; return; }
        try {
          until = await this.perform(step, facts);
        } catch (err) {
          this.deps.log.warn({ err, step: step.kind }, 'ota step failed');
          const next = this.steps.afterError(this.state!, step, err);
          if (next) await this.persist(next);
          else until = this.now() + 5000;
        }
      });
      if (until !== undefined) await this.sleep(until);
    }
  }

  /** One step (never 'wait'); returns a time to sleep until, if the step wants a pause. */
  private async perform(step: Exclude<Step, { kind: 'wait' }>, f: Facts): Promise<number | undefined> {
    const s = this.state!;
    switch (step.kind) {
      case 'persist': await this.persist(step.state); return undefined;
      case 'check': await this.check(); return undefined;
      case 'fetch': await this.persist(await this.steps.fetch(s)); return undefined;
      case 'stage': await this.persist(await this.steps.stage(s, f)); return undefined;
      case 'switch': {
        const next = await this.steps.switchSlots(s, f, () => { this.switchRequestedAt = this.now(); });
        if (next) { await this.persist(next); return undefined; }
        return this.now() + 2000; // update locks busy: try again shortly
      }
      case 'selftest': {
        this.selftest = { state: 'running', reason: null };
        void (this.deps.selftest ?? (() => runSelftest(this.deps.config.selftestEntry, this.deps.config.selftestEnv)))().then((r) => {
          this.selftest = { state: r.ok ? 'passed' : 'failed', reason: r.reason };
          this.deps.log.info({ ok: r.ok, reason: r.reason }, 'trial self-test');
          this.poke();
        });
        return undefined;
      }
      case 'commit': await this.persist(await this.steps.commit(s)); return undefined;
      case 'fail-trial': await this.persist(await this.steps.failTrial(s, step.reason, () => { this.switchRequestedAt = this.now(); })); return undefined;
    }
  }

  private async check(): Promise<void> {
    const c = this.deps.config;
    const next = await this.steps.check(this.state!);
    if (c.intervalMs !== null) this.nextCheckAt = this.now() + Math.round(c.intervalMs * (0.9 + 0.2 * this.random()));
    await this.persist(next);
  }

  // ── API commands (from core, through the control socket) ─────────────────────────────────

  async status(): Promise<OtaStatus> {
    const f = await this.facts();
    const s = statusOf(this.state!, f, this.deps.config, await this.steps.trustView(), this.steps.progress);
    return this.fleet ? { ...s, fleet: this.fleet.status() as OtaStatus['fleet'] } : s;
  }

  // ── Fleet mode's hooks (ota/client/fleet/fleet-client.ts) ─────────────────────────────────

  get current(): AgentState { return this.state!; }
  get stepsForFleet(): AgentSteps { return this.steps; }
  onState(listener: (s: AgentState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  healthNow(): Facts['health'] { return this.health.current; }

  /**
   * Installs what the fleet assigned through the same path as any update: `verify` runs the TUF
   * check (the fleet's mirror, the device's own root) and returns the signed release, which then
   * goes through startInstall exactly like a release found by a check. Returns the job id.
   */
  async installVerified(verify: () => Promise<Available>): Promise<string> {
    return this.serial(async () => {
      if (this.state!.phase !== 'idle') throw new LucidError('OTA_ERR_BUSY', `an update is in progress (${this.state!.phase})`);
      const available = await verify();
      const next = startInstall({ ...this.state!, available }, await this.facts(), this.newId(available.release.version));
      if (next instanceof LucidError) throw next;
      await this.persist(next);
      this.poke();
      return next.job!.id;
    });
  }

  /** "Roll back to previous" on the fleet's word; returns the job id. */
  async rollbackJob(): Promise<string> {
    await this.rollback();
    return this.state!.job!.id;
  }

  /** Runs a check now (waits for it) and returns the status. */
  async checkNow(): Promise<OtaStatus> {
    if (!this.deps.config.url && !this.deps.config.bundleDir) throw new LucidError('OTA_ERR_NOT_CONFIGURED', 'no release repository (LUCID_OTA_URL) and no bundle folder (LUCID_OTA_BUNDLE_DIR) are configured');
    await this.serial(async () => {
      if (this.state!.phase !== 'idle') throw new LucidError('OTA_ERR_BUSY', `an update is in progress (${this.state!.phase})`);
      await this.check();
    });
    this.poke();
    return this.status();
  }

  async install(): Promise<OtaStatus> {
    await this.serial(async () => {
      const next = startInstall(this.state!, await this.facts(), this.newId(this.state!.available?.release.version ?? 'job'));
      if (next instanceof LucidError) throw next;
      await this.persist(next);
    });
    this.poke();
    return this.status();
  }

  async rollback(): Promise<OtaStatus> {
    await this.serial(async () => {
      const next = startRollback(this.state!, await this.facts(), this.newId(`rollback-${this.state!.previous?.version ?? 'x'}`));
      if (next instanceof LucidError) throw next;
      await this.persist(next);
    });
    this.poke();
    return this.status();
  }

  /** A bundle file (uploaded or given by path): verified, offered, and installed when asked. */
  async bundle(path: string, install: boolean): Promise<OtaStatus> {
    await this.serial(async () => {
      if (this.state!.phase !== 'idle') throw new LucidError('OTA_ERR_BUSY', `an update is in progress (${this.state!.phase})`);
      const next = await this.steps.offerBundle(this.state!, path);
      await this.persist(next);
      if (install) {
        const started = startInstall(this.state!, await this.facts(), this.newId(next.available?.release.version ?? 'bundle'));
        if (started instanceof LucidError) throw started;
        await this.persist(started);
        // Recorded (fsynced), not yet answered: core must keep the bundle (services/api/routes/ota.ts).
        this.deps.crashPoint?.('bundle-install-recorded');
      }
    });
    this.poke();
    return this.status();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.busy.then(fn, fn);
    this.busy = run.catch(() => {});
    return run;
  }
}
