// Composition root of the core process: the only LevelDB owner, the node identity and the LAN
// API. Started by the supervisor (or alone, for development); exits when its supervisor goes.
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { loadConfigOrExit } from '../config/index.js';
import { createRootLogger, type Logger } from '../../services/common/log.js';
import { SupervisorLink } from '../../services/common/supervisor-link.js';
import { LifecycleStack } from '../../services/common/lifecycle.js';
import { MetricsRegistry } from '../../services/common/metrics.js';
import { buildInfo } from '../../services/common/build-info.js';
import { Store } from '../../services/store/index.js';
import { loadOrCreateNodeIdentity, NODE_KEY_FILE } from '../../services/identity/index.js';
import { LedgerService, ledgerRoutes, type LevelPort } from '../../services/ledger/index.js';
import { buildApi } from '../../services/api/index.js';
import { AuthService, authRoutePlugins, loadOrCreateJwtKey } from '../../services/auth/index.js';
import { createProcSystemInfo } from '../../hal/index.js';
import { installProcessHandlers } from './shared/process-handlers.js';
import { createCoreWallet, walletBroker } from './shared/core-wallet.js';

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
  const auth = await stack.start('auth', new AuthService({
    store,
    dataDir: config.dataDir,
    log,
    jwtKey: await loadOrCreateJwtKey(config.dataDir, log),
    signer: identity,
    nodeId: identity.nodeId,
    bindIp: config.authBindIp === 'on',
    maxSessions: config.authMaxSessions,
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
  // The PoOT chain. Anchors come from completed sessions: pass the sessions service's feed of
  // completed manifests as `anchorSource` (services/ledger/anchors/source.ts) once it exists.
  const ledger = new LedgerService({
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
    auth: { identify: (header, ctx) => auth.identify(header, ctx), restrict: (p, permission) => auth.restrict(p, permission) },
    routes: [...authRoutePlugins(auth), ledgerRoutes(ledger)],
  });
  await stack.start('api', { start: async () => { await app.listen({ host: config.host, port: config.port }); }, stop: async () => { await app.close(); } });
  log.info({ url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}/`, nodeId: identity.nodeId }, 'core ready');
  link.ready();
  // The ledger starts once the API answers (its routes say LEDGER_ERR_NOT_READY until then): its
  // first boot writes a genesis and fsyncs, which need not delay the appliance's readiness.
  await stack.start('ledger', ledger);
}

main().catch((err: unknown) => {
  log.fatal({ err, code: (err as { code?: string }).code }, 'core failed to start');
  void shutdown('start failed', 1);
});
