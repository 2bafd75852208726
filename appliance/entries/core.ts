// Composition root of the core process: the only LevelDB owner, the node identity, auth,
// sessions and their chunk store, the PoOT ledger and the LAN API over HTTP and HTTPS. Started
// by the supervisor (or alone, for development); exits when its supervisor goes.
import { fileURLToPath } from 'node:url';
import { loadConfigOrExit } from '../config/index.js';
import { createRootLogger, type Logger } from '../../services/common/log.js';
import { SupervisorLink } from '../../services/common/supervisor-link.js';
import { pinNextTickShape } from '../../services/common/tick-shape.js';
import { LifecycleStack } from '../../services/common/lifecycle.js';
import {
  createSecureServer, listenOnAddress, listenOnHandles, onTlsMaterial, parkCopy, requestHandover, type Accepting, type HandleChannel,
} from '../../services/api/index.js';
import type { TlsMaterial } from '../../services/common/tls.js';
import { installProcessHandlers } from './shared/process-handlers.js';
import { createCoreWallet, walletBroker } from './shared/core-wallet.js';
import { assembleCore } from './shared/assemble-core.js';
import { loadTlsOrExit, readCpuHasAes, urlsOf, watchTls } from './shared/tls.js';
import { otaPort } from './shared/ota-port.js';

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
  // core is down: appliance/supervisor/listeners.ts).
  const handover = link.attached ? await requestHandover(channel) : null;
  if (link.attached && !handover) log.warn('the supervisor handed over no listening sockets; binding them here');
  // Alone, core keeps its certificate itself (made, re-issued, or the user's: a bad pair exits 78).
  const ownTls = handover ? null : await loadTlsOrExit(config, log);
  let tls: TlsMaterial = handover?.tls ?? ownTls!.material;

  // Every part and the full route set (the tests assemble the same, assemble-core.ts).
  const { app, ledger, identity, payoutFeeder } = await assembleCore({
    config, log, supervisor: link, stack,
    wallet: await createCoreWallet(config, log),
    acquireWallet: walletBroker(link),
    webRoot: fileURLToPath(new URL('../web/', import.meta.url)),
    tls: { httpsPort: config.httpsPort, info: () => tls, certificatePem: () => leafOf(tls.certPem) },
    // The update agent is a sibling child: under a supervisor it is always in the table.
    ...(link.attached ? { ota: otaPort(config.dataDir, config.otaBundleMaxBytes) } : {}),
  });
  const secure = createSecureServer(app, tls, readCpuHasAes(config.sysRoot));
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
  if (payoutFeeder) await stack.start('payout-feeder', payoutFeeder);
}

main().catch((err: unknown) => {
  log.fatal({ err, code: (err as { code?: string }).code }, 'core failed to start');
  void shutdown('start failed', 1);
});
