// Composition root of the supervisor: config, HAL, the child table, systemd integration.
// `./build.sh run` and the device's systemd unit both start this file.
import { dirname, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfigOrExit, configToEnv, detectRaspberryPi, payoutPaths, payoutSupervised } from '../config/index.js';
import { createRootLogger } from '../../services/common/log.js';
import { buildInfo } from '../../services/common/build-info.js';
import { Supervisor, childTable, DEFAULT_TUNING, type PayoutChildOptions } from '../supervisor/index.js';
import { writeResetMarker } from '../../services/common/reset-marker.js';
import { createSdNotifier, parseWatchdogUsec } from '../../hal/index.js';
import { createSupervisorHal, halMode } from './shared/supervisor-hal.js';

const config = loadConfigOrExit();
const log = createRootLogger({ name: 'supervisor', level: config.logLevel });

// Children never see systemd's notify socket: only the supervisor speaks to systemd.
const SYSTEMD_ONLY = new Set(['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES']);
const inherited = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => v !== undefined && !SYSTEMD_ONLY.has(k) && !k.startsWith('LUCID_'))) as Record<string, string>;

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
  const mode = halMode(config, detectRaspberryPi(config.sysRoot));
  const hal = createSupervisorHal(config, mode, log);
  const notifier = createSdNotifier({ socketPath: process.env['NOTIFY_SOCKET'], onError: (err: unknown) => log.warn({ err }, 'sd_notify failed') });
  const supervisor = new Supervisor({
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
    tuning: { ...DEFAULT_TUNING, failedRetryMs: config.failedRetryMs, failedRetryMaxMs: Math.max(config.failedRetryMs, config.failedRetryMaxMs) },
    watchdogLimits: { maxLagMs: config.loopLagLimitMs, failedLimitMs: config.failedLimitMs },
    factoryReset: {
      child: 'core',
      windowMs: config.resetConfirmMs,
      via: mode === 'sim' ? 'simulated-button' : 'button',
      writeMarker: (request) => writeResetMarker(config.dataDir, request),
    },
  });
  hal.button?.onAction((action) => supervisor.pressButton(action));

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    const deadline = Date.now() + config.stopTimeoutMs;
    log.info({ signal }, 'stopping the appliance');
    // Even if something hangs, the supervisor is gone shortly after the deadline.
    setTimeout(() => process.exit(1), config.stopTimeoutMs + 2000).unref();
    void supervisor.stop({ deadline })
      .then(() => hal.stop({ deadline: Math.max(deadline, Date.now() + 500) }))
      .then(() => { log.info('stopped'); process.exit(0); }, (err: unknown) => { log.error({ err }, 'stop failed'); process.exit(1); });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => stop('SIGHUP'));

  await hal.start();
  await supervisor.start();
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
