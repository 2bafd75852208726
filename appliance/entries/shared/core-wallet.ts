// The hardware wallet as core sees it. Core brokers the USB wallet for *login* and opens it
// only for the length of one use; the payout process (later) does the same for signing. Both
// first take the supervisor lock `usb-wallet` as a try-lock (any other holder → busy), so the
// device is open in at most one process at a time — and the OS refuses a second claim anyway.
// The simulated Ledger keeps its seed in <data>/keys/sim-wallet.seed (0600) so its address is
// stable across restarts (it can be linked to a user).
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../../config/index.js';
import type { Logger } from '../../../services/common/log.js';
import { LucidError, errnoCode } from '../../../services/common/errors.js';
import { mkdirDurable, writeFileAtomic } from '../../../services/common/fs-atomic.js';
import type { SupervisorLink } from '../../../services/common/supervisor-link.js';
import { createHidTransport, createLedgerTronWallet, createSimLedger, createUsbLedgerDevice, type HidFrameDevice, type WalletDriver } from '../../../hal/index.js';

export const SIM_WALLET_SEED_FILE = 'keys/sim-wallet.seed';

export function walletKind(config: Pick<Config, 'wallet' | 'hal' | 'profile'>): 'none' | 'sim' | 'ledger' {
  if (config.wallet !== 'auto') return config.wallet;
  const simulated = config.hal === 'sim' || (config.hal === 'auto' && config.profile === 'dev');
  return simulated ? 'sim' : 'ledger';
}

async function simSeed(dataDir: string): Promise<Uint8Array> {
  const path = join(dataDir, SIM_WALLET_SEED_FILE);
  try {
    return Uint8Array.from(Buffer.from((await readFile(path, 'utf8')).trim(), 'hex'));
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  const seed = randomBytes(32);
  await mkdirDurable(join(dataDir, 'keys'), 0o700);
  await writeFileAtomic(path, `${seed.toString('hex')}\n`, { mode: 0o600 });
  return seed;
}

export async function createCoreWallet(config: Readonly<Config>, log: Logger): Promise<WalletDriver | null> {
  const kind = walletKind(config);
  log.info({ wallet: kind }, 'hardware wallet');
  if (kind === 'none') return null;
  const device = kind === 'sim' ? lazySimLedger(config.dataDir) : createUsbLedgerDevice();
  return createLedgerTronWallet({ transport: createHidTransport({ device }) });
}

/** The simulated Ledger, made (and its seed file written) on first open, not at boot. */
function lazySimLedger(dataDir: string): HidFrameDevice {
  let sim: HidFrameDevice | null = null;
  const get = (): HidFrameDevice => {
    if (!sim) throw new LucidError('HAL_ERR_UNAVAILABLE', 'simulated Ledger is not open');
    return sim;
  };
  return {
    id: 'sim',
    async open() {
      sim ??= createSimLedger({ seed: await simSeed(dataDir) });
      await sim.open();
    },
    write: (report) => get().write(report),
    read: (timeoutMs) => get().read(timeoutMs),
    close: async () => { await sim?.close(); },
  };
}

export function walletBroker(link: Pick<SupervisorLink, 'attached' | 'request'>): () => Promise<() => Promise<void>> {
  return async () => {
    if (!link.attached) return async () => {};
    const release = async (): Promise<void> => { await link.request('lock.release', { name: 'usb-wallet' }); };
    const { holders } = await link.request('lock.acquire', { name: 'usb-wallet' });
    if (holders.some((h) => h !== (process.env['LUCID_CHILD_NAME'] ?? 'core'))) {
      await release();
      throw new LucidError('HAL_ERR_UNAVAILABLE', 'the hardware wallet is in use by another process; try again');
    }
    return release;
  };
}
