// The agent's steps at the edge: checking, fetching, staging, switching, committing, failing a
// trial. Each takes the current state and returns the next one for the agent to persist; none
// decides what comes next (planner.ts does).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Logger } from '../../services/common/log.js';
import { LucidError, errnoCode } from '../../services/common/errors.js';
import type { RequestMap, RequestOp, SupervisorSnapshot } from '../../services/common/ipc.js';
import { platformFor } from '../shared/release/release-doc.js';
import { compareVersions } from '../shared/release/version.js';
import type { ImageConfig } from '../shared/oci/index.js';
import type { OtaError, OtaPhase } from '../shared/status.js';
import type { CheckerDeps } from './checker.js';
import { BlobStore, requireSpace } from './fetch/blob-store.js';
import type { FetchProgress } from './fetch/fetch-image.js';
import type { ImageSource } from './fetch/sources.js';
import { installable, type Facts, type Step } from './planner.js';
import type { HostFiles } from './slots/host-state.js';
import { otherSlot, SlotStore, type SlotName } from './slots/slot-store.js';
import { withHistory, type AgentState, type Available, type Job } from './state.js';
import type { Assignment } from '../shared/fleet-protocol.js';
import type { FleetHttp } from './fleet/fleet-http.js';
import { TimeFloor } from './trust/time-floor.js';

export interface AgentConfig {
  readonly dataDir: string;
  readonly otaDir: string;
  readonly hostDir: string | null;
  readonly url: string | null;
  readonly channel: string;
  readonly intervalMs: number | null;
  readonly soakMs: number;
  readonly healthTimeoutMs: number;
  readonly autoInstall: boolean;
  readonly bundleDir: string | null;
  readonly trustRootFile: string;
  /** The image's build time (seconds): where the trust-time floor starts. */
  readonly buildTime: number;
  readonly version: string;
  readonly arch: string;
  readonly reserveBytes: number;
  readonly selftestEntry: string;
  readonly selftestEnv: NodeJS.ProcessEnv;
}

export interface SupervisorPort {
  readonly snapshot: SupervisorSnapshot | null;
  onSnapshot(listener: (s: SupervisorSnapshot) => void): () => void;
  request<Op extends RequestOp>(op: Op, args: RequestMap[Op]['args']): Promise<RequestMap[Op]['result']>;
}

/** The check/install machinery, loaded on first use (heavy.ts says why). */
const heavy = (): Promise<typeof import('./heavy.js')> => import('./heavy.js');

const TRANSIENT = new Set(['OTA_ERR_UNREACHABLE', 'OCI_ERR_HTTP', 'OCI_ERR_NOT_FOUND', 'OTA_ERR_NO_SPACE', 'OTA_ERR_SLOT_BUSY', 'SUP_ERR_TIMEOUT', 'SUP_ERR_NOT_CONNECTED']);
const UPDATING: ReadonlySet<OtaPhase> = new Set(['staging', 'staged', 'switching', 'trial']);

export const toOtaError = (err: unknown): OtaError => (err instanceof LucidError
  ? { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) }
  : { code: errnoCode(err) ?? 'OTA_ERR_INTERNAL', message: err instanceof Error ? err.message : String(err) });

export class AgentSteps {
  readonly blobs: BlobStore;
  readonly slots: SlotStore | null;
  private readonly checker: CheckerDeps;
  private trust: { clock: number; floor: number } | null = null;
  progress: FetchProgress | null = null;
  private lastFlag: boolean | null = null;

  constructor(private readonly deps: { log: Logger; config: AgentConfig; supervisor: SupervisorPort | null; now: () => number; host: HostFiles | null; onProgress: () => void }) {
    const c = deps.config;
    this.blobs = new BlobStore(`${c.otaDir}/blobs`);
    this.slots = c.hostDir ? new SlotStore(c.hostDir) : null;
    this.checker = {
      tufDir: `${c.otaDir}/tuf`, shippedRoot: () => readFile(c.trustRootFile), floor: new TimeFloor(`${c.otaDir}/time-floor.json`, c.buildTime),
      channel: c.channel, arch: c.arch, now: deps.now,
    };
  }

  async trustView(): Promise<{ clock: number; floor: number } | null> {
    return this.trust;
  }

  /** The LED shows `updating` while a slot is written and on trial (supervisor flag). */
  async showUpdating(phase: OtaPhase): Promise<void> {
    const on = UPDATING.has(phase);
    if (on === this.lastFlag || !this.deps.supervisor) return;
    await this.deps.supervisor.request('flag.set', { name: 'updating', value: on }).then(() => { this.lastFlag = on; }, () => {});
  }

  async check(state: AgentState): Promise<AgentState> {
    const c = this.deps.config;
    const { best, checkAll, missingBytes } = await heavy();
    const out = await checkAll(this.checker, { url: c.url, bundleDir: c.bundleDir });
    if (out.trust) this.trust = out.trust;
    const found = best(out.found);
    let error: OtaError | null = out.found.length === 0 && out.errors[0] ? toOtaError(out.errors[0]) : null;
    let available = null;
    if (found) {
      const facts = { version: c.version, arch: c.arch } as Facts;
      const why = installable(found, facts);
      if (!why) {
        const platform = platformFor(found.release, c.arch);
        available = { ...found, missingBytes: (await missingBytes(this.blobs, platform)).missing };
      } else if (why.code !== 'OTA_ERR_DOWNGRADE') {
        error = toOtaError(why);
      }
    }
    if (error) this.deps.log.warn({ error }, 'release check failed');
    return { ...state, available, lastCheck: { at: this.deps.now(), source: found?.source.kind === 'bundle' ? 'bundle' : c.url ? 'online' : 'bundle', error } };
  }

  async offerBundle(state: AgentState, path: string): Promise<AgentState> {
    const { release, trust } = await (await heavy()).verifyBundle(this.checker, path);
    this.trust = { clock: this.deps.now(), floor: trust.floor };
    const candidate = { release, source: { kind: 'bundle' as const, path }, foundAt: this.deps.now(), missingBytes: 0 };
    const why = installable(candidate, { version: this.deps.config.version, arch: this.deps.config.arch } as Facts);
    if (why) throw why;
    return { ...state, available: candidate, lastCheck: { at: this.deps.now(), source: 'bundle', error: null } };
  }

  /**
   * The release a fleet assigned, verified like any check: tuf-js against the device's own trusted
   * root, through the fleet's mirror on its pinned connection. The fleet only points: a version
   * or document the channel's metadata does not sign is refused before any layer is fetched.
   */
  async fleetRelease(http: FleetHttp, a: Assignment): Promise<Available> {
    const { checkRelease, fleetTufSource } = await heavy();
    const t = await checkRelease({ dir: this.checker.tufDir, shippedRoot: await this.checker.shippedRoot(), floor: this.checker.floor, channel: a.channel, source: fleetTufSource(http, a.tufPath), clock: this.deps.now });
    this.trust = { clock: this.deps.now(), floor: t.floor };
    const sha = createHash('sha256').update(t.bytes).digest('hex');
    if (t.doc.version !== a.version || sha !== a.releaseSha256) {
      throw new LucidError('OTA_ERR_FLEET_RELEASE', `the fleet assigned ${a.version} (${a.releaseSha256.slice(0, 12)}…) but channel ${a.channel}'s signed release is ${t.doc.version} (${sha.slice(0, 12)}…)`, { assigned: a.version, signed: t.doc.version });
    }
    const candidate: Available = { release: t.doc, source: { kind: 'online' }, foundAt: this.deps.now(), missingBytes: null };
    const why = installable(candidate, { version: this.deps.config.version, arch: this.deps.config.arch } as Facts);
    if (why) throw why;
    return { ...candidate, missingBytes: (await (await heavy()).missingBytes(this.blobs, platformFor(t.doc, this.deps.config.arch))).missing };
  }

  private async source(job: Job): Promise<ImageSource> {
    const { BundleReader, bundleImageSource, registrySource } = await heavy();
    if (job.source.kind === 'bundle') {
      // A bundle is a local file: gone means gone (deleted, or the USB stick unplugged), not a
      // transient error to retry for an hour.
      const path = job.source.path;
      const reader = await BundleReader.open(path).catch((err: unknown) => {
        if (errnoCode(err) !== 'ENOENT') throw err;
        throw new LucidError('OTA_ERR_BAD_BUNDLE', `the bundle ${path} is gone (deleted, or its USB stick removed): upload it or plug it in again`);
      });
      return bundleImageSource(reader);
    }
    if (!job.release?.source) throw new LucidError('OTA_ERR_NOT_CONFIGURED', `release ${job.version} names no registry: install it from a bundle`);
    return registrySource(job.release.source);
  }

  async fetch(state: AgentState): Promise<AgentState> {
    const job = state.job!;
    const platform = platformFor(job.release!, this.deps.config.arch);
    const result = await (await heavy()).fetchImage(this.blobs, await this.source(job), job.release!, platform, {
      reserveBytes: this.deps.config.reserveBytes,
      onProgress: (p) => { this.progress = p; this.deps.onProgress(); },
    });
    this.deps.log.info({ version: job.version, transferred: result.transferred, skipped: result.skipped }, 'release fetched');
    const progress = { done: this.progress?.total ?? 0, total: this.progress?.total ?? 0, transferred: job.progress.transferred + result.transferred };
    this.progress = null;
    return { ...state, phase: 'staging', job: { ...job, progress, error: null, retryAt: null } };
  }

  async stage(state: AgentState, f: Facts): Promise<AgentState> {
    const job = state.job!;
    const slots = this.slots!;
    if (job.kind === 'rollback') {
      const slot = await slots.read(job.slot);
      if (slot.state !== 'staged' || slot.version !== job.version) throw new LucidError('OTA_ERR_NO_PREVIOUS', `slot ${job.slot} no longer holds ${job.version}`);
      await slots.writeSlotEnv(slot, `ota:${job.id}`);
      await slots.markReady(job.slot, job.id);
      return { ...state, phase: 'staged' };
    }
    const { stageNeeds, stageSlot } = await heavy();
    const platform = platformFor(job.release!, this.deps.config.arch);
    const config = JSON.parse((await this.blobs.readVerified(platform.config.digest, platform.config.size)).toString('utf8')) as ImageConfig;
    const stageJob = { id: job.id, version: job.version, index: job.release!.image.digest, platform, config };
    await requireSpace(slots.dir(job.slot), await stageNeeds(slots, job.slot, stageJob), this.deps.config.reserveBytes, 'unpacking the release');
    const r = await stageSlot(slots, job.slot, this.blobs, stageJob, (i, n) => this.deps.log.info({ layer: i, of: n, slot: job.slot }, 'unpacking layer'));
    this.deps.log.info({ slot: job.slot, kept: r.kept, applied: r.applied }, 'slot staged');
    await this.gc(f.host ? [f.host.trial ?? f.host.committed, job.slot] : [job.slot]);
    return { ...state, phase: 'staged' };
  }

  /** Blobs of the given slots stay; the rest of the store goes. */
  async gc(keepSlots: readonly SlotName[]): Promise<void> {
    if (!this.slots) return;
    const keep = new Set<string>();
    for (const name of keepSlots) {
      const s = await this.slots.read(name);
      for (const d of [s.index, s.manifest, s.config, ...s.layers.map((l) => l.digest)]) if (d) keep.add(d);
    }
    const r = await this.blobs.gc(keep);
    if (r.removed > 0) this.deps.log.info(r, 'blob store cleaned');
  }

  /** Staged → switching (update locks, trial request); switching → ask the supervisor to restart us. */
  async switchSlots(state: AgentState, f: Facts, requested: () => void): Promise<AgentState | null> {
    const job = state.job!;
    const sup = this.deps.supervisor;
    if (!sup) throw new LucidError('OTA_ERR_NOT_CONFIGURED', 'no supervisor to restart the appliance into the new slot');
    try {
      await sup.request('update.prepare', { timeoutMs: 3000 });
    } catch (err) {
      if ((err as { code?: string }).code === 'SUP_ERR_LOCKS_BUSY') {
        this.deps.log.info({ err }, 'waiting for update locks');
        return null;
      }
      throw err;
    }
    if (state.phase === 'staged' || !f.trialRequestPending) await this.deps.host!.requestTrial(job.slot, job.id, job.version);
    if (state.phase === 'staged') return { ...state, phase: 'switching' };
    await sup.request('update.switch', { reason: `trial of ${job.version} in slot ${job.slot}` });
    requested();
    return state;
  }

  async commit(state: AgentState): Promise<AgentState> {
    const job = state.job!;
    await this.deps.host!.requestCommit(job.id);
    const c = this.deps.config;
    const reason = job.kind === 'rollback' ? `rolled back by an admin from ${job.fromVersion}` : 'passed its health gate';
    const keepAvailable = state.available && compareVersions(state.available.release.version, c.version) > 0 ? state.available : null;
    const next = withHistory({
      ...state, phase: 'idle', job: null, available: keepAvailable,
      previous: { slot: otherSlot(job.slot), version: job.fromVersion },
      blocked: job.kind === 'rollback' ? [...new Set([...state.blocked, job.fromVersion])] : state.blocked.filter((v) => v !== job.version),
    }, { id: job.id, kind: job.kind, version: job.version, fromVersion: job.fromVersion, outcome: 'committed', reason, at: this.deps.now(), source: job.source.kind });
    this.deps.log.info({ version: job.version, slot: job.slot }, 'trial committed');
    return next;
  }

  async failTrial(state: AgentState, reason: string, requested: () => void): Promise<AgentState> {
    const job = state.job!;
    if (!job.error) {
      await this.deps.host!.requestFail(job.id, reason);
      this.deps.log.warn({ version: job.version, reason }, 'trial failed its health gate; rolling back');
      return { ...state, job: { ...job, error: { code: 'OTA_ERR_HEALTH_GATE', message: reason } } };
    }
    const sup = this.deps.supervisor;
    if (sup) {
      // Even a failed version is not cut in the middle of a finalize or a vote.
      await sup.request('update.prepare', { timeoutMs: 3000 });
      await sup.request('update.switch', { reason: `rollback: ${reason.slice(0, 100)}` });
    }
    requested();
    return state;
  }

  /** After a failed step: the state to persist (a retry later, or the job given up), or null to pause. */
  afterError(state: AgentState, step: Step, err: unknown): AgentState | null {
    const job = state.job;
    const e = toOtaError(err);
    if (!job || (state.phase !== 'fetching' && state.phase !== 'staging')) return null;
    const transient = TRANSIENT.has(e.code) || /^E[A-Z]+$/.test(e.code) || e.code.startsWith('UND_ERR');
    if (transient && job.attempts < 8) {
      const delay = Math.min(30_000 * 2 ** job.attempts, 15 * 60_000);
      return { ...state, job: { ...job, error: e, retryAt: this.deps.now() + delay, attempts: job.attempts + 1 } };
    }
    this.deps.log.error({ step: step.kind, error: e, version: job.version }, 'update abandoned');
    return withHistory({ ...state, phase: 'idle', job: null, blocked: [...new Set([...state.blocked, job.version])] }, {
      id: job.id, kind: job.kind, version: job.version, fromVersion: job.fromVersion, outcome: 'failed', reason: `${e.code}: ${e.message}`.slice(0, 300), at: this.deps.now(), source: job.source.kind,
    });
  }
}
