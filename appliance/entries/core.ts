// Composition root of the core process: the only LevelDB owner, the node identity, auth,
// sessions and their chunk store, the PoOT ledger and the LAN API. Started by the supervisor
// (or alone, for development); exits when its supervisor goes.
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createPrivateKey } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { loadConfigOrExit } from '../config/index.js';
import { createRootLogger, type Logger } from '../../services/common/log.js';
import { SupervisorLink } from '../../services/common/supervisor-link.js';
import { pinNextTickShape } from '../../services/common/tick-shape.js';
import { LifecycleStack } from '../../services/common/lifecycle.js';
import { MetricsRegistry } from '../../services/common/metrics.js';
import { buildInfo } from '../../services/common/build-info.js';
import { Store } from '../../services/store/index.js';
import { loadOrCreateNodeIdentity, NODE_KEY_FILE } from '../../services/identity/index.js';
import { LedgerService, ledgerRoutes, type LevelPort } from '../../services/ledger/index.js';
import { buildApi, acceptOnCopies, type AcceptCopies } from '../../services/api/index.js';
import { AuthService, authRoutePlugins, loadOrCreateJwtKey, prepareFactoryReset } from '../../services/auth/index.js';
import { SessionService, sessionRoutes, chunkMetrics } from '../../services/sessions/index.js';
import { defaultCipherFor } from '../../services/chunks/index.js';
import { createProcSystemInfo } from '../../hal/index.js';
import { installProcessHandlers } from './shared/process-handlers.js';
import { createCoreWallet, walletBroker } from './shared/core-wallet.js';
import { corePayout } from './shared/core-payout.js';

// First, before anything can run a full GC (services/common/tick-shape.ts says why).
void pinNextTickShape();

const config = loadConfigOrExit();
const name = process.env['LUCID_CHILD_NAME'] ?? 'core';
const log: Logger = createRootLogger({ name, level: config.logLevel });

const link = new SupervisorLink({ log, heartbeatMs: config.heartbeatMs, onDisconnect: () => void shutdown('supervisor gone', 0) });
const stack = new LifecycleStack((part, err) => log.error({ part, err }, 'stop failed'));
const shutdown = installProcessHandlers({ log, stack, link, deadlineMs: Math.min(config.stopTimeoutMs, 8000) });

async function main(): Promise<void> {
  link.start();
  const store = await stack.start('store', new Store({ location: join(config.dataDir, 'store'), log }));

  const identity = await loadOrCreateNodeIdentity(config.dataDir, log);
  const system = createProcSystemInfo({ root: config.sysRoot, dataDir: config.dataDir });
  // A factory reset confirmed on the button (the supervisor left its marker): before the JWT key loads.
  const factoryReset = await prepareFactoryReset(config.dataDir, log);
  const auth = await stack.start('auth', new AuthService({
    store,
    dataDir: config.dataDir,
    log,
    jwtKey: await loadOrCreateJwtKey(config.dataDir, log),
    signer: identity,
    nodeId: identity.nodeId,
    bindIp: config.authBindIp === 'on',
    maxSessions: config.authMaxSessions,
    factoryReset,
    wallet: await createCoreWallet(config, log),
    acquireWallet: walletBroker(link),
    setLockdownFlag: async (value) => {
      if (link.attached) await link.request('flag.set', { name: 'lockdown', value });
    },
  }));
  link.onEvent((e) => {
    if (e.kind === 'button' && e.action === 'long') auth.onLongPress();
  });
  const metrics = new MetricsRegistry();

  // Sessions and the ledger need each other: the ledger anchors the sessions' completed
  // manifests, and a session's detail shows its anchor once final.
  let ledger: LedgerService | null = null;
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
    config: { slotMs: config.slotMs, p2pHost: config.host, p2pPort: config.p2pPort, peers: config.peers, genesisPath: config.genesis, mdns: config.mdns === 'on' },
    metrics,
    anchorSource: sessions,
  });
  const payout = corePayout({
    config, log: log.child({ module: 'payout-client' }), ledger, selfOperator: identity.publicKeyHex,
    audit: (entry) => auth.audit.append(entry),
    walletsOf: async (userId) => (await auth.users.get(userId))?.wallets ?? [],
    userOfWallet: async (address) => (await auth.users.byWallet(address))?.id ?? null,
  });
  const app = await buildApi({
    log,
    version: buildInfo.version,
    revision: buildInfo.revision,
    identity,
    supervisor: link,
    system,
    metrics,
    webRoot: fileURLToPath(new URL('../web/', import.meta.url)),
    writeBatch: config.apiWriteBatch,
    auth: {
      identify: (header, ctx) => auth.identify(header, ctx),
      identifyDownload: (token, path, ctx) => auth.identifyDownload(token, path, ctx),
      restrict: (p, permission) => auth.restrict(p, permission),
    },
    routes: [...authRoutePlugins(auth), sessionRoutes({ service: sessions, quotaBytes: config.sessionQuotaBytes }), ledgerRoutes(ledger), ...(payout?.routes ?? [])],
  });
  let acceptCopies: Promise<AcceptCopies> | undefined;
  await stack.start('api', {
    start: async () => {
      await app.listen({ host: config.host, port: config.port });
      // Not awaited: the API answers on its own descriptor while the copies come back.
      acceptCopies = acceptOnCopies({ server: app.server, count: config.apiAcceptDescriptors }).then((copies) => {
        if (copies.count < config.apiAcceptDescriptors && link.attached) log.warn({ wanted: config.apiAcceptDescriptors, got: copies.count }, 'fewer accept descriptors than configured');
        return copies;
      });
    },
    stop: async () => { await Promise.all([acceptCopies?.then((copies) => copies.close()), app.close()]); },
  });
  log.info({ url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}/`, nodeId: identity.nodeId }, 'core ready');
  link.ready();
  // The ledger starts once the API answers (its routes say LEDGER_ERR_NOT_READY until then): its
  // first boot writes a genesis and fsyncs, which need not delay the appliance's readiness.
  await stack.start('ledger', ledger);
  if (payout) await stack.start('payout-feeder', payout.feeder);
}

main().catch((err: unknown) => {
  log.fatal({ err, code: (err as { code?: string }).code }, 'core failed to start');
  void shutdown('start failed', 1);
});
