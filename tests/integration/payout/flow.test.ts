// The payout process end to end against the TRON node double: statement → requests → approvals
// (two from 5,000 USDT) → offline build → decode-and-check → keystore signature → broadcast →
// 20 confirmations → paid. Money is checked on the double's own books.
import { afterEach, describe, expect, it } from 'vitest';
import { startTronNodeDouble, type TronNodeDouble } from '../../helpers/tron-node/index.js';
import { approve, operatorId, payouts, registerAddress, setupWallet, startPayout, waitFor, wallet, type PayoutProcess } from '../../helpers/payout.js';
import { submitAnchored } from '../../helpers/statement-anchor.js';

const USDT = 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t';
let node: TronNodeDouble | null = null;
let pay: PayoutProcess | null = null;
afterEach(async () => {
  await pay?.kill();
  await node?.close();
  pay = null;
  node = null;
});

describe('payout flow', () => {
  it('pays three operators once each, the 6,000 USDT one only after a second approver', async () => {
    node = await startTronNodeDouble({ blockMs: 40 });
    pay = await startPayout({ tronUrl: node.url });
    const walletAddress = await setupWallet(pay);
    node.chain.setBalance(walletAddress, 100_000_000_000n);
    const ops = [operatorId(1), operatorId(2), operatorId(3)];
    const dest = [wallet(11), wallet(12), wallet(13)];
    for (const [i, op] of ops.entries()) await registerAddress(pay, op, dest[i]!.address);
    // Pool 7,000 USDT over credits 1 : 2 : 12 → gross 466.666…, 933.33…, 5,600; 95 % each.
    const res = await submitAnchored(pay.client, {
      chainId: 'lucid-test', epoch: 1, pool: '7000000000',
      operators: ops.map((operator, i) => ({ operator, credits: [1, 2, 12][i]!, uptime: 100, window: 100 })),
    });
    expect(res.requested).toHaveLength(3);
    const list = await payouts(pay);
    const big = list.find((p) => BigInt(p.amount) >= 5_000_000_000n)!;
    expect(big).toBeDefined();
    for (const p of list) {
      if (p === big) continue;
      await approve(pay, p.id, [wallet(1)]);
    }
    await expect(approve(pay, big.id, [wallet(1)])).rejects.toMatchObject({ code: 'PAYOUT_ERR_SECOND_APPROVAL' });
    await new Promise((r) => setTimeout(r, 300));
    expect((await payouts(pay)).find((p) => p.id === big.id)!.state).toBe('requested');
    await expect(approve(pay, big.id, [wallet(1)])).rejects.toMatchObject({ code: 'PAYOUT_ERR_SAME_APPROVER' });
    await approve(pay, big.id, [wallet(2)]);
    const done = await waitFor('all paid', async () => {
      const all = await payouts(pay!);
      return all.every((p) => p.state === 'paid') && all;
    }, 45_000);
    for (const [i, p] of done.entries()) {
      expect(p.recipient).toBe(dest[i]!.address);
      expect(node.chain.balanceOf(dest[i]!.address)).toBe(BigInt(p.amount));
      expect(node.chain.transfers.filter((t) => t.to === dest[i]!.address)).toHaveLength(1);
      const txid = p.attempts.at(-1)!.txid;
      expect(node.chain.included.get(txid)?.result).toBe('SUCCESS');
      expect(node.chain.head.number - node.chain.included.get(txid)!.blockNumber + 1).toBeGreaterThanOrEqual(20);
    }
    const paid = done.reduce((a, p) => a + BigInt(p.amount), 0n);
    expect(node.chain.balanceOf(walletAddress)).toBe(100_000_000_000n - paid);
    const status = await pay.client.call('status', {}) as { balance: { usdt: string }; signer: { method: string; address: string } };
    expect(status.signer).toMatchObject({ method: 'keystore', address: walletAddress });
    expect(status.balance.usdt).toBe(String(100_000_000_000n - paid));
    expect(node.requests.every((r) => r.path.startsWith('/wallet'))).toBe(true);
    void USDT;
  });
});
