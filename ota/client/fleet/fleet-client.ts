// Fleet mode of the agent: enrollment with the node key, signed check-ins on the server's
// jittered interval, the assignment installed through the agent's one verified path, and a
// report of every step. Loaded with import() only when a fleet is configured or entered.
//
// Keys: the agent signs with the appliance's node key (<data>/keys/node-ed25519.pem, made by
// core). It already runs as the appliance user on the same data volume, so asking core over a
// socket would add no separation (the agent could read the file anyway) but a dependency: a
// device whose core is down must still check in and roll back. A separate agent key would not be
// "the appliance's node identity" the fleet lists. The key is only read, never made here.
import { createPublicKey, sign } from 'node:crypto';
import { readFile, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { LucidError } from '../../../services/common/errors.js';
import type { Logger } from '../../../services/common/log.js';
import { ed25519FromPem } from '../../../services/common/key-file.js';
import {
  enrollProofPayload, nodeIdOfHex, signEnvelope, signedBytes,
  type Assignment, type CheckinAnswer, type CheckinMessage, type MessageKind, type ReportPhase,
} from '../../shared/fleet-protocol.js';
import type { OtaError, OtaFleetStatus } from '../../shared/status.js';
import type { Agent } from '../agent.js';
import { toOtaError } from '../steps.js';
import { EnrollmentStore, type FleetAssignmentRecord, type FleetEnrollment } from './enrollment.js';
import { FleetHttp } from './fleet-http.js';
import { checkFleetUrl, parseToken } from './pin.js';
import { phaseOf } from './phase.js';

export interface FleetClientOptions {
  readonly log: Logger;
  readonly agent: Agent;
  readonly dataDir: string;
  readonly otaDir: string;
  readonly version: string;
  readonly arch: string;
  /** LUCID_FLEET_URL / LUCID_FLEET_TOKEN (null: only an enrollment from the web UI). */
  readonly url: string | null;
  readonly token: string | null;
  readonly now?: () => number;
  readonly random?: () => number;
}

interface NodeKey { readonly id: string; readonly publicKeyHex: string; sign(m: Uint8Array): Buffer }

async function loadNodeKey(dataDir: string): Promise<NodeKey> {
  const file = join(dataDir, 'keys', 'node-ed25519.pem');
  const pem = await readFile(file).catch(() => { throw new LucidError('OTA_ERR_NOT_CONFIGURED', 'the node key does not exist yet (core makes it at its first start)'); });
  const key = ed25519FromPem(pem, file);
  const hex = Buffer.from(createPublicKey(key).export({ format: 'jwk' }).x!, 'base64url').toString('hex');
  return { id: nodeIdOfHex(hex), publicKeyHex: hex, sign: (m) => sign(null, m, key) };
}

export class FleetClient {
  private readonly store: EnrollmentStore;
  private enrollment: FleetEnrollment | null = null;
  private http: FleetHttp | null = null;
  private key: NodeKey | null = null;
  private error: OtaError | null = null;
  private warning: string | null = null;
  private waiting: string | null = null;
  private lastCheckinAt: number | null = null;
  private nextAt = 0;
  private stopped = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;
  private readonly random: () => number;
  private offState: (() => void) | null = null;

  constructor(private readonly o: FleetClientOptions) {
    this.store = new EnrollmentStore(join(o.otaDir, 'fleet.json'));
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
  }

  async start(): Promise<void> {
    this.enrollment = await this.store.read();
    if (this.o.url) {
      try { this.warning = checkFleetUrl(this.o.url).warning; } catch (err) { this.error = toOtaError(err); }
    }
    if (this.enrollment?.url && !this.warning) this.warning = checkFleetUrl(this.enrollment.url).warning;
    this.offState = this.o.agent.onState(() => this.poke());
    this.nextAt = this.now() + Math.round(this.random() * 2000);
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.offState?.();
    this.poke();
    await Promise.race([this.loop, new Promise((r) => setTimeout(r, 1000).unref())]);
    await this.http?.close().catch(() => {});
  }

  status(): OtaFleetStatus {
    const e = this.enrollment;
    const c = e?.current;
    return {
      url: e?.url ?? this.o.url ?? '', enrolled: e !== null, fleetId: e?.fleetId ?? null, deviceId: e?.deviceId ?? null,
      pin: e?.pin ?? null, pinSource: e?.pinSource ?? null, lastCheckinAt: this.lastCheckinAt, nextCheckinAt: this.nextAt || null,
      error: this.error, warning: this.warning,
      assignment: c ? { id: c.id, kind: c.kind, version: c.version, phase: c.phase, reason: c.reason } : null, waiting: this.waiting,
    };
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      await this.serial(() => this.cycle()).catch((err: unknown) => {
        this.error = toOtaError(err);
        this.o.log.warn({ err: this.error }, this.error.code === 'OTA_ERR_FLEET_PIN' ? 'fleet certificate changed: not talking to the fleet (working on its own)' : 'fleet check-in failed');
      });
      if (this.stopped) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => { this.wake = null; resolve(); }, Math.max(50, this.nextAt - this.now()));
        this.wake = () => { clearTimeout(t); resolve(); };
      });
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => {});
    return run;
  }

  /** Enrollment entered on the Updates page (admin API through core). */
  async enroll(url: string, token: string): Promise<OtaFleetStatus> {
    await this.serial(() => this.doEnroll(url, token));
    this.poke();
    return this.status();
  }

  private async doEnroll(rawUrl: string, rawToken: string): Promise<void> {
    if (this.enrollment) throw new LucidError('OTA_ERR_FLEET_ENROLLED', `already enrolled in fleet ${this.enrollment.fleetId} at ${this.enrollment.url}`);
    const { url, warning } = checkFleetUrl(rawUrl);
    const { secret, pin } = parseToken(rawToken);
    const key = (this.key ??= await loadNodeKey(this.o.dataDir));
    // With a pin in the token the very first connection must present it (nothing is sent
    // otherwise); without one, what this connection presents becomes the pin.
    const http = new FleetHttp(url, pin);
    try {
      const hello = await http.request('GET', '/api/v1/device/fleet');
      if (hello.status !== 200 || typeof hello.body?.fleetId !== 'string') throw refused(hello);
      const seen = http.tls ? http.seenPin : null;
      const fleetId = hello.body.fleetId as string;
      const proof = key.sign(signedBytes('enroll', fleetId, enrollProofPayload(secret, key.id))).toString('base64url');
      const res = await http.request('POST', '/api/v1/device/enroll', {
        token: secret, publicKey: key.publicKeyHex, nodeId: key.id, arch: this.o.arch, version: this.o.version, proof,
      });
      if (res.status !== 200) throw refused(res);
      this.enrollment = await this.store.write({
        schema: 1, url, fleetId: res.body.fleetId, deviceId: res.body.deviceId, pin: pin ?? seen, pinSource: !http.tls ? 'none' : pin ? 'token' : 'first-use',
        enrolledAt: this.now(), seq: 0, current: null,
      });
      this.warning = warning;
      this.error = null;
      this.nextAt = this.now();
      this.o.log.info({ fleetId: res.body.fleetId, url, pin: this.enrollment.pin, pinSource: this.enrollment.pinSource }, 'enrolled in the fleet');
    } finally {
      await http.close().catch(() => {});
    }
  }

  private connection(e: FleetEnrollment): FleetHttp {
    if (!this.http || this.http.baseUrl !== e.url || this.http.pin !== e.pin) this.http = new FleetHttp(e.url, e.pin);
    return this.http;
  }

  private async send(kind: MessageKind, path: string, message: Record<string, unknown>): Promise<{ status: number; body: any }> {
    const e = this.enrollment!;
    const seq = e.seq + 1;
    this.enrollment = await this.store.write({ ...e, seq });
    const env = signEnvelope(kind, e.fleetId, e.deviceId, { seq, ...message }, (m) => this.key!.sign(m));
    const res = await this.connection(e).request('POST', path, env);
    if (res.status === 409 && res.body?.code === 'FLEET_ERR_REPLAY' && Number.isSafeInteger(res.body.details?.lastSeq)) {
      this.enrollment = await this.store.write({ ...this.enrollment!, seq: res.body.details.lastSeq });
      return this.send(kind, path, message);
    }
    return res;
  }

  private async cycle(): Promise<void> {
    if (!this.key) {
      try {
        this.key = await loadNodeKey(this.o.dataDir);
      } catch (err) {
        // Core makes the node key at its first start, maybe just after us: ask again shortly.
        this.nextAt = this.now() + 2000;
        throw err;
      }
    }
    if (!this.enrollment) {
      if (!this.o.url || !this.o.token) { this.nextAt = this.now() + 3_600_000; return; }
      try {
        await this.doEnroll(this.o.url, this.o.token);
      } catch (err) {
        this.nextAt = this.now() + 60_000;
        throw err;
      }
    }
    if (this.key.id !== this.enrollment!.deviceId) throw new LucidError('OTA_ERR_NOT_CONFIGURED', 'the node key changed since the enrollment');
    await this.reportProgress();
    if (this.now() < this.nextAt) return;
    const answer = await this.checkin();
    await this.take(answer);
    await this.reportProgress();
  }

  private async checkin(): Promise<CheckinAnswer> {
    const st = this.o.agent.current;
    const health = this.o.agent.healthNow();
    const h = st.history[0];
    const c = this.enrollment!.current;
    const free = await statfs(this.o.dataDir).then((s) => s.bavail * s.bsize, () => null);
    const host = await this.o.agent.facts().then((f) => f.host, () => null);
    const msg: Omit<CheckinMessage, 'seq'> = {
      ts: this.now(), version: this.o.version, arch: this.o.arch, slot: host ? (host.trial ?? host.committed) : null,
      health: health.failed ? 'failed' : health.criticalReady ? 'ok' : 'degraded', reasons: health.reasons.slice(0, 5),
      lastUpdate: h ? { version: h.version, outcome: h.outcome, reason: h.reason, at: h.at } : null,
      freeDiskBytes: free, assignment: c ? { id: c.id, phase: c.phase, ...(c.reason ? { reason: c.reason } : {}) } : null,
    };
    const res = await this.send('checkin', '/api/v1/device/checkin', msg);
    if (res.status !== 200) throw refused(res);
    const a = res.body as CheckinAnswer;
    this.lastCheckinAt = this.now();
    this.error = null;
    this.waiting = a.waiting;
    const every = Math.max(1, a.nextCheckinS) * 1000;
    this.nextAt = this.now() + Math.round(every * (0.9 + 0.2 * this.random()));
    return a;
  }

  /** A new assignment: start it (the agent must be idle; otherwise the next check-in retries). */
  private async take(answer: CheckinAnswer): Promise<void> {
    const a = answer.assignment;
    const cur = this.enrollment!.current;
    if (!a || cur?.id === a.id) return;
    if (this.o.agent.current.phase !== 'idle') return;
    const base: FleetAssignmentRecord = { id: a.id, rolloutId: a.rolloutId, kind: a.kind, version: a.version, jobId: null, phase: 'assigned', reason: null, reported: null };
    let rec: FleetAssignmentRecord;
    try {
      rec = { ...base, ...(await this.begin(a, cur)) };
    } catch (err) {
      const e = toOtaError(err);
      this.o.log.warn({ assignment: a.id, version: a.version, error: e }, 'fleet assignment refused');
      rec = { ...base, phase: 'failed', reason: `${e.code}: ${e.message}`.slice(0, 300) };
    }
    this.enrollment = await this.store.write({ ...this.enrollment!, current: rec });
    this.o.log.info({ assignment: a.id, kind: a.kind, version: a.version, phase: rec.phase }, 'fleet assignment taken');
  }

  private async begin(a: Assignment, prev: FleetAssignmentRecord | null): Promise<Partial<FleetAssignmentRecord>> {
    const agent = this.o.agent;
    if (a.kind === 'rollback') {
      // Only a device that runs the rollout's version goes back; the others are there already.
      if (this.o.version !== a.version) return { phase: 'reverted', reason: `not running ${a.version}: nothing to roll back` };
      return { jobId: await agent.rollbackJob(), phase: 'assigned', reported: 'assigned' };
    }
    if (this.o.version === a.version) return { phase: 'committed', reason: 'already running this version' };
    if (prev?.kind === 'update' && prev.version === a.version && prev.jobId && (prev.phase === 'rolled-back' || prev.phase === 'failed')) {
      // A retry of a version that failed here: the agent's block list is for automatic installs only.
    }
    const http = this.connection(this.enrollment!);
    const jobId = await agent.installVerified(() => agent.stepsForFleet.fleetRelease(http, a));
    return { jobId, phase: 'downloading' };
  }

  /** Reports the assignment's phase when the agent's state moved it on. */
  private async reportProgress(): Promise<void> {
    const e = this.enrollment!;
    const c = e.current;
    if (!c) return;
    const derived = c.jobId ? phaseOf(c, this.o.agent.current) : { phase: c.phase, reason: c.reason };
    let rec: FleetAssignmentRecord = { ...c, phase: derived.phase, reason: derived.reason };
    if (rec.phase !== c.phase) this.enrollment = await this.store.write({ ...e, current: rec });
    if (rec.reported === rec.phase) return;
    const res = await this.send('report', '/api/v1/device/report', {
      ts: this.now(), rolloutId: rec.rolloutId, assignmentId: rec.id, phase: rec.phase, version: this.o.version,
      ...(rec.reason ? { reason: rec.reason.slice(0, 300) } : {}),
    });
    // A report the server no longer wants (rollout aborted, a transition it refuses) is not retried.
    if (res.status !== 200) this.o.log.info({ status: res.status, code: res.body?.code, phase: rec.phase }, 'fleet report not taken');
    rec = { ...rec, reported: rec.phase };
    this.enrollment = await this.store.write({ ...this.enrollment!, current: rec });
    this.o.log.info({ assignment: rec.id, phase: rec.phase, reason: rec.reason }, 'fleet report');
  }
}

function refused(res: { status: number; body: any }): LucidError {
  const code = typeof res.body?.code === 'string' ? res.body.code : `HTTP_${res.status}`;
  return new LucidError('OTA_ERR_FLEET_REFUSED', `the fleet refused: ${code}${res.body?.message ? ` (${String(res.body.message).slice(0, 200)})` : ''}`, { status: res.status, code });
}
