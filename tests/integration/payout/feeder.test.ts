// Core's statement feeder on a real appliance: a one-validator chain with 2-second credit
// epochs; once an epoch closes, core sends its credits to the payout process, which states it
// (this node's line: credits from its commit signatures) and chains each statement to the one
// before. The operator's earnings come back through the API.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { startTronNodeDouble, type TronNodeDouble } from '../../helpers/tron-node/index.js';
import { loadOrCreateNodeIdentity } from '../../../services/identity/index.js';
import { makeGenesis } from '../../../services/ledger/index.js';
import { silentLogger } from '../../../services/common/log.js';

let node: TronNodeDouble;
let app: RunningAppliance;
let self = '';

beforeAll(async () => {
  node = await startTronNodeDouble();
  const dataDir = mkdtempSync(join(tmpdir(), 'lucid-feed-'));
  const identity = await loadOrCreateNodeIdentity(dataDir, silentLogger());
  self = identity.publicKeyHex;
  const genesisPath = join(dataDir, 'genesis.json');
  writeFileSync(genesisPath, JSON.stringify(makeGenesis({ chainId: 'lucid-feed', params: { epochMs: 2000, windowMs: 8000 }, validators: [{ publicKey: self, power: 1 }] })));
  app = await startAppliance({ dataDir, env: { LUCID_TRON_URL: node.url, LUCID_GENESIS: genesisPath, LUCID_SLOT_MS: '250', LUCID_EMPTY_BLOCK_INTERVAL_S: '0', LUCID_PAYOUT_POOL_USDT: '100', LUCID_PAYOUT_POLL_MS: '100', LUCID_MDNS: 'off', LUCID_P2P_PORT: '0' } });
  await app.waitHealthy(30_000);
}, 60_000);
afterAll(async () => {
  await app?.cleanup();
  await node?.close();
});

describe('statement feeder', () => {
  it('states every closed epoch from the chain\'s credits, chained, with this node\'s line', async () => {
    type Stmt = { epoch: number; hash: string; verifiedBy: string; document: { prev: string | null; totals: Record<string, string>; lines: Array<Record<string, string | number>> } };
    const items = await app.waitFor('two statements', async () => {
      const r = await app.json<{ items: Stmt[] }>('/api/v1/payouts/statements');
      const credited = r.items.findIndex((s) => Number(s.document.lines.find((l) => l['operator'] === self)?.['credits'] ?? 0) > 0);
      return credited >= 0 && r.items.length >= credited + 2 && r.items;
    }, 30_000);
    for (const [i, s] of items.entries()) {
      expect(s.verifiedBy).toBe('core-reported');
      if (i > 0) {
        expect(s.epoch).toBe(items[i - 1]!.epoch + 1);
        expect(s.document.prev).toBe(items[i - 1]!.hash);
      }
      const line = s.document.lines.find((l) => l['operator'] === self);
      expect(line, `epoch ${s.epoch} names this node`).toBeDefined();
      // Epochs are 2 s of genesis time: one that ended before the appliance had started (a slow
      // start on a loaded machine) holds no block and no credits. From the first epoch with
      // credits on, the chain decides every slot, so every later epoch has them.
      if (i > 0 && Number(items[i - 1]!.document.lines.find((l) => l['operator'] === self)?.['credits'] ?? 0) > 0) {
        expect(Number(line!['credits']), `epoch ${s.epoch} after an epoch with credits`).toBeGreaterThan(0);
      }
      // 100 USDT to the only operator: 95 % share, carried (no address registered, and kept under
      // the 10 USDT minimum only if nothing else) — the totals add up either way.
      const t = s.document.totals;
      expect(BigInt(t['pool']!) + BigInt(t['carriedIn']!)).toBe(BigInt(t['payable']!) + BigInt(t['carriedOut']!) + BigInt(t['commission']!));
    }
    expect(items.some((s) => Number(s.document.lines.find((l) => l['operator'] === self)?.['credits'] ?? 0) > 0), 'some epoch has credits').toBe(true);
    const earnings = await app.json<{ operator: string; lines: Array<{ epoch: number }> }>('/api/v1/payouts/earnings');
    expect(earnings.operator).toBe(self);
    expect(earnings.lines.map((l) => l.epoch)).toEqual(expect.arrayContaining(items.map((s) => s.epoch)));
  }, 60_000);
});
