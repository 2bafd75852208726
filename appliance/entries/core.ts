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
import {
  buildApi, createSecureServer, listenOnAddress, listenOnHandles, onTlsMaterial, parkCopy, requestHandover, type Accepting, type HandleChannel,
} from '../../services/api/index.js';
import { cpuHasAes, type TlsMaterial } from '../../services/common/tls.js';
import { AuthService, authRoutePlugins, loadOrCreateJwtKey, prepareFactoryReset } from '../../services/auth/index.js';
import { SessionService, sessionRoutes, chunkMetrics } from '../../services/sessions/index.js';
import { defaultCipherFor } from '../../services/chunks/index.js';
import { createProcSystemInfo } from '../../hal/index.js';
import { installProcessHandlers } from './shared/process-handlers.js';
import { createCoreWallet, walletBroker } from './shared/core-wallet.js';
import { fingerprintLine, loadTlsOrExit, urlsOf, watchTls } from './shared/tls.js';

// First, before anything can run a full GC (services/common/tick-shape.ts says why).
void pinNextTickShape();

const config = loadConfigOrExit();
const name = process.env['LUCID_CHILD_NAME'] ?? 'core';
const log: Logger = createRootLogger({ name, level: config.logLevel });

const link = new SupervisorLink({ log, heartbeatMs: config.heartbeatMs, onDisconnect: () => void shutdown('supervisor gone', 0) });
const stack = new LifecycleStack((part, err) => log.error({ part, err }, 'stop failed'));
const shutdown = installProcessHandlers({ log, stack, link, deadlineMs: Math.min(config.stopTimeoutMs, 8000) });

const channel = process as unknown as HandleChannel;

/** The first certificate of a PEM file (a user's chain file starts with the leaf). */
const leafOf = (pem: string): string => /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n?/.exec(pem)?.[0] ?? pem;

async function closeServer(server: import('node:net').Server & { closeIdleConnections?: () => void }): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections?.();
  });
}

async function main(): Promise<void> {
  link.start();
  // Under a supervisor the API's sockets and certificate come from it (it answers on them while
  // core is down: appliance/supervisor/listeners.ts); asked now, needed once the API is built.
  const handoverReply = link.attached ? requestHandover(channel) : Promise.resolve(null);
  const store = await stack.start('store', new Store({ location: join(config.dataDir, 'store'), log }));
  const handover = await handoverReply;
  if (link.attached && !handover) log.warn('the supervisor handed over no listening sockets; binding them here');
  // Alone, core keeps its certificate itself (made, re-issued, or the user's: a bad pair exits 78).
  const ownTls = handover ? null : await loadTlsOrExit(config, log);
  let tls: TlsMaterial = handover?.tls ?? ownTls!.material;

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
    describeTls: () => `check that the browser shows ${fingerprintLine(tls)}`,
    acquireWallet: walletBroker(link),
    setLockdownFlag: async (value) => {
      if (link.attached) await link.request('flag.set', { name: 'lockdown', value });
    },
  }));
  link.onEvent((e) => {
    if (e.kind !== 'button' || e.action !== 'long') return;
    // The long press shows the setup code (with the fingerprint) while setup is pending, else the fingerprint.
    if (auth.isSetupRequired) auth.onLongPress();
    else log.warn(fingerprintLine(tls));
  });
  const metrics = new MetricsRegistry();

  // Sessions and the ledger need each other: the ledger anchors the sessions' completed
  // manifests, and a session's detail shows its anchor once final.
  let ledger: LedgerService | null = null;
  const cpuinfo = await readFile(join(config.sysRoot, 'proc/cpuinfo'), 'utf8').catch(() => null);
  const hasAes = cpuHasAes(cpuinfo);
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
    tls: { httpsPort: config.httpsPort, info: () => tls, certificatePem: () => leafOf(tls.certPem) },
    auth: {
      identify: (header, ctx) => auth.identify(header, ctx),
      identifyDownload: (token, path, ctx) => auth.identifyDownload(token, path, ctx),
      restrict: (p, permission) => auth.restrict(p, permission),
    },
    routes: [...authRoutePlugins(auth), sessionRoutes({ service: sessions, quotaBytes: config.sessionQuotaBytes }), ledgerRoutes(ledger)],
  });
  const secure = createSecureServer(app, tls, hasAes);
  const useTls = (m: TlsMaterial): void => {
    tls = m;
    secure.setTls(m);
    log.info({ certificateSha256: m.certificateSha256 }, 'serving a new TLS certificate');
  };
  const stopTlsUpdates = ownTls ? watchTls(ownTls, log, useTls) : onTlsMaterial(channel, useTls);
  let accepting: Accepting[] = [];
  await stack.start('api', {
    start: async () => {
      if (handover) {
        accepting = [await listenOnHandles(app.server, handover.handles.http), await listenOnHandles(secure.server, handover.handles.https)];
        // Copies back to the supervisor: it keeps the sockets alive while core is gone, and stops answering now.
        parkCopy(channel, 'http', app.server);
        parkCopy(channel, 'https', secure.server);
      } else {
        accepting = [await listenOnAddress(app.server, config.host, config.port), await listenOnAddress(secure.server, config.host, config.httpsPort)];
      }
    },
    stop: async () => {
      stopTlsUpdates();
      await Promise.all([...accepting.map((a) => a.close()), app.close(), closeServer(app.server), closeServer(secure.server)]);
    },
  });
  const urls = urlsOf(config);
  log.info({ https: urls.https, http: urls.http, nodeId: identity.nodeId, descriptors: accepting[0]?.count ?? 1 }, 'core ready');
  link.ready();
  // The ledger starts once the API answers (its routes say LEDGER_ERR_NOT_READY until then): its
  // first boot writes a genesis and fsyncs, which need not delay the appliance's readiness.
  await stack.start('ledger', ledger);
}

main().catch((err: unknown) => {
  log.fatal({ err, code: (err as { code?: string }).code }, 'core failed to start');
  void shutdown('start failed', 1);
});
