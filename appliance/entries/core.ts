// Composition root of the core process: the only LevelDB owner, the node identity and the LAN
// API. Started by the supervisor (or alone, for development); exits when its supervisor goes.
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { loadConfigOrExit } from '../config/index.js';
import { createRootLogger, type Logger } from '../../services/common/log.js';
import { SupervisorLink } from '../../services/common/supervisor-link.js';
import { LifecycleStack } from '../../services/common/lifecycle.js';
import { MetricsRegistry } from '../../services/common/metrics.js';
import { buildInfo } from '../../services/common/build-info.js';
import { Store } from '../../services/store/index.js';
import { loadOrCreateNodeIdentity } from '../../services/identity/index.js';
import { buildApi } from '../../services/api/index.js';
import { SessionService, sessionRoutes, chunkMetrics } from '../../services/sessions/index.js';
import { defaultCipherFor } from '../../services/chunks/index.js';
import { createProcSystemInfo } from '../../hal/index.js';
import { installProcessHandlers } from './shared/process-handlers.js';

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
  const metrics = new MetricsRegistry();
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
  }));
  const app = await buildApi({
    log,
    version: buildInfo.version,
    revision: buildInfo.revision,
    identity,
    supervisor: link,
    system,
    metrics,
    webRoot: fileURLToPath(new URL('../web/', import.meta.url)),
    routes: [sessionRoutes({ service: sessions, quotaBytes: config.sessionQuotaBytes })],
  });
  await stack.start('api', { start: async () => { await app.listen({ host: config.host, port: config.port }); }, stop: async () => { await app.close(); } });
  log.info({ url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}/`, nodeId: identity.nodeId }, 'core ready');
  link.ready();
}

main().catch((err: unknown) => {
  log.fatal({ err, code: (err as { code?: string }).code }, 'core failed to start');
  void shutdown('start failed', 1);
});
