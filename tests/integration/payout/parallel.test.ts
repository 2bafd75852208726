// N parallel requests give the result of N sequential ones: the same statement submitted 8 times
// at once, 8 requests of one payout, 8 approvals of one payout, 8 copies of one address change,
// 8 enrollments of one approver — each takes effect once, the rest get their coded answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTronNodeDouble, type TronNodeDouble } from '../../helpers/tron-node/index.js';
import { statementAnchor } from '../../helpers/statement-anchor.js';
import { epochStatement } from '../../../services/statement/index.js';
import { operatorId, payouts, registerAddress, setupWallet, startPayout, wallet, type PayoutProcess } from '../../helpers/payout.js';

let node: TronNodeDouble;
let pay: PayoutProcess;
const OPS = [operatorId(1), operatorId(2)];
const settle = async (ps: Array<Promise<unknown>>): Promise<string[]> =>
  (await Promise.allSettled(ps)).map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as { code?: string }).code ?? 'error')).sort();

beforeAll(async () => {
  node = await startTronNodeDouble({ blockMs: 50 });
  pay = await startPayout({ tronUrl: node.url });
  node.chain.setBalance(await setupWallet(pay), 10n ** 12n);
});
afterAll(async () => {
  await pay?.kill();
  await node?.close();
});

describe('parallel requests to the payout process', () => {
  it('one address change sent 8 times at once applies once; the other 7 are stale', async () => {
    const { text, version } = await pay.client.call('address.text', { operator: OPS[0]!, to: wallet(61).address }) as { text: string; version: number };
    const body = { operator: OPS[0]!, to: wallet(61).address, version, signatures: [wallet(1).sign(text), wallet(2).sign(text)] };
    expect(await settle(Array.from({ length: 8 }, () => pay.client.call('address.change', body)))).toEqual([...Array(7).fill('PAYOUT_ERR_ADDRESS_CHANGE'), 'ok']);
    const status = await pay.client.call('status', {}) as { addresses: Record<string, { version: number }> };
    expect(status.addresses[OPS[0]!]!.version).toBe(1);
  });

  it('one enrollment sent 8 times at once enrolls once', async () => {
    const { text, version } = await pay.client.call('approver.text', { approver: wallet(3).address, name: 'carol' }) as { text: string; version: number };
    const body = { approver: wallet(3).address, name: 'carol', version, signatures: [wallet(3).sign(text), wallet(1).sign(text), wallet(2).sign(text)] };
    const results = await settle(Array.from({ length: 8 }, () => pay.client.call('approver.enroll', body)));
    expect(results.filter((r) => r === 'ok')).toHaveLength(1);
    expect(results.filter((r) => r !== 'ok').every((r) => r === 'PAYOUT_ERR_ADDRESS_CHANGE' || r === 'PAYOUT_ERR_DUPLICATE')).toBe(true);
    expect(((await pay.client.call('status', {})) as { approvers: unknown[] }).approvers).toHaveLength(3);
  });

  it('the same statement 8 times at once: one statement, one request per line', async () => {
    await registerAddress(pay, OPS[1]!, wallet(62).address);
    const stmt = { chainId: 'lucid-test', epoch: 5, pool: '2000000000', operators: OPS.map((operator) => ({ operator, credits: 1, uptime: 0, window: 1 })) };
    // With the proof that the chain made it final (its hash computed by the shared code, as a validator would): anchored once.
    const expected = epochStatement({ ...stmt, pool: BigInt(stmt.pool), prev: null }).hash;
    const anchor = statementAnchor(stmt.chainId, stmt.epoch, expected);
    const results = await Promise.all(Array.from({ length: 8 }, () => pay.client.call('statement.submit', { ...stmt, anchor }) as Promise<{ hash: string; requested: string[]; anchor: { height: number } | null }>));
    expect(new Set(results.map((r) => r.hash))).toEqual(new Set([expected]));
    expect(results.every((r) => r.anchor?.height === anchor.height)).toBe(true);
    expect(results.flatMap((r) => r.requested).sort()).toEqual(OPS.map((o) => `5:${o}`).sort());
    expect(await payouts(pay)).toHaveLength(2);
    expect(await settle(Array.from({ length: 8 }, () => pay.client.call('payout.request', { epoch: 5, operator: OPS[0]! })))).toEqual(Array(8).fill('PAYOUT_ERR_DUPLICATE'));
  });

  it('one approval sent 8 times at once approves once, and the payout is paid once', async () => {
    const id = `5:${OPS[0]}`;
    const { text } = await pay.client.call('payout.approvalText', { id }) as { text: string };
    const results = await settle(Array.from({ length: 8 }, () => pay.client.call('payout.approve', { id, signatures: [wallet(1).sign(text)] })));
    expect(results.filter((r) => r === 'ok')).toHaveLength(1);
    expect(results.filter((r) => r !== 'ok')).toEqual(Array(7).fill('PAYOUT_ERR_STATE'));
    for (let i = 0; i < 400; i++) {
      if ((await payouts(pay)).find((p) => p.id === id)!.state === 'paid') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await payouts(pay)).find((p) => p.id === id)!.state).toBe('paid');
    expect(node.chain.transfers.filter((t) => t.to === wallet(61).address)).toHaveLength(1);
  });
});
