// Composition root of the payout process: the only process that knows TRON, holds the payout
// key (keystore) or talks to the Ledger for payouts, and moves money. It has its own data
// directory, no store, no HTTP server; core reaches it only through its Unix socket
// (services/payout/protocol.ts). In development the supervisor starts it as child `payout`
// under Node's permission model; on a device it is its own systemd unit (its own user,
// network allow-list, device allow-list) — services/payout/README.md "Isolation".
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfigOrExit, payoutPaths, EXIT_CONFIG } from '../config/index.js';
import { createRootLogger, type Logger } from '../../services/common/log.js';
import { SupervisorLink } from '../../services/common/supervisor-link.js';
import { LifecycleStack } from '../../services/common/lifecycle.js';
import { errnoCode } from '../../services/common/errors.js';
import { writeFileAtomic } from '../../services/common/fs-atomic.js';
import {
  PayoutService, PayoutServer, createTronNode, keystoreSigner, ledgerSigner, coreReportedCredits, usdt, DEFAULT_LIMITS,
} from '../../services/payout/process.js';
import { DEFAULT_TRON_PATH, createHidTransport, createLedgerTronWallet, createSimLedger, createUsbLedgerDevice, type WalletDriver } from '../../hal/index.js';
import { crashHook } from './shared/test-crash.js';
import { installProcessHandlers } from './shared/process-handlers.js';
import { walletBroker, walletKind } from './shared/core-wallet.js';
import { randomBytes } from 'node:crypto';

const config = loadConfigOrExit();
const log: Logger = createRootLogger({ name: process.env['LUCID_CHILD_NAME'] ?? 'payout', level: config.logLevel });
const link = new SupervisorLink({ log, heartbeatMs: config.heartbeatMs, onDisconnect: () => void shutdown('supervisor gone', 0) });
const stack = new LifecycleStack((part, err) => log.error({ part, err }, 'stop failed'));
const shutdown = installProcessHandlers({ log, stack, link, deadlineMs: Math.min(config.stopTimeoutMs, 8000) });

/** The Ledger for payouts, opened per use (the simulated one keeps its seed in the payout dir). */
function ledger(dir: string): { withWallet: <T>(use: (w: WalletDriver) => Promise<T>) => Promise<T> } {
  const kind = walletKind({ wallet: 'auto', hal: config.hal, profile: config.profile });
  let sim: ReturnType<typeof createSimLedger> | null = null;
  const device = async () => {
    if (kind !== 'sim') return createUsbLedgerDevice();
    if (!sim) {
      const path = join(dir, 'sim-ledger.seed');
      let seed: Buffer;
      try {
        seed = Buffer.from((await readFile(path, 'utf8')).trim(), 'hex');
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err;
        seed = randomBytes(32);
        await writeFileAtomic(path, `${seed.toString('hex')}\n`, { mode: 0o600 });
      }
      sim = createSimLedger({ seed, id: 'sim-payout' });
    }
    return sim;
  };
  const acquire = walletBroker(link);
  return {
    async withWallet(use) {
      const release = await acquire();
      const wallet = createLedgerTronWallet({ transport: createHidTransport({ device: await device() }) });
      try {
        await wallet.open();
        return await use(wallet);
      } finally {
        await wallet.close().catch(() => undefined);
        await release().catch(() => undefined);
      }
    },
  };
}

async function main(): Promise<void> {
  link.start();
  if (!config.tronUrl) {
    log.fatal('LUCID_TRON_URL is not set: the payout process has no TRON node to use');
    process.exit(EXIT_CONFIG);
  }
  const paths = payoutPaths(config);
  const node = createTronNode({ url: config.tronUrl, apiKey: config.tronApiKey ?? undefined });
  const ledgerFile = join(paths.dir, 'ledger.json');
  const ledgerAddress = async (): Promise<string | null> => {
    try { return (JSON.parse(await readFile(ledgerFile, 'utf8')) as { address: string }).address; } catch { return null; }
  };
  const device = ledger(paths.dir);
  // Test hook (test-crash.ts): stated, requested, approved, built, signed-not-recorded, signed,
  // sent-not-recorded, broadcast, paid, abandoned.
  const crashPoint = crashHook('LUCID_PAYOUT_TEST_CRASH', 'payout');
  const service = new PayoutService({
    dataDir: paths.dir,
    engine: {
      contract: config.payoutContract,
      feeLimit: config.payoutFeeLimitSun,
      ttlMs: config.payoutTxTtlMs,
      maxRefAgeMs: Math.max(60_000, Math.min(config.payoutTxTtlMs, 3_600_000)),
      confirmations: config.payoutConfirmations,
      limits: { ...DEFAULT_LIMITS, daily: usdt(config.payoutDailyLimitUsdt) },
    },
    node,
    nodeUrl: config.tronUrl,
    makeSigner: (keystore) => (config.payoutSigner === 'ledger'
      ? ledgerSigner({ withWallet: device.withWallet, path: DEFAULT_TRON_PATH, address: ledgerAddress })
      : keystoreSigner(keystore)),
    verifier: coreReportedCredits,
    pollMs: config.payoutPollMs,
    unlockMs: config.payoutUnlockMs,
    log,
    ...(crashPoint ? { crashPoint } : {}),
    ledgerAddress: async () => {
      // Shown on the device for the person to confirm: the address payouts will come from.
      const address = await device.withWallet(async (w) => (await w.getAddress(DEFAULT_TRON_PATH, { display: true })).address);
      await writeFileAtomic(ledgerFile, `${JSON.stringify({ address, path: DEFAULT_TRON_PATH })}\n`, { mode: 0o600 });
      return address;
    },
  });
  await stack.start('payout', { start: () => service.start(), stop: () => service.stop() });
  await stack.start('socket', new PayoutServer({
    socketPath: paths.socket,
    socketMode: config.profile === 'device' ? 0o660 : 0o600,
    handle: (op, args) => service.handle(op, args),
    log,
  }));
  log.info({ socket: paths.socket, dir: paths.dir, signer: config.payoutSigner, node: config.tronUrl }, 'payout process ready');
  link.ready();
}

main().catch((err: unknown) => {
  log.fatal({ err }, 'payout process failed to start');
  process.exit(1);
});
