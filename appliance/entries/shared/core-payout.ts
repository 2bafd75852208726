// Core's side of payouts: the client of the payout process's socket, the two-person kinds
// (registered on auth's approvals before auth starts), the API routes — always registered, so
// the route table is the same on every appliance; without payouts they answer
// PAYOUT_ERR_DISABLED — and the statement feeder: once an epoch has closed on this node's chain,
// its credits go to the payout process, which computes and keeps the statement (core never
// computes what is owed). Without `LUCID_PAYOUT_POOL_USDT` nothing is stated.
import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config/index.js';
import { payoutEnabled, payoutPaths } from '../../config/index.js';
import type { Logger } from '../../../services/common/log.js';
import type { Lifecycle } from '../../../services/common/lifecycle.js';
import { PayoutClient, PayoutTwoPerson, payoutRoutes, type ApprovalsPort, type CreditSetSource, type PayoutAuditEntry } from '../../../services/payout/index.js';
import type { LedgerService } from '../../../services/ledger/index.js';

export interface CorePayoutDeps {
  readonly config: Readonly<Config>;
  readonly log: Logger;
  /** services/auth's approvals, not started yet. */
  readonly approvals: ApprovalsPort;
  /** The ledger, once made (the feeder and statements use it after start). */
  readonly ledger: () => LedgerService;
  readonly selfOperator: string;
  readonly audit: (entry: PayoutAuditEntry) => Promise<unknown>;
  readonly walletsOf: (userId: string) => Promise<readonly string[]>;
  readonly userOfWallet: (address: string) => Promise<string | null>;
}

export interface CorePayout {
  readonly routes: FastifyPluginAsync;
  /** Null when payouts are off. */
  readonly feeder: Lifecycle | null;
}

export function corePayout(deps: CorePayoutDeps): CorePayout {
  const enabled = payoutEnabled(deps.config);
  const client = enabled ? new PayoutClient({ socketPath: payoutPaths(deps.config).socket }) : null;
  const twoPerson = client ? new PayoutTwoPerson(deps.approvals, client) : null;
  twoPerson?.register();
  const pool = BigInt(deps.config.payoutPoolUsdt) * 1_000_000n;
  const credits: CreditSetSource = async (epoch) => {
    if (pool === 0n) return null;
    const ledger = deps.ledger();
    const current = (await ledger.creditsForEpoch()).epoch;
    if (epoch >= current) return null;
    const c = await ledger.creditsForEpoch(epoch);
    // No block in the epoch (before genesis, or a chain stalled all of it): nothing to state.
    if (c.blocks === 0) return null;
    return {
      chainId: ledger.state().chainId, epoch, pool: String(pool),
      // Uptime share for the bonus: the node's commit signatures over the epoch's blocks.
      operators: c.nodes.map((n) => ({ operator: n.node, credits: n.total, uptime: n.validation, window: c.blocks })),
    };
  };
  const routes = payoutRoutes({ client, twoPerson, audit: deps.audit, walletsOf: deps.walletsOf, userOfWallet: deps.userOfWallet, credits, selfOperator: deps.selfOperator });
  if (!client) return { routes, feeder: null };
  let timer: NodeJS.Timeout | undefined;
  // Epochs are long (a day); a look every ten payout polls (30 s by default) is plenty.
  const feedEveryMs = Math.max(1000, deps.config.payoutPollMs * 10);
  const feed = async (): Promise<void> => {
    const ledger = deps.ledger();
    if (pool === 0n || !ledger.ready) return;
    const current = (await ledger.creditsForEpoch()).epoch;
    const stated = (await client.call('statement.list', {})) as Array<{ epoch: number }>;
    const last = stated.at(-1)?.epoch ?? current - 2;
    for (let e = Math.max(0, last + 1); e < current; e++) {
      const set = await credits(e);
      if (set) await client.call('statement.submit', set);
    }
  };
  return {
    routes,
    feeder: {
      async start() {
        const tick = (): void => {
          timer = setTimeout(() => {
            feed().catch((err: unknown) => deps.log.debug({ err: (err as Error).message }, 'statement feeder: will retry')).finally(tick);
          }, feedEveryMs);
          timer.unref();
        };
        tick();
      },
      async stop() {
        clearTimeout(timer);
        client.close();
      },
    },
  };
}
