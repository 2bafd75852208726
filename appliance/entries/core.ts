// Composition root of the core process: the only LevelDB owner, the node identity, auth,
// sessions and their chunk store, the PoOT ledger and the LAN API. Started by the supervisor
// (or alone, for development); exits when its supervisor goes.
import { fileURLToPath } from 'node:url';
import { loadConfigOrExit } from '../config/index.js';
import { createRootLogger, type Logger } from '../../services/common/log.js';
import { SupervisorLink } from '../../services/common/supervisor-link.js';
import { pinNextTickShape } from '../../services/common/tick-shape.js';
import { LifecycleStack } from '../../services/common/lifecycle.js';
import { acceptOnCopies, type AcceptCopies } from '../../services/api/index.js';
import { installProcessHandlers } from './shared/process-handlers.js';
import { createCoreWallet, walletBroker } from './shared/core-wallet.js';
import { assembleCore } from './shared/assemble-core.js';

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
  // Every part and the full route set (the tests assemble the same, assemble-core.ts).
  const { app, ledger, identity, payoutFeeder } = await assembleCore({
    config, log, supervisor: link, stack,
    wallet: await createCoreWallet(config, log),
    acquireWallet: walletBroker(link),
    webRoot: fileURLToPath(new URL('../web/', import.meta.url)),
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
  if (payoutFeeder) await stack.start('payout-feeder', payoutFeeder);
}

main().catch((err: unknown) => {
  log.fatal({ err, code: (err as { code?: string }).code }, 'core failed to start');
  void shutdown('start failed', 1);
});
