// Core's side of payouts: the client of the payout process's socket, the two-person kinds
// (registered on auth's approvals before auth starts), the API routes — always registered, so
// the route table is the same on every appliance; without payouts they answer
// PAYOUT_ERR_DISABLED — and the statement feeder: once the chain has made an epoch's statement
// final, its credits and the proof go to the payout process, which computes the statement itself
// and pays it only if the chain's hash is its own. A chain without a payout pool (genesis
// params.payoutPool) states nothing.
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
  // The epoch's credit set exactly as the chain stated it (pool from the genesis, capped credits,
  // uptime in time), with the proof of its statement transaction once that is final.
  const credits: CreditSetSource = async (epoch) => {
    const st = await deps.ledger().statements.of(epoch);
    if (!st || st.creditSet.pool === '0') return null;
    return st.anchor ? { ...st.creditSet, anchor: st.anchor } : st.creditSet;
  };
  const routes = payoutRoutes({ client, twoPerson, audit: deps.audit, walletsOf: deps.walletsOf, userOfWallet: deps.userOfWallet, credits, selfOperator: deps.selfOperator });
  if (!client) return { routes, feeder: null };
  let timer: NodeJS.Timeout | undefined;
  // Epochs are long (a day); a look every ten payout polls (30 s by default) is plenty.
  const feedEveryMs = Math.max(1000, deps.config.payoutPollMs * 10);
  // Follows the chain: every statement the chain made final, oldest first from the first one the
  // payout process has not anchored (it recomputes each from the credit set and its own previous
  // statement, so it must see them all, in order), each with its proof.
  const feed = async (): Promise<void> => {
    const ledger = deps.ledger();
    if (!ledger.ready) return;
    const stated = (await client.call('statement.list', {})) as Array<{ epoch: number; anchor?: unknown }>;
    const lastAnchored = stated.filter((s) => s.anchor).at(-1)?.epoch ?? null;
    for (const e of await ledger.statements.stated(lastAnchored)) {
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
