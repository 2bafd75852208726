// kill -9 of the payout process at every step of a payout, parametrized: the process SIGKILLs
// itself at a named point (LUCID_PAYOUT_TEST_CRASH), is started again on the same data, the
// keystore is unlocked again (a new session), and the payouts run to the end. The double's books
// decide: every payout ends paid (or failed), each operator received exactly its amount in
// exactly one transfer, no txid was included twice, and the wallet lost exactly what was paid.
// A second test kills it from outside at seeded random moments, many times over.
import { afterEach, describe, expect, it } from 'vitest';
import { startTronNodeDouble, type TronNodeDouble } from '../../helpers/tron-node/index.js';
import {
  PASSPHRASE, approve, operatorId, payouts, registerAddress, startPayout, waitFor, wallet, type PayoutProcess, type PayoutView,
} from '../../helpers/payout.js';
import { submitAnchored } from '../../helpers/statement-anchor.js';

const FUNDS = 1_000_000_000_000n;
const OPS = [operatorId(1), operatorId(2), operatorId(3)];
const DEST = [wallet(21), wallet(22), wallet(23)];
// Pool 7,000 USDT, credits 1 : 2 : 12: one payout needs two approvers.
const STATEMENT = { chainId: 'lucid-test', epoch: 4, pool: '7000000000', operators: OPS.map((operator, i) => ({ operator, credits: [1, 2, 12][i]!, uptime: 1, window: 1 })) };

let node: TronNodeDouble | null = null;
let pay: PayoutProcess | null = null;
afterEach(async () => {
  funded = null;
  await pay?.kill();
  await node?.close();
  pay = null;
  node = null;
});

const gone = (err: unknown): boolean => ['PAYOUT_ERR_UNAVAILABLE', 'PAYOUT_ERR_STATE', 'PAYOUT_ERR_DUPLICATE'].includes((err as { code?: string }).code ?? '');

/** Everything an admin does, redone idempotently after any crash. */
let funded: string | null = null;
async function drive(p: PayoutProcess): Promise<void> {
  const status = await p.client.call('status', {}) as { signer: { address: string | null }; approvers: Array<{ address: string }>; addresses: Record<string, unknown> };
  let address = status.signer.address;
  if (!address) address = (await p.client.call('keystore.create', { passphrase: PASSPHRASE }) as { address: string }).address;
  if (funded !== address) {
    node!.chain.setBalance(address, FUNDS);
    funded = address;
  }
  await p.client.call('keystore.unlock', { passphrase: PASSPHRASE });
  const admins = [wallet(1), wallet(2)];
  for (const [i, a] of admins.entries()) {
    if (status.approvers.some((x) => x.address === a.address)) continue;
    const { text, version } = await p.client.call('approver.text', { approver: a.address, name: `admin-${i + 1}` }) as { text: string; version: number };
    await p.client.call('approver.enroll', { approver: a.address, name: `admin-${i + 1}`, version, signatures: admins.slice(0, i + 1).map((w) => w.sign(text)) });
  }
  for (const [i, op] of OPS.entries()) if (!status.addresses[op]) await registerAddress(p, op, DEST[i]!.address);
  await submitAnchored(p.client, STATEMENT);
  for (const op of OPS) await p.client.call('payout.request', { epoch: 4, operator: op }).catch((e: unknown) => { if (!gone(e)) throw e; });
  for (const r of await payouts(p)) {
    if (r.state !== 'requested') continue;
    const signers = BigInt(r.amount) >= 5_000_000_000n ? [wallet(1), wallet(2)] : [wallet(1)];
    await approve(p, r.id, signers).catch((e: unknown) => { if (!gone(e)) throw e; });
  }
}

const dead = (p: PayoutProcess): boolean => p.child.exitCode !== null || p.child.signalCode !== null;

/** Drives until every payout is final; null when the process died on the way. */
async function finish(p: PayoutProcess, extra: () => boolean = () => true): Promise<PayoutView[] | null> {
  try {
    await drive(p);
  } catch (err) {
    // The connection drops a moment before the exit is reported.
    if ((err as { code?: string }).code === 'PAYOUT_ERR_UNAVAILABLE') await Promise.race([p.exited(), new Promise((r) => setTimeout(r, 5000))]);
    if (dead(p)) return null;
    throw err;
  }
  const r = await waitFor('every payout final (or the process gone)', async () => {
    if (dead(p)) return 'dead' as const;
    const all = await payouts(p).catch(() => null);
    return all !== null && extra() && all.length === 3 && all.every((x) => x.state === 'paid' || x.state === 'failed') && all;
  }, 60_000);
  return r === 'dead' ? null : r;
}

async function runToEnd(p: PayoutProcess): Promise<PayoutView[]> {
  for (let round = 0; round < 4; round++) {
    const final = await finish(p);
    if (final) return final;
    await p.exited();
    await p.restart({ LUCID_PAYOUT_TEST_CRASH: '' });
  }
  throw new Error('did not finish after 4 restarts');
}

// What each operator is owed, worked out by hand from the statement (not by the code under test):
// gross = 7,000 USDT × 1/15, 2/15, 12/15 in micro-USDT, floors 466,666,666 / 933,333,333 /
// 5,600,000,000, the one unit left to the largest remainder (operator 1); share = floor(95 %),
// bonus = floor(2 %) (uptime 100 %); due = share + bonus, all payable (10 ≤ due ≤ 10,000 USDT).
const OWED = [443_333_333n + 9_333_333n, 886_666_666n + 18_666_666n, 5_320_000_000n + 112_000_000n];

/**
 * The double's books after the run. `oneTransaction`: exactly one signed transaction per
 * idempotency key ever reached the node (however often it was re-sent); otherwise every one that
 * did is one of the payout's recorded attempts, and at most one of them was included.
 */
function checkBooks(final: PayoutView[], wallet0: string, oneTransaction = false): void {
  let paid = 0n;
  for (const [i, op] of OPS.entries()) {
    const r = final.find((x) => x.id === `4:${op}`)!;
    expect(r.state).toBe('paid');
    expect(BigInt(r.amount), `operator ${i + 1}'s amount`).toBe(OWED[i]);
    expect(node!.chain.balanceOf(DEST[i]!.address)).toBe(OWED[i]);
    // Broadcasts per idempotency key (epoch 4, this operator: this recipient).
    const sent = node!.chain.broadcastsTo(DEST[i]!.address);
    const attempts = new Set(r.attempts.map((a) => a.txid));
    for (const txid of sent.keys()) expect(attempts.has(txid), `broadcast ${txid} is a recorded attempt`).toBe(true);
    expect([...sent.keys()].filter((t) => node!.chain.included.has(t) && node!.chain.included.get(t)!.result === 'SUCCESS')).toHaveLength(1);
    if (oneTransaction) expect([...sent.keys()], `signed transactions sent for ${r.id}`).toHaveLength(1);
    const transfers = node!.chain.transfers.filter((t) => t.to === DEST[i]!.address);
    expect(transfers, `transfers to operator ${i + 1}`).toHaveLength(1);
    expect(transfers[0]!.amount).toBe(BigInt(r.amount));
    expect(transfers[0]!.txid).toBe(r.attempts.at(-1)!.txid);
    paid += BigInt(r.amount);
  }
  // One payout, one txid on chain: every other attempt was proven dead before the next.
  const txids = final.flatMap((r) => r.attempts.map((a) => a.txid));
  expect(new Set(txids).size).toBe(txids.length);
  for (const t of txids) expect(node!.chain.transfers.filter((x) => x.txid === t).length).toBeLessThanOrEqual(1);
  expect(node!.chain.balanceOf(wallet0)).toBe(FUNDS - paid);
}

describe('kill -9 of the payout process at every step', () => {
  const points = ['stated', 'requested', 'approved', 'built', 'signed-not-recorded', 'signed', 'sent-not-recorded', 'broadcast', 'paid'];
  for (const point of points) {
    it(`at "${point}": every payout is paid exactly once`, async () => {
      node = await startTronNodeDouble({ blockMs: 40 });
      pay = await startPayout({ tronUrl: node.url, env: { LUCID_PAYOUT_TEST_CRASH: point } });
      const final = await runToEnd(pay);
      expect(pay.output()).toContain(`"point":"${point}"`);
      const wallet0 = (await pay.client.call('status', {}) as { signer: { address: string } }).signer.address;
      checkBooks(final, wallet0, true);
      // The double's count per txid: re-sends after a crash are possible, inclusions are not.
      for (const r of final) expect(node.chain.broadcastCount(r.attempts.at(-1)!.txid)).toBeGreaterThanOrEqual(1);
    }, 120_000);
  }

  it('at "abandoned": a transaction the node dropped is rebuilt only after it expired and the node proved it absent', async () => {
    node = await startTronNodeDouble({ blockMs: 40 });
    node.chain.fates.push('drop');
    pay = await startPayout({ tronUrl: node.url, env: { LUCID_PAYOUT_TEST_CRASH: 'abandoned', LUCID_PAYOUT_TX_TTL_MS: '1500' } });
    const final = await runToEnd(pay);
    expect(pay.output()).toContain('"point":"abandoned"');
    const wallet0 = (await pay.client.call('status', {}) as { signer: { address: string } }).signer.address;
    checkBooks(final, wallet0);
    const rebuilt = final.find((r) => r.attempts.length > 1)!;
    expect(rebuilt.attempts[0]!.outcome).toBe('abandoned');
    expect(node.chain.included.has(rebuilt.attempts[0]!.txid)).toBe(false);
    expect(node.chain.broadcastCount(rebuilt.attempts[0]!.txid)).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('a transaction that looks lost but lands late is waited for, not rebuilt (no second payment)', async () => {
    node = await startTronNodeDouble({ blockMs: 40 });
    node.chain.fates.push('late', 'late', 'late');
    pay = await startPayout({ tronUrl: node.url, env: { LUCID_PAYOUT_TX_TTL_MS: '4000' } });
    const final = await runToEnd(pay);
    const wallet0 = (await pay.client.call('status', {}) as { signer: { address: string } }).signer.address;
    checkBooks(final, wallet0, true);
    expect(final.every((r) => r.attempts.length === 1)).toBe(true);
  }, 120_000);

  it('killed from outside at 12 seeded random moments, with a fork, a late landing and a lost broadcast answer on the way', async () => {
    let seed = 23;
    const rnd = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    node = await startTronNodeDouble({ blockMs: 40 });
    node.chain.fates.push('fork', 'late');
    node.dropBroadcasts(1, true);
    pay = await startPayout({ tronUrl: node.url, env: { LUCID_PAYOUT_TX_TTL_MS: '2500' } });
    const p = pay;
    let kills = 0;
    const killer = (async () => {
      while (kills < 12) {
        await new Promise((r) => setTimeout(r, 150 + rnd() * 600));
        if (p.child.exitCode === null && p.child.signalCode === null) {
          p.child.kill('SIGKILL');
          kills++;
        }
      }
    })();
    let final: PayoutView[] | null = null;
    for (let round = 0; round < 40 && !final; round++) {
      final = await finish(p, () => kills >= 12);
      if (!final) {
        await p.exited();
        await p.restart();
      }
    }
    await killer;
    expect(kills).toBe(12);
    expect(final).not.toBeNull();
    const wallet0 = (await p.client.call('status', {}) as { signer: { address: string } }).signer.address;
    checkBooks(final!, wallet0);
  }, 240_000);
});
