// Where the payout process keeps its data and its socket, and whether it runs. One function for
// the supervisor (which starts it in development), the payout entry and core (which connects).
// On a device the payout process is its own systemd unit: the unit sets LUCID_PAYOUT_DIR and
// LUCID_PAYOUT_SOCKET, and the supervisor does not start it (services/payout/README.md).
import { join, resolve } from 'node:path';
import type { Config } from './schema.js';

export interface PayoutPaths {
  readonly dir: string;
  readonly socket: string;
}

export function payoutPaths(config: Pick<Config, 'dataDir' | 'payoutDir' | 'payoutSocket'>): PayoutPaths {
  return {
    dir: resolve(config.payoutDir ?? join(config.dataDir, 'payout')),
    socket: resolve(config.payoutSocket ?? join(config.dataDir, 'sockets', 'payout.sock')),
  };
}

/** Does this appliance pay out at all (core then shows the Payouts page and connects)? */
export function payoutEnabled(config: Pick<Config, 'payout' | 'tronUrl'>): boolean {
  return config.payout === 'on' || config.payout === 'external' || (config.payout === 'auto' && config.tronUrl !== null);
}

/** Does the supervisor start it (development), rather than systemd (a device)? */
export function payoutSupervised(config: Pick<Config, 'payout' | 'tronUrl'>): boolean {
  return payoutEnabled(config) && config.payout !== 'external';
}
