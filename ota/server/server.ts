// The fleet server's composition: store (LevelDB or PostgreSQL), auth, devices, channels and
// releases, rollouts with their evaluator, approvals, metrics and the HTTP API. `./build.sh fleet`
// starts one (main.ts); tests and benchmarks start several in-process or as processes.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../../services/common/log.js';
import { MetricsRegistry } from '../../services/common/metrics.js';
import type { Principal } from '../../services/api/index.js';
import { buildFleetApi } from './api/app.js';
import { adminRoutes } from './api/routes-admin.js';
import { deviceRoutes } from './api/routes-device.js';
import { inventoryRoutes } from './api/routes-inventory.js';
import { rolloutRoutes } from './api/routes-rollouts.js';
import type { FleetConfig } from './config.js';
import { FleetApprovals } from './domain/approvals.js';
import { FleetDevices } from './domain/devices.js';
import { FleetAuth } from './domain/fleet-auth.js';
import { FleetReleases } from './domain/releases.js';
import { FleetRollouts } from './domain/rollouts.js';
import { openStore } from './store/open.js';
import { loadFleetTls, type FleetTls } from './tls.js';
import type { FleetStore, RolloutRecord } from './store/types.js';

export interface FleetParts {
  readonly config: FleetConfig;
  readonly log: Logger;
  readonly store: FleetStore;
  readonly fleetId: string;
  readonly auth: FleetAuth;
  readonly devices: FleetDevices;
  readonly releases: FleetReleases;
  readonly rollouts: FleetRollouts;
  readonly approvals: FleetApprovals;
  readonly metrics: MetricsRegistry;
  readonly now: () => number;
  readonly tls: FleetTls;
  audit(action: string, actor: string, target: string | null, outcome: 'success' | 'denied' | 'failure', details?: Record<string, unknown>): Promise<void>;
}

export class FleetServer {
  app!: FastifyInstance;
  parts!: FleetParts;
  private syncTimer: NodeJS.Timeout | null = null;

  constructor(private readonly config: FleetConfig, private readonly log: Logger, private readonly options: { now?: () => number; webRoot?: string | null; version?: string } = {}) {}

  /** The certificate served (and its pin). */
  tls!: FleetTls;

  get url(): string {
    const a = this.app.server.address();
    return typeof a === 'object' && a ? `https://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}` : '';
  }

  async start(): Promise<void> {
    const { config, log } = this;
    const now = this.options.now ?? Date.now;
    const store = await openStore(config, log);
    await store.start();
    const fleetId = await store.metaOnce('fleet-id', () => randomBytes(12).toString('hex'));
    // Before anything listens: a bad brought pair stops the start (main.ts: exit 78).
    const tls = await loadFleetTls(config, store, log).catch(async (err: unknown) => { await store.stop(); throw err; });
    this.tls = tls;
    const audit = async (action: string, actor: string, target: string | null, outcome: 'success' | 'denied' | 'failure', details: Record<string, unknown> = {}): Promise<void> => {
      await store.appendAudit({ at: now(), actor, action, target, outcome, details });
    };
    const metrics = new MetricsRegistry();
    const checkinSeconds = metrics.histogram('lucid_fleet_checkin_seconds', 'Check-in handling time (signature check, store, assignment)', [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]);
    const decisions = metrics.counter('lucid_fleet_stage_decisions_total', 'Stage decisions this instance won (advance, complete, halt)');
    const auth = new FleetAuth({ store, dataDir: config.dataDir, log, now, audit });
    const approvals = new FleetApprovals({ store, now, audit });
    let rollouts!: FleetRollouts;
    const releases = new FleetReleases({ store, now, dataDir: config.dataDir, onCurrent: (channel, id) => rollouts.supersede(channel, id) });
    rollouts = new FleetRollouts({
      store, releases, log: log.child({ module: 'rollouts' }), now, offlineAfterMs: config.offlineAfterS * 1000, audit,
      requestApproval: async (r: RolloutRecord, by: Principal, reason: string) => (await approvals.request('rollout.start', { rolloutId: r.id, group: r.groupName, release: r.releaseId }, by, reason)).id,
      onDecision: (_r, kind) => decisions.inc({ kind }),
    });
    approvals.register('rollout.start', { execute: async (req) => ({ state: (await rollouts.approveStart(String(req.params['rolloutId']))).state }) });
    const devices = new FleetDevices({ store, fleetId, now, checkinIntervalS: config.checkinIntervalS, pin: tls.pin, audit, onMemberChange: (id) => rollouts.poke(id) });
    await auth.start();
    this.parts = { config, log, store, fleetId, auth, devices, releases, rollouts, approvals, metrics, now, tls, audit };
    this.app = await buildFleetApi({
      log, version: this.options.version ?? 'dev',
      auth: { identify: (h) => auth.identify(h), restrict: (p, perm) => auth.restrict(p, perm) },
      routes: [deviceRoutes(this.parts, checkinSeconds), adminRoutes(this.parts), inventoryRoutes(this.parts), rolloutRoutes(this.parts)],
      webRoot: this.options.webRoot ?? null,
      tls,
    });
    await this.app.listen({ host: config.host, port: config.port });
    rollouts.start(config.evaluateMs);
    if (config.syncS > 0) {
      this.syncTimer = setInterval(() => { void this.syncAll(); }, config.syncS * 1000);
      this.syncTimer.unref();
    }
    log.info({ url: this.url, store: store.kind, fleetId, pin: tls.pin, publicKeySha256: tls.publicKeySha256, certificateSha256: tls.certificateSha256, source: tls.source },
      `fleet server ready at ${this.url} — certificate pin (base64url SHA-256 of its public key) ${tls.pin}, certificate SHA-256 ${tls.certificateSha256}`);
  }

  async syncAll(): Promise<void> {
    for (const c of await this.parts.store.listChannels()) {
      await this.parts.releases.sync(c.name).catch((err: unknown) => this.log.warn({ err, channel: c.name }, 'channel sync failed'));
    }
  }

  async stop(): Promise<void> {
    if (this.syncTimer) clearInterval(this.syncTimer);
    await this.parts?.rollouts.stop();
    await this.app?.close();
    await this.parts?.store.stop();
  }
}
