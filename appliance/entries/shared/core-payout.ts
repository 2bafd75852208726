// Core's side of payouts: the client of the payout process's socket, the API routes, and the
// statement feeder — once an epoch has closed on this node's chain, its credits go to the payout
// process, which computes and keeps the statement (core never computes what is owed). Without
// `LUCID_PAYOUT_POOL_USDT` nothing is stated. Everything here is off unless payouts are enabled.
import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config/index.js';
import { payoutEnabled, payoutPaths } from '../../config/index.js';
import type { Logger } from '../../../services/common/log.js';
import type { Lifecycle } from '../../../services/common/lifecycle.js';
import { PayoutClient, payoutRoutes, type CreditSetSource, type PayoutAuditEntry } from '../../../services/payout/index.js';
import type { LedgerService } from '../../../services/ledger/index.js';

export interface CorePayoutDeps {
  readonly config: Readonly<Config>;
  readonly log: Logger;
  readonly ledger: LedgerService;
  readonly selfOperator: string;
  readonly audit: (entry: PayoutAuditEntry) => Promise<unknown>;
  readonly walletsOf: (userId: string) => Promise<readonly string[]>;
  readonly userOfWallet: (address: string) => Promise<string | null>;
}

export interface CorePayout {
  readonly routes: FastifyPluginAsync[];
  readonly feeder: Lifecycle;
}

export function corePayout(deps: CorePayoutDeps): CorePayout | null {
  if (!payoutEnabled(deps.config)) return null;
  const client = new PayoutClient({ socketPath: payoutPaths(deps.config).socket });
  const pool = BigInt(deps.config.payoutPoolUsdt) * 1_000_000n;
  const credits: CreditSetSource = async (epoch) => {
    if (pool === 0n) return null;
    const current = (await deps.ledger.creditsForEpoch()).epoch;
    if (epoch >= current) return null;
    const c = await deps.ledger.creditsForEpoch(epoch);
    // No block in the epoch (before genesis, or a chain stalled all of it): nothing to state.
    if (c.blocks === 0) return null;
    return {
      chainId: deps.ledger.state().chainId, epoch, pool: String(pool),
      // Uptime share for the bonus: the node's commit signatures over the epoch's blocks.
      operators: c.nodes.map((n) => ({ operator: n.node, credits: n.total, uptime: n.validation, window: c.blocks })),
    };
  };
  let timer: NodeJS.Timeout | undefined;
  // Epochs are long (a day); a look every ten payout polls (30 s by default) is plenty.
  const feedEveryMs = Math.max(1000, deps.config.payoutPollMs * 10);
  const feed = async (): Promise<void> => {
    if (pool === 0n || !deps.ledger.ready) return;
    const current = (await deps.ledger.creditsForEpoch()).epoch;
    const stated = (await client.call('statement.list', {})) as Array<{ epoch: number }>;
    const last = stated.at(-1)?.epoch ?? current - 2;
    for (let e = Math.max(0, last + 1); e < current; e++) {
      const set = await credits(e);
      if (set) await client.call('statement.submit', set);
    }
  };
  return {
    routes: [payoutRoutes({ client, audit: deps.audit, walletsOf: deps.walletsOf, userOfWallet: deps.userOfWallet, credits, selfOperator: deps.selfOperator })],
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
