// Payout statements anchored on a real chain of two appliances (issue 23): a genesis with both
// nodes as validators, a payout pool and 2-second credit epochs. Each node's core submits the
// statement of every closed epoch as a `statement` transaction; the chain makes exactly one per
// epoch final (every validator checked it against its own computation); each node's feeder then
// sends the credit set and the proof to its own payout process, which recomputes the statement,
// checks the proof and only then pays. Checked: the statements are identical on both nodes and
// on chain (hash, height, block hash), chained epoch to epoch; one of them is paid through the
// TRON double from a payout process that had it anchored.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { startTronNodeDouble, type TronNodeDouble } from '../../helpers/tron-node/index.js';
import { PASSPHRASE, approve, payouts, registerAddress, setupWallet, wallet, type PayoutProcess } from '../../helpers/payout.js';
import { loadOrCreateNodeIdentity } from '../../../services/identity/index.js';
import { makeGenesis } from '../../../services/ledger/index.js';
import { PayoutClient } from '../../../services/payout/index.js';
import { silentLogger } from '../../../services/common/log.js';

type Stmt = {
  epoch: number; hash: string; verifiedBy: string; anchor: { height: number; blockHash: string; submitter: string } | null;
  document: { prev: string | null; totals: Record<string, string>; lines: Array<Record<string, string | number>> };
};

let node: TronNodeDouble;
const apps: RunningAppliance[] = [];
const keys: string[] = [];

beforeAll(async () => {
  node = await startTronNodeDouble({ blockMs: 40 });
  const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'lucid-feed-')));
  for (const d of dirs) keys.push((await loadOrCreateNodeIdentity(d, silentLogger())).publicKeyHex);
  const genesisPath = join(dirs[0]!, 'genesis.json');
  // 100 USDT per epoch: ~47.5 USDT for each node, payable (≥ 10) every epoch.
  writeFileSync(genesisPath, JSON.stringify(makeGenesis({ chainId: 'lucid-feed', params: { epochMs: 2000, windowMs: 8000, payoutPool: 100_000_000 }, validators: keys.map((publicKey) => ({ publicKey, power: 1 })) })));
  const p2p = [await freePort(), await freePort()];
  for (const [i, dataDir] of dirs.entries()) {
    apps.push(await startAppliance({
      dataDir,
      env: {
        LUCID_TRON_URL: node.url, LUCID_GENESIS: genesisPath, LUCID_SLOT_MS: '250', LUCID_EMPTY_BLOCK_INTERVAL_S: '0', LUCID_PAYOUT_POLL_MS: '100',
        LUCID_MDNS: 'off', LUCID_P2P_PORT: String(p2p[i]), LUCID_PEERS: `127.0.0.1:${p2p[1 - i]}`,
      },
    }));
  }
  await Promise.all(apps.map((a) => a.waitHealthy(30_000)));
}, 90_000);
afterAll(async () => {
  for (const a of apps) await a?.cleanup();
  await node?.close();
});

const statements = async (a: RunningAppliance): Promise<Stmt[]> => (await a.json<{ items: Stmt[] }>('/api/v1/payouts/statements')).items;
const line = (s: Stmt, op: string) => s.document.lines.find((l) => l['operator'] === op);

describe('payout statements anchored on a chain of two appliances', () => {
  it('every closed epoch is stated once on chain, identical on both nodes, chained; the payout process pays from it', async () => {
    // Two anchored statements on both nodes, the later with credits of both nodes.
    const both = await apps[0]!.waitFor('anchored statements on both nodes', async () => {
      const [a, b] = await Promise.all(apps.map(statements));
      const anchored = (xs: Stmt[]) => xs.filter((s) => s.anchor);
      const credited = (xs: Stmt[]) => anchored(xs).filter((s) => keys.every((k) => Number(line(s, k)?.['credits'] ?? 0) > 0));
      return credited(a!).length >= 2 && credited(b!).length >= 2 && [anchored(a!), anchored(b!)];
    }, 60_000);
    const [a, b] = both as [Stmt[], Stmt[]];
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      // The same epoch, hash and anchoring (height, block hash, the one transaction the chain took) on both nodes.
      expect(b[i]!.epoch).toBe(a[i]!.epoch);
      expect(b[i]!.hash).toBe(a[i]!.hash);
      expect(b[i]!.anchor!.height).toBe(a[i]!.anchor!.height);
      expect(b[i]!.anchor!.blockHash).toBe(a[i]!.anchor!.blockHash);
      expect(b[i]!.anchor!.submitter).toBe(a[i]!.anchor!.submitter);
      expect(keys).toContain(a[i]!.anchor!.submitter);
      if (i > 0) {
        expect(a[i]!.epoch).toBeGreaterThan(a[i - 1]!.epoch);
        expect(a[i]!.document.prev).toBe(a[i - 1]!.hash);
        expect(a[i]!.anchor!.height).toBeGreaterThan(a[i - 1]!.anchor!.height);
      }
      const t = a[i]!.document.totals;
      expect(BigInt(t['pool']!)).toBe(100_000_000n);
      expect(BigInt(t['pool']!) + BigInt(t['carriedIn']!)).toBe(BigInt(t['payable']!) + BigInt(t['carriedOut']!) + BigInt(t['commission']!));
    }
    // The chain's own record of the anchoring block (from the other node).
    const first = a[0]!;
    const { blocks } = await apps[1]!.json<{ blocks: Array<{ height: number; hash: string; txCount: number }> }>(`/api/v1/ledger/blocks?before=${first.anchor!.height + 1}&limit=1`);
    expect(blocks[0]).toMatchObject({ height: first.anchor!.height, hash: first.anchor!.blockHash });
    expect(blocks[0]!.txCount).toBeGreaterThanOrEqual(1);

    // Node 0's payout process pays node 0's line of a credited, anchored epoch.
    const self = keys[0]!;
    const paid = a.find((s) => BigInt(String(line(s, self)?.['payable'] ?? '0')) > 0n)!;
    expect(paid, 'an anchored statement with something payable to node 0').toBeDefined();
    const client = new PayoutClient({ socketPath: join(apps[0]!.dataDir, 'sockets', 'payout.sock'), timeoutMs: 20_000 });
    const pay = { client } as unknown as PayoutProcess;
    try {
      const walletAddress = await setupWallet(pay);
      node.chain.setBalance(walletAddress, 1_000_000_000n);
      await registerAddress(pay, self, wallet(41).address);
      const r = await client.call('payout.request', { epoch: paid.epoch, operator: self }) as { id: string; amount: string; statementHash: string };
      expect(r.amount).toBe(String(line(paid, self)!['payable']));
      expect(r.statementHash).toBe(paid.hash);
      await approve(pay, r.id, [wallet(1)]);
      // Under a heavy load the supervisor may restart the payout child (a missed heartbeat): a new
      // process has a locked keystore, so the admin unlocks it again, as on a device.
      const done = await apps[0]!.waitFor('paid', async () => {
        const st = await client.call('status', {}) as { signer: { ready: boolean } };
        if (!st.signer.ready) await client.call('keystore.unlock', { passphrase: PASSPHRASE });
        return (await payouts(pay)).find((p) => p.id === r.id && p.state === 'paid');
      }, 90_000);
      expect(node.chain.balanceOf(wallet(41).address)).toBe(BigInt(done.amount));
      // An epoch the chain has not stated (far in the future) is refused, nothing signed.
      await expect(client.call('payout.request', { epoch: paid.epoch + 100_000, operator: self })).rejects.toMatchObject({ code: 'PAYOUT_ERR_STATEMENT' });
    } catch (err) {
      // What the payout process and core said (the process is a supervisor child: its exits are logged).
      const lines = apps[0]!.output().split('\n').filter((l) => /payout|statement|child/i.test(l)).slice(-40);
      throw new Error(`${(err as Error).message}\n--- appliance 0 (payout lines) ---\n${lines.join('\n')}`);
    } finally {
      client.close();
    }
  }, 200_000);
});
