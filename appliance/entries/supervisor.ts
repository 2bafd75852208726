// Composition root of the supervisor: config, HAL, the child table, systemd integration, the
// API's listening sockets and the TLS certificate they serve.
// `./build.sh run` and the device's systemd unit both start this file.
import { dirname, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfigOrExit, configToEnv, detectRaspberryPi, payoutPaths, payoutSupervised } from '../config/index.js';
import { createRootLogger } from '../../services/common/log.js';
import { buildInfo } from '../../services/common/build-info.js';
import { TLS_MATERIAL } from '../../services/common/ipc.js';
import { Supervisor, childTable, DEFAULT_TUNING, EXIT_SLOT_SWITCH, type PayoutChildOptions } from '../supervisor/index.js';
import { writeResetMarker } from '../../services/common/reset-marker.js';
import { ApiListeners } from '../supervisor/listeners.js';
import { ChildLogs } from '../supervisor/child-logs.js';
import { createRecoveryAnswer } from '../supervisor/recovery.js';
import { createSdNotifier, parseWatchdogUsec } from '../../hal/index.js';
import { createSupervisorHal, halMode } from './shared/supervisor-hal.js';
import { fingerprintLine, loadTlsOrExit, readCpuHasAes, urlsOf, watchTls } from './shared/tls.js';

const config = loadConfigOrExit();
const log = createRootLogger({ name: 'supervisor', level: config.logLevel });

// Children never see systemd's notify socket: only the supervisor speaks to systemd.
const SYSTEMD_ONLY = new Set(['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES']);
// LUCID_ settings reach them as the validated configuration (configToEnv), but for the test
// crash points (shared/test-crash.ts: ignored under NODE_ENV=production), which are no setting.
const inherited = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => v !== undefined && !SYSTEMD_ONLY.has(k)
  && (!k.startsWith('LUCID_') || k.endsWith('_TEST_CRASH')))) as Record<string, string>;

function payoutChild(): PayoutChildOptions {
  const paths = payoutPaths(config);
  // Node's permission model grants a directory and what is under it only when it exists at
  // start; the payout child may not create its own parents (it may write nowhere else).
  for (const dir of [paths.dir, dirname(paths.socket)]) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const configFile = process.env['LUCID_CONFIG'];
  return {
    dir: paths.dir,
    socketDir: dirname(paths.socket),
    alsoRead: configFile ? [resolve(configFile)] : [],
    addons: config.payoutSigner === 'ledger' && config.hal !== 'sim' && !(config.hal === 'auto' && config.profile === 'dev'),
  };
}

async function main(): Promise<void> {
  const tls = await loadTlsOrExit(config, log);
  const mode = halMode(config, detectRaspberryPi(config.sysRoot));
  const hal = createSupervisorHal(config, mode, log);
  const notifier = createSdNotifier({ socketPath: process.env['NOTIFY_SOCKET'], onError: (err: unknown) => log.warn({ err }, 'sd_notify failed') });
  const output = new ChildLogs();
  let supervisor: Supervisor | null = null;
  const listeners = new ApiListeners({
    log: log.child({ module: 'listeners' }),
    specs: [
      { name: 'http', host: config.host, port: config.port, setting: 'LUCID_PORT' },
      { name: 'https', host: config.host, port: config.httpsPort, setting: 'LUCID_HTTPS_PORT' },
    ],
    descriptors: config.apiAcceptDescriptors,
    tls: () => tls.material,
    cpuHasAes: readCpuHasAes(config.sysRoot),
    answer: createRecoveryAnswer({ snapshot: () => supervisor!.snapshot(), logs: (c) => output.last(c), tls: () => tls.material, httpsPort: config.httpsPort }),
  });
  supervisor = new Supervisor({
    log,
    version: buildInfo.version,
    children: childTable({
      entriesDir: dirname(fileURLToPath(import.meta.url)),
      heartbeatMs: config.heartbeatMs,
      extra: config.extraChildren,
      inheritedEnv: inherited,
      ...(payoutSupervised(config) ? { payout: payoutChild() } : {}),
    }),
    childEnv: { ...inherited, ...configToEnv(config) },
    led: { show: (state) => hal.statusLed.show(state), view: () => hal.ledView() },
    notifier,
    sdWatchdogMs: parseWatchdogUsec(process.env, process.pid),
    hardwareWatchdog: hal.watchdog,
    hal: { mode, watchdog: hal.watchdog?.id ?? null, button: hal.button?.id ?? null },
    onSlotSwitch: (reason) => stop(`slot switch: ${reason}`, EXIT_SLOT_SWITCH),
    tuning: { ...DEFAULT_TUNING, failedRetryMs: config.failedRetryMs, failedRetryMaxMs: Math.max(config.failedRetryMs, config.failedRetryMaxMs) },
    watchdogLimits: { maxLagMs: config.loopLagLimitMs, failedLimitMs: config.failedLimitMs },
    factoryReset: {
      child: 'core',
      windowMs: config.resetConfirmMs,
      via: mode === 'sim' ? 'simulated-button' : 'button',
      writeMarker: (request) => writeResetMarker(config.dataDir, request),
    },
    listeners,
    output,
  });
  const sup = supervisor;
  hal.button?.onAction((action) => sup.pressButton(action));
  const stopWatching = watchTls(tls, log, (material) => {
    listeners.updateTls(material);
    sup.sendToListenerHolder({ t: TLS_MATERIAL, material });
    log.warn(`${material.source === 'user' ? 'LUCID_TLS_CERT changed; now serving' : 'the names changed; re-issued with the same key'}: ${fingerprintLine(material)}`);
  });

  let stopping = false;
  const stop = (signal: string, exitCode = 0): void => {
    if (stopping) return;
    stopping = true;
    const deadline = Date.now() + config.stopTimeoutMs;
    log.info({ signal }, 'stopping the appliance');
    // Even if something hangs, the supervisor is gone shortly after the deadline.
    setTimeout(() => process.exit(1), config.stopTimeoutMs + 2000).unref();
    stopWatching();
    void sup.stop({ deadline })
      .then(() => listeners.close())
      .then(() => hal.stop({ deadline: Math.max(deadline, Date.now() + 500) }))
      .then(() => { log.info({ exitCode }, 'stopped'); process.exit(exitCode); }, (err: unknown) => { log.error({ err }, 'stop failed'); process.exit(1); });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => stop('SIGHUP'));

  // The ports first: a taken port is one clear line, before any child starts.
  try {
    await listeners.bind();
  } catch (err) {
    process.stderr.write(`lucid: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const urls = urlsOf(config);
  log.info({ https: urls.https, http: urls.http, certificateSha256: tls.material.certificateSha256, publicKeySha256: tls.material.publicKeySha256 },
    `web UI on ${urls.https} — ${fingerprintLine(tls.material)}; plain HTTP on ${urls.http}`);
  await hal.start();
  await sup.start();
}

process.on('uncaughtException', (err) => {
  log.fatal({ err }, 'supervisor crashed');
  // Children notice the closed IPC channel and exit; systemd restarts the supervisor.
  process.exit(70);
});
main().catch((err: unknown) => {
  log.fatal({ err }, 'supervisor failed to start');
  process.exit(1);
});
