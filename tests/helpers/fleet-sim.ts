// Simulated fleet devices: lightweight clients that enroll, sign check-ins and reports exactly
// like the agent's fleet mode (ota/shared/fleet-protocol.ts, real Ed25519 keys), and — when
// `autoUpdate` is on — play an agent's update steps for an assignment (download, install, trial,
// commit, or the failure the test wants). Used by the fleet tests and by `./build.sh bench fleet`
// (which runs 100,000 of them from one process).
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Pool, type buildConnector } from 'undici';
import { spkiPin } from '../../services/common/tls.js';
import {
  enrollProofPayload, nodeIdOfHex, signEnvelope, signedBytes,
  type Assignment, type CheckinAnswer, type CheckinMessage, type Health, type ReportPhase,
} from '../../ota/shared/fleet-protocol.js';

export interface HttpResult { status: number; body: any }

/**
 * HTTPS to a fleet the way a device talks to it (pin-spec): the server's certificate must have
 * the pinned public key (base64url SHA-256 of its SPKI); CA and host name are not what is
 * checked. A certificate with another key fails the connection before any request is sent.
 */
export function pinnedConnector(pin: string): buildConnector.connector {
  return (opts, callback) => {
    let done = false;
    const finish = (err: Error | null, socket: ReturnType<typeof tlsConnect> | null): void => {
      if (done) return;
      done = true;
      callback(err as Error, socket as never);
    };
    const host = opts.hostname.replace(/^\[|\]$/g, '');
    const socket = tlsConnect({
      host, port: Number(opts.port || 443), ...(isIP(host) ? {} : { servername: host }), rejectUnauthorized: false, ALPNProtocols: ['http/1.1'],
    });
    socket.setNoDelay(true);
    socket.once('secureConnect', () => {
      const cert = socket.getPeerX509Certificate();
      const seen = cert ? spkiPin(cert) : '(none)';
      if (seen === pin) return finish(null, socket);
      socket.destroy();
      finish(Object.assign(new Error(`fleet certificate pin mismatch: expected ${pin}, the server shows ${seen}`), { code: 'FLEET_PIN_MISMATCH' }), null);
    });
    socket.once('error', (err) => finish(err, null));
  };
}

/** The pin each fleet URL's certificate has (set by the helpers that start a fleet). */
const pins = new Map<string, string>();
export function setFleetPin(url: string, pin: string): void {
  pins.set(new URL(url).origin, pin);
}
export function fleetPinOf(url: string): string {
  const pin = pins.get(new URL(url).origin);
  if (!pin) throw new Error(`no pin known for ${url}: start the fleet with tests/helpers/fleet.ts or call setFleetPin`);
  return pin;
}

/** A keep-alive pool to a fleet, pinned to its certificate (or to `pin`). */
export function pinnedPool(url: string, options: { connections?: number; pin?: string } = {}): Pool {
  return new Pool(url, { connections: options.connections ?? 16, pipelining: 1, keepAliveTimeout: 60_000, connect: pinnedConnector(options.pin ?? fleetPinOf(url)) });
}

/** One keep-alive connection pool per fleet URL, shared by all simulated devices. */
const pools = new Map<string, Pool>();
export function fleetPool(url: string, connections = 16): Pool {
  let p = pools.get(url);
  if (!p) pools.set(url, (p = pinnedPool(url, { connections })));
  return p;
}
export async function closePools(): Promise<void> {
  await Promise.all([...pools.values()].map((p) => p.close()));
  pools.clear();
}

export async function postJson(url: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpResult> {
  const res = await fleetPool(url).request({ method: 'POST', path, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? JSON.parse(text) : null };
}

export interface SimOptions {
  readonly version?: string;
  readonly arch?: string;
  readonly name?: string;
  /** Versions whose install fails its health gate on this device (the agent rolls back). */
  readonly failVersions?: readonly string[];
  /** Versions that commit, then turn unhealthy. */
  readonly unhealthyVersions?: readonly string[];
}

export class SimDevice {
  readonly privateKey: KeyObject;
  readonly publicKeyHex: string;
  readonly id: string;
  version: string;
  previous: string | null = null;
  health: Health = 'ok';
  seq = 0;
  fleetId = '';
  /** Every assignment id this device was ever given (a test checks none comes twice). */
  readonly assignments: string[] = [];
  readonly reports: Array<{ id: string; phase: ReportPhase; status: number }> = [];
  /** The agent's own record of its current assignment (reported with every check-in). */
  current: { id: string; phase: ReportPhase; reason?: string } | null = null;
  online = true;

  constructor(readonly fleetUrl: string, readonly options: SimOptions = {}) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    this.privateKey = privateKey;
    this.publicKeyHex = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
    this.id = nodeIdOfHex(this.publicKeyHex);
    this.version = options.version ?? '1.0.0';
  }

  enrollBody(token: string, fleetId: string, signer: KeyObject = this.privateKey): Record<string, string> {
    const proof = sign(null, signedBytes('enroll', fleetId, enrollProofPayload(token, this.id)), signer).toString('base64url');
    return { token, publicKey: this.publicKeyHex, nodeId: this.id, arch: this.options.arch ?? 'amd64', version: this.version, name: this.options.name ?? `sim-${this.id.slice(0, 6)}`, proof };
  }

  async enroll(token: string, fleetId: string): Promise<HttpResult> {
    const res = await postJson(this.fleetUrl, '/api/v1/device/enroll', this.enrollBody(token, fleetId));
    if (res.status === 200) this.fleetId = res.body.fleetId;
    return res;
  }

  checkinMessage(): CheckinMessage {
    return {
      seq: ++this.seq, ts: Date.now(), version: this.version, arch: this.options.arch ?? 'amd64', slot: 'a', health: this.health,
      lastUpdate: null, freeDiskBytes: 8e9, assignment: this.current,
    };
  }

  async checkin(message: CheckinMessage = this.checkinMessage(), signer: KeyObject = this.privateKey): Promise<HttpResult> {
    const res = await postJson(this.fleetUrl, '/api/v1/device/checkin', signEnvelope('checkin', this.fleetId, this.id, message, signer));
    if (res.status === 409 && res.body?.code === 'FLEET_ERR_REPLAY') this.seq = res.body.details.lastSeq;
    return res;
  }

  async report(a: Pick<Assignment, 'id' | 'rolloutId'>, phase: ReportPhase, reason?: string): Promise<HttpResult> {
    const res = await postJson(this.fleetUrl, '/api/v1/device/report', signEnvelope('report', this.fleetId, this.id, {
      seq: ++this.seq, ts: Date.now(), rolloutId: a.rolloutId, assignmentId: a.id, phase, version: this.version, ...(reason ? { reason } : {}),
    }, this.privateKey));
    this.reports.push({ id: a.id, phase, status: res.status });
    return res;
  }

  /**
   * One agent cycle: check in; if given a new assignment, play its steps as the agent would
   * (with a report each), ending committed on the new version, or rolled back if it fails here.
   */
  async cycle(): Promise<CheckinAnswer | null> {
    if (!this.online) return null;
    const res = await this.checkin();
    if (res.status !== 200) return null;
    const answer = res.body as CheckinAnswer;
    const a = answer.assignment;
    if (!a || this.current?.id === a.id) return answer;
    this.assignments.push(a.id);
    if (a.kind === 'rollback') {
      if (this.previous) { this.version = this.previous; this.previous = null; }
      this.current = { id: a.id, phase: 'reverted' };
      await this.report(a, 'reverted', 'rolled back as the halted rollout asked');
      return answer;
    }
    for (const phase of ['downloading', 'installing', 'trial'] as const) {
      this.current = { id: a.id, phase };
      await this.report(a, phase);
    }
    if (this.options.failVersions?.includes(a.version)) {
      this.current = { id: a.id, phase: 'rolled-back', reason: 'health gate: self-test failed' };
      await this.report(a, 'rolled-back', 'health gate: self-test failed');
      return answer;
    }
    this.previous = this.version;
    this.version = a.version;
    if (this.options.unhealthyVersions?.includes(a.version)) this.health = 'failed';
    this.current = { id: a.id, phase: 'committed' };
    await this.report(a, 'committed');
    return answer;
  }
}
