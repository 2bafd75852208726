// The core process's parts and its full route set, assembled in one place: the store, the node
// identity, auth, sessions, the ledger and the API with every area's routes. core.ts calls it
// and then listens; the RBAC matrix, the body-type test and the fuzz call the same function on
// a temp data dir, so they cover exactly the routes the appliance serves — a route added to
// core tomorrow is in their route table too.
// Nothing here listens or starts the ledger: the caller decides when (core answers on the API
// before the ledger's first-boot fsyncs; a test starts it before its first request).
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createPrivateKey } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config/index.js';
import type { Logger } from '../../../services/common/log.js';
import type { Lifecycle, LifecycleStack } from '../../../services/common/lifecycle.js';
import { MetricsRegistry } from '../../../services/common/metrics.js';
import { buildInfo } from '../../../services/common/build-info.js';
import { Store } from '../../../services/store/index.js';
import { loadOrCreateNodeIdentity, NODE_KEY_FILE, type NodeIdentity } from '../../../services/identity/index.js';
import { LedgerService, ledgerRoutes, type LevelPort } from '../../../services/ledger/index.js';
import { buildApi, type OtaPort, type SupervisorView, type TlsPort } from '../../../services/api/index.js';
import { AuthService, authRoutePlugins, loadOrCreateJwtKey, prepareFactoryReset } from '../../../services/auth/index.js';
import { SessionService, sessionRoutes, chunkMetrics } from '../../../services/sessions/index.js';
import { defaultCipherFor } from '../../../services/chunks/index.js';
import { createProcSystemInfo } from '../../../hal/index.js';
import type { WalletDriver } from '../../../hal/wallet/types.js';
import { fingerprintLine } from './tls.js';
import { corePayout } from './core-payout.js';

export interface CoreInputs {
  readonly config: Readonly<Config>;
  readonly log: Logger;
  /** The supervisor as core sees it (the IPC link; a test's in-process stand-in). */
  readonly supervisor: SupervisorView;
  /** Started parts are pushed here, so the caller stops them in reverse order. */
  readonly stack: LifecycleStack;
  readonly wallet: WalletDriver | null;
  readonly acquireWallet?: () => Promise<() => Promise<void>>;
  /** Folder of the built web UI; null serves none. */
  readonly webRoot: string | null;
  /** The clock auth sees (tests move it); Date.now by default. */
  readonly now?: () => number;
  /**
   * The HTTPS certificate being served: its routes, the fingerprint beside the setup code and on
   * a long press, HSTS for a user's own pair, and the plain-HTTP rule (services/api/plain-gate.ts).
   */
  readonly tls?: TlsPort;
  /**
   * Only for in-process inject() tests, whose fake socket has no address: leave the plain-HTTP
   * rule out (the routes stay). Core never sets it.
   */
  readonly withoutPlainHttpRule?: boolean;
  /** The update agent's port (its sibling child, over a socket); absent: no /api/v1/ota routes. */
  readonly ota?: OtaPort;
}

export interface CoreParts {
  readonly store: Store;
  readonly identity: NodeIdentity;
  readonly auth: AuthService;
  readonly sessions: SessionService;
  /** Not started: see the note at the top. */
  readonly ledger: LedgerService;
  readonly metrics: MetricsRegistry;
  /** Ready, not listening. */
  readonly app: FastifyInstance;
  /** The statement feeder (start it after the ledger); null without payouts. */
  readonly payoutFeeder: Lifecycle | null;
}

export async function assembleCore(inputs: CoreInputs): Promise<CoreParts> {
  const { config, log, supervisor, stack, tls } = inputs;
  const store = await stack.start('store', new Store({ location: join(config.dataDir, 'store'), log }));
  const identity = await loadOrCreateNodeIdentity(config.dataDir, log);
  const system = createProcSystemInfo({ root: config.sysRoot, dataDir: config.dataDir });
  // A factory reset confirmed on the button (the supervisor left its marker): before the JWT key loads.
  const factoryReset = await prepareFactoryReset(config.dataDir, log);
  const authService = new AuthService({
    store,
    dataDir: config.dataDir,
    log,
    jwtKey: await loadOrCreateJwtKey(config.dataDir, log),
    signer: identity,
    nodeId: identity.nodeId,
    bindIp: config.authBindIp === 'on',
    maxSessions: config.authMaxSessions,
    factoryReset,
    ...(tls ? { describeTls: () => `check that the browser shows ${fingerprintLine(tls.info())}` } : {}),
    wallet: inputs.wallet,
    ...(inputs.acquireWallet ? { acquireWallet: inputs.acquireWallet } : {}),
    ...(inputs.now ? { now: inputs.now } : {}),
    setLockdownFlag: async (value) => {
      if (supervisor.attached) await supervisor.request('flag.set', { name: 'lockdown', value });
    },
  });
  // Payouts: its two-person kinds are registered before auth starts (it drops pending requests
  // of kinds it does not know); the routes are there with or without payouts (the same table).
  let ledger: LedgerService | null = null;
  const payout = corePayout({
    config, log: log.child({ module: 'payout-client' }), approvals: authService.approvals, ledger: () => ledger!, selfOperator: identity.publicKeyHex,
    audit: (entry) => authService.audit.append(entry),
    walletsOf: async (userId) => (await authService.users.get(userId))?.wallets ?? [],
    userOfWallet: async (address) => (await authService.users.byWallet(address))?.id ?? null,
  });
  const auth = await stack.start('auth', authService);
  supervisor.onEvent((e) => {
    if (e.kind !== 'button' || e.action !== 'long') return;
    // While setup is pending the setup code is printed with the fingerprint; afterwards the
    // fingerprint alone (and a device code when a request waits for one).
    if (tls && !auth.isSetupRequired) log.warn(fingerprintLine(tls.info()));
    void auth.onLongPress().catch((err: unknown) => log.error({ err }, 'long press handling failed'));
  });
  const metrics = new MetricsRegistry();

  // Sessions and the ledger need each other: the ledger anchors the sessions' completed
  // manifests, and a session's detail shows its anchor once final.
  const cpuinfo = await readFile(join(config.sysRoot, 'proc/cpuinfo'), 'utf8').catch(() => null);
  const sessions = await stack.start('sessions', new SessionService({
    store,
    dataDir: config.dataDir,
    log,
    identity,
    quotaBytes: config.sessionQuotaBytes,
    reserveBytes: config.diskReserveBytes,
    defaultCipher: config.sessionCipher === 'auto' ? defaultCipherFor(cpuinfo) : config.sessionCipher,
    ...(config.chunkConcurrency > 0 ? { concurrency: config.chunkConcurrency } : {}),
    onChunk: chunkMetrics(metrics),
    mayCreate: () => auth.emergency.newSessionsAllowed,
    anchors: {
      lookup: async (manifestHash) => {
        const proof = ledger ? await ledger.anchorProof(manifestHash) : null;
        return proof ? { height: proof.height, txIndex: proof.txIndex, txCount: proof.txCount, blockHash: proof.header.hash, manifestHash } : null;
      },
    },
  }));
  // The emergency "stop all sessions" control (two admins) stops every recording.
  auth.registerSessionStopper(() => sessions.stopAll());

  ledger = new LedgerService({
    log,
    db: store as unknown as LevelPort,
    dataDir: config.dataDir,
    identity: {
      nodeId: identity.nodeId,
      publicKeyHex: identity.publicKeyHex,
      sign: (m) => identity.sign(m),
      // The TLS certificate of the P2P transport is made from the node key itself.
      privateKey: config.genesis !== null ? createPrivateKey(readFileSync(join(config.dataDir, NODE_KEY_FILE))) : undefined,
    },
    config: { slotMs: config.slotMs, emptyBlockIntervalMs: config.emptyBlockIntervalS * 1000, p2pHost: config.host, p2pPort: config.p2pPort, peers: config.peers, genesisPath: config.genesis, mdns: config.mdns === 'on', payoutPool: config.payoutPoolUsdt * 1_000_000 },
    metrics,
    anchorSource: sessions,
    // Storage challenges are answered from the sessions' own chunk objects.
    chunkSource: { read: (q) => sessions.storedChunk(q) },
  });
  const app = await buildApi({
    log,
    version: buildInfo.version,
    revision: buildInfo.revision,
    identity,
    supervisor,
    system,
    metrics,
    webRoot: inputs.webRoot,
    writeBatch: config.apiWriteBatch,
    ...(tls ? { tls, plainHttpRule: inputs.withoutPlainHttpRule !== true } : {}),
    auth: {
      identify: (header, ctx) => auth.identify(header, ctx),
      identifyDownload: (token, path, ctx) => auth.identifyDownload(token, path, ctx),
      restrict: (p, permission) => auth.restrict(p, permission),
    },
    routes: [...authRoutePlugins(auth), sessionRoutes({ service: sessions, quotaBytes: config.sessionQuotaBytes }), ledgerRoutes(ledger), payout.routes],
    ...(inputs.ota ? { ota: inputs.ota } : {}),
  });
  return { store, identity, auth, sessions, ledger, metrics, app, payoutFeeder: payout.feeder };
}
