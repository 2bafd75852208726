// Composition root of the OTA agent (the supervisor's `ota-agent` child, not critical): checks
// for releases, fetches and stages them into the inactive slot, hands the switch to the host
// step, and runs the health gate of a version on trial (ota/README.md). Core reaches it on
// `<data>/ota/agent.sock`.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRootLogger, type Logger } from '../../services/common/log.js';
import { SupervisorLink } from '../../services/common/supervisor-link.js';
import { LifecycleStack } from '../../services/common/lifecycle.js';
import { buildInfo } from '../../services/common/build-info.js';
import { Agent, type AgentConfig } from '../../ota/client/agent.js';
import { startControlServer, type FleetPort } from '../../ota/client/control-server.js';
import { agentSocketPath } from '../../ota/shared/agent-socket.js';
import { ociArch } from '../../ota/shared/release/release-doc.js';
import { installProcessHandlers } from './shared/process-handlers.js';
import { crashHook } from './shared/test-crash.js';
import { loadAgentSettings } from './shared/ota-agent-env.js';
// Direct, not through hal/index.js: the idle agent loads nothing of hal/ but this file.
import { loadResidentPages, startIdleTrim } from '../../hal/system/resident-pages.js';

const config = await loadAgentSettings();
const log: Logger = createRootLogger({ name: 'ota-agent', level: config.logLevel as Parameters<typeof createRootLogger>[0]['level'] });
const link = new SupervisorLink({ log, heartbeatMs: config.heartbeatMs, onDisconnect: () => void shutdown('supervisor gone', 0) });
const stack = new LifecycleStack((part, err) => log.error({ part, err }, 'stop failed'));
const shutdown = installProcessHandlers({ log, stack, link, deadlineMs: Math.min(config.stopTimeoutMs, 8000) });

async function main(): Promise<void> {
  link.start();
  const otaDir = join(config.dataDir, 'ota');
  // tuf-js stages downloads under os.tmpdir(); the image has no /tmp, the data volume is ours.
  process.env['TMPDIR'] = join(otaDir, 'tmp');
  await mkdir(process.env['TMPDIR'], { recursive: true, mode: 0o700 });
  const here = fileURLToPath(new URL('.', import.meta.url));
  const built = Date.parse(buildInfo.builtAt);
  const agentConfig: AgentConfig = {
    dataDir: config.dataDir,
    otaDir,
    hostDir: config.otaHostDir,
    url: config.otaUrl,
    channel: config.otaChannel,
    intervalMs: config.otaIntervalS === null ? null : config.otaIntervalS * 1000,
    soakMs: config.otaSoakS * 1000,
    healthTimeoutMs: config.otaHealthTimeoutS * 1000,
    autoInstall: config.otaAutoInstall === 'on',
    bundleDir: config.otaBundleDir,
    trustRootFile: config.otaTrustRoot ?? join(here, '..', 'ota', 'root.json'),
    buildTime: Number.isFinite(built) ? Math.floor(built / 1000) : 0,
    version: buildInfo.version,
    arch: ociArch(),
    reserveBytes: 64 * 1024 * 1024,
    selftestEntry: join(here, 'selftest.mjs'),
    // The self-test reads the configuration from LUCID_* variables: under a supervisor they are
    // all set already; alone, the data directory is the one that matters.
    selftestEnv: { ...process.env, LUCID_DATA_DIR: config.dataDir },
  };
  const agent = new Agent({ log, config: agentConfig, supervisor: link.attached ? link : null, crashPoint: crashHook('LUCID_OTA_TEST_CRASH', 'ota-agent') });
  await stack.start('agent', { start: () => agent.start(), stop: () => agent.stop() });
  // Fleet mode: its code is loaded only when a fleet is configured or was entered (idle RSS).
  let fleet: Promise<FleetPort> | null = null;
  const ensureFleet = (): Promise<FleetPort> => (fleet ??= import('../../ota/client/fleet/fleet-client.js').then(async ({ FleetClient }) => {
    const client = new FleetClient({ log: log.child({ part: 'fleet' }), agent, dataDir: config.dataDir, otaDir, version: buildInfo.version, arch: agentConfig.arch, url: config.fleetUrl, token: config.fleetToken });
    await client.start();
    agent.fleet = client;
    return client;
  }));
  if (config.fleetUrl || existsSync(join(otaDir, 'fleet.json'))) await ensureFleet();
  const server = await startControlServer(agent, agentSocketPath(config.dataDir), log, ensureFleet);
  await stack.start('control', { start: async () => {}, stop: () => new Promise<void>((r) => server.close(() => r())) });
  link.ready();
  trimWhenIdle();
  log.info({ version: buildInfo.version, url: config.otaUrl, hostDir: config.otaHostDir, intervalS: config.otaIntervalS }, 'ota agent ready');
}

/**
 * The agent idles most of its life: once it is quiet, the node binary's start-up pages are
 * dropped from its page tables (hal/system/resident-pages.ts), 56 → ~28 MB RSS; again, after a
 * full GC and malloc_trim, when a check or an install grew it. Measured in ota/README.md
 * "Memory of the idle agent".
 */
function trimWhenIdle(): void {
  const addon = loadResidentPages();
  if (!addon) {
    log.warn('the resident-pages addon (lucid-sd-notify) is not built: the idle agent keeps its start-up pages mapped');
    return;
  }
  const trim = startIdleTrim({
    addon,
    intervalMs: 10_000,
    quietCpuMs: 100,
    growthBytes: 4 * 1024 * 1024,
    // --expose-gc (the child table): the burst's garbage goes before the pages are counted.
    collectGarbage: typeof globalThis.gc === 'function' ? () => globalThis.gc!() : undefined,
    onTrim: ({ droppedBytes, before }) => log.debug({ droppedMB: +(droppedBytes / 1048576).toFixed(1), rssMB: +(before.rssBytes / 1048576).toFixed(1) }, 'idle: dropped file pages'),
    onError: (err) => log.warn({ err }, 'idle page trimming failed; stopped'),
  });
  void stack.start('idle-trim', { start: async () => {}, stop: async () => trim.stop() });
}

main().catch((err: unknown) => {
  log.fatal({ err }, 'ota agent failed to start');
  void shutdown('start failed', 1);
});
