// Every refusal of the acceptance list, as a coded error, through the real process and its
// socket — and in each case nothing was signed (no attempt carries a signature, the node double
// saw no broadcast).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTronNodeDouble, type TronNodeDouble } from '../../helpers/tron-node/index.js';
import {
  PASSPHRASE, approve, operatorId, payouts, registerAddress, setupWallet, startPayout, wallet, type PayoutProcess,
} from '../../helpers/payout.js';
import { defaultValidators, statementAnchor, submitAnchored, testValidators } from '../../helpers/statement-anchor.js';

let node: TronNodeDouble;
let pay: PayoutProcess;
const A = operatorId(1);
const B = operatorId(2);
const C = operatorId(3);

beforeAll(async () => {
  node = await startTronNodeDouble({ blockMs: 50 });
  pay = await startPayout({ tronUrl: node.url });
  node.chain.setBalance(await setupWallet(pay, [wallet(1), wallet(2), wallet(3)]), 10n ** 12n);
  await registerAddress(pay, A, wallet(31).address);
  await registerAddress(pay, B, wallet(32).address);
  // C has credits but no registered address. Pool 12,632 USDT: A 6,000.2 (95 % of half) → needs two; B and C 3,000.1.
  await submitAnchored(pay.client, {
    chainId: 'lucid-test', epoch: 9, pool: '12632000000',
    operators: [{ operator: A, credits: 2, uptime: 0, window: 1 }, { operator: B, credits: 1, uptime: 0, window: 1 }, { operator: C, credits: 1, uptime: 0, window: 1 }],
  });
});
afterAll(async () => {
  await pay?.kill();
  await node?.close();
});

/** No attempt of these payouts (default: all) carries a signature, and none reached the node. */
async function nothingSigned(ids?: string[]): Promise<void> {
  for (const r of await payouts(pay)) {
    if (ids && !ids.includes(r.id)) continue;
    expect(r.attempts.every((a) => a.signature === undefined), r.id).toBe(true);
    for (const a of r.attempts) expect(node.chain.broadcastCount(a.txid), r.id).toBe(0);
  }
  if (!ids) expect(node.requests.filter((r) => r.path === '/wallet/broadcasthex')).toEqual([]);
}

const code = (p: Promise<unknown>): Promise<string> => p.then(() => 'resolved', (e: { code?: string }) => e.code ?? String(e));

describe('refusals (coded errors, nothing signed)', () => {
  it('the statement made requests only where an address is registered; C is refused without one', async () => {
    const list = await payouts(pay);
    expect(list.map((r) => r.id).sort()).toEqual([`9:${A}`, `9:${B}`]);
    expect(await code(pay.client.call('payout.request', { epoch: 9, operator: C }))).toBe('PAYOUT_ERR_ADDRESS_NOT_REGISTERED');
  });

  it('a statement the chain has not made final, a different one, a proof without a quorum → refused, nothing requested', async () => {
    const set = { chainId: 'lucid-test', epoch: 10, pool: '5000000000', operators: [{ operator: A, credits: 1, uptime: 0, window: 1 }] };
    const first = await pay.client.call('statement.submit', set) as { hash: string; anchor: unknown; requested: string[] };
    expect(first).toMatchObject({ anchor: null, requested: [] });
    expect(await code(pay.client.call('payout.request', { epoch: 10, operator: A }))).toBe('PAYOUT_ERR_STATEMENT_NOT_ANCHORED');
    // The chain stated another hash for the epoch (e.g. core sent inflated credits): never paid.
    const other = first.hash.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    expect(await code(pay.client.call('statement.submit', { ...set, anchor: statementAnchor('lucid-test', 10, other) }))).toBe('PAYOUT_ERR_STATEMENT_MISMATCH');
    // The right hash, but the commit holds 1 of the 3 validators' power: not > 2/3.
    const vals = defaultValidators();
    expect(await code(pay.client.call('statement.submit', { ...set, anchor: statementAnchor('lucid-test', 10, first.hash, { signers: vals.slice(0, 1) }) }))).toBe('PAYOUT_ERR_STATEMENT_NOT_ANCHORED');
    // A quorum of a set the process never trusted (the pin is the set of the first anchored statement): refused.
    expect(await code(pay.client.call('statement.submit', { ...set, anchor: statementAnchor('lucid-test', 10, first.hash, { validators: testValidators(3) }) }))).toBe('PAYOUT_ERR_STATEMENT_NOT_ANCHORED');
    // Another chain's block.
    expect(await code(pay.client.call('statement.submit', { ...set, anchor: statementAnchor('lucid-other', 10, first.hash) }))).toBe('PAYOUT_ERR_STATEMENT_NOT_ANCHORED');
    expect(await code(pay.client.call('payout.request', { epoch: 10, operator: A }))).toBe('PAYOUT_ERR_STATEMENT_NOT_ANCHORED');
    expect((await payouts(pay)).some((r) => r.id === `10:${A}`)).toBe(false);
    const stmts = await pay.client.call('statement.list', {}) as Array<{ epoch: number; anchor: unknown }>;
    expect(stmts.find((x) => x.epoch === 10)!.anchor).toBeNull();
    await nothingSigned();
  });

  it('an unknown payout id and a repeated payout request', async () => {
    expect(await code(approve(pay, `9:${operatorId(7)}`, [wallet(1)]))).toBe('PAYOUT_ERR_NOT_FOUND');
    expect(await code(pay.client.call('payout.approve', { id: `8:${A}`, signatures: [wallet(1).sign('x')] }))).toBe('PAYOUT_ERR_NOT_FOUND');
    expect(await code(pay.client.call('payout.request', { epoch: 9, operator: A }))).toBe('PAYOUT_ERR_DUPLICATE');
    expect(await code(pay.client.call('payout.request', { epoch: 11, operator: A }))).toBe('PAYOUT_ERR_STATEMENT');
  });

  it('over the second-approval limit with one approval; the same approver twice in one call', async () => {
    expect(await code(approve(pay, `9:${A}`, [wallet(1)]))).toBe('PAYOUT_ERR_SECOND_APPROVAL');
    expect(await code(approve(pay, `9:${A}`, [wallet(1)]))).toBe('PAYOUT_ERR_SAME_APPROVER');
    const { text } = await pay.client.call('payout.approvalText', { id: `9:${A}` }) as { text: string };
    expect(await code(pay.client.call('payout.approve', { id: `9:${A}`, signatures: [wallet(2).sign(text), wallet(2).sign(text)] }))).toBe('PAYOUT_ERR_SAME_APPROVER');
    expect((await payouts(pay)).find((r) => r.id === `9:${A}`)!.state).toBe('requested');
  });

  it('forged approvals: a key that is not enrolled, a signature over another payout, a mangled signature', async () => {
    expect(await code(approve(pay, `9:${B}`, [wallet(66)]))).toBe('PAYOUT_ERR_APPROVAL_INVALID');
    const { text: textA } = await pay.client.call('payout.approvalText', { id: `9:${A}` }) as { text: string };
    expect(await code(pay.client.call('payout.approve', { id: `9:${B}`, signatures: [wallet(1).sign(textA)] }))).toBe('PAYOUT_ERR_APPROVAL_INVALID');
    const { text: textB } = await pay.client.call('payout.approvalText', { id: `9:${B}` }) as { text: string };
    const sig = wallet(1).sign(textB);
    const mangled = `${sig.slice(0, 10)}${sig[10] === 'a' ? 'b' : 'a'}${sig.slice(11)}`;
    expect(await code(pay.client.call('payout.approve', { id: `9:${B}`, signatures: [mangled] }))).toBe('PAYOUT_ERR_APPROVAL_INVALID');
    // The approval text names the amount: a signature over a changed amount does not verify.
    expect(await code(pay.client.call('payout.approve', { id: `9:${B}`, signatures: [wallet(1).sign(textB.replace(/amount: \d+/, 'amount: 1'))] }))).toBe('PAYOUT_ERR_APPROVAL_INVALID');
    await nothingSigned();
  });

  it('replayed, stale, wrong-version and malformed IPC messages', async () => {
    const envelope = { v: 1, id: randomUUID(), at: Date.now(), op: 'status', args: {} };
    await pay.client.send(envelope);
    expect(await code(pay.client.send(envelope))).toBe('PAYOUT_ERR_IPC_REPLAY');
    expect(await code(pay.client.send({ ...envelope, id: randomUUID(), at: Date.now() - 10 * 60_000 }))).toBe('PAYOUT_ERR_IPC_REPLAY');
    expect(await code(pay.client.send({ ...envelope, id: randomUUID(), at: Date.now() + 10 * 60_000 }))).toBe('PAYOUT_ERR_IPC_REPLAY');
    expect(await code(pay.client.send({ ...envelope, id: randomUUID(), v: 2 }))).toBe('PAYOUT_ERR_IPC_VERSION');
    expect(await code(pay.client.send({ ...envelope, id: randomUUID(), op: 'payout.sign' }))).toBe('PAYOUT_ERR_IPC_SCHEMA');
    expect(await code(pay.client.send({ ...envelope, id: randomUUID(), op: 'payout.approve', args: { id: `9:${B}`, signatures: ['zz'] } }))).toBe('PAYOUT_ERR_IPC_SCHEMA');
    expect(await code(pay.client.send({ ...envelope, id: randomUUID(), op: 'payout.request', args: { epoch: 9, operator: A, extra: 1 } }))).toBe('PAYOUT_ERR_IPC_SCHEMA');
    expect(await code(pay.client.send({ id: 'x' }))).toBe('PAYOUT_ERR_IPC_SCHEMA');
    // A replayed approval: a valid one, sent again with a fresh envelope, finds the payout approved.
    const { text } = await pay.client.call('payout.approvalText', { id: `9:${B}` }) as { text: string };
    const ok = { v: 1, id: randomUUID(), at: Date.now(), op: 'payout.approve', args: { id: `9:${B}`, signatures: [wallet(3).sign(text)] } };
    await pay.client.send(ok);
    expect(await code(pay.client.send(ok))).toBe('PAYOUT_ERR_IPC_REPLAY');
    expect(await code(pay.client.send({ ...ok, id: randomUUID(), at: Date.now() }))).toBe('PAYOUT_ERR_STATE');
  });

  it('a payout address changed by one person, twice by the same person, or replayed from an earlier change', async () => {
    const { text, version } = await pay.client.call('address.text', { operator: C, to: wallet(33).address }) as { text: string; version: number };
    expect(version).toBe(1);
    expect(await code(pay.client.call('address.change', { operator: C, to: wallet(33).address, version, signatures: [wallet(1).sign(text)] }))).toBe('PAYOUT_ERR_SECOND_APPROVAL');
    expect(await code(pay.client.call('address.change', { operator: C, to: wallet(33).address, version, signatures: [wallet(1).sign(text), wallet(1).sign(text)] }))).toBe('PAYOUT_ERR_SAME_APPROVER');
    expect(await code(pay.client.call('address.change', { operator: C, to: wallet(33).address, version, signatures: [wallet(1).sign(text), wallet(66).sign(text)] }))).toBe('PAYOUT_ERR_APPROVAL_INVALID');
    expect(await code(pay.client.call('address.change', { operator: A, to: wallet(99).address, version: 1, signatures: [wallet(1).sign(text), wallet(2).sign(text)] }))).toBe('PAYOUT_ERR_ADDRESS_CHANGE');
    // A's registration (version 1) replayed to change it back after a real change: stale.
    const first = await pay.client.call('address.text', { operator: A, to: wallet(34).address }) as { text: string; version: number };
    expect(first.version).toBe(2);
    expect(await code(pay.client.call('address.change', { operator: A, to: wallet(34).address, version: 2, signatures: [wallet(1).sign(first.text.replace('version: 2', 'version: 3')), wallet(2).sign(first.text)] }))).toBe('PAYOUT_ERR_APPROVAL_INVALID');
    const status = await pay.client.call('status', {}) as { addresses: Record<string, { address: string }> };
    expect(status.addresses[A]!.address).toBe(wallet(31).address);
    expect(status.addresses[C]).toBeUndefined();
  });

  it('an enrollment without enough enrolled approvers, and one not signed by the new key', async () => {
    const { text, version } = await pay.client.call('approver.text', { approver: wallet(4).address, name: 'mallory' }) as { text: string; version: number };
    expect(await code(pay.client.call('approver.enroll', { approver: wallet(4).address, name: 'mallory', version, signatures: [wallet(4).sign(text), wallet(1).sign(text)] }))).toBe('PAYOUT_ERR_SECOND_APPROVAL');
    expect(await code(pay.client.call('approver.enroll', { approver: wallet(4).address, name: 'mallory', version, signatures: [wallet(1).sign(text), wallet(2).sign(text)] }))).toBe('PAYOUT_ERR_APPROVAL_INVALID');
  });

  it('a wrong keystore passphrase, a second keystore, and signing while locked', async () => {
    expect(await code(pay.client.call('keystore.unlock', { passphrase: 'not the passphrase at all' }))).toBe('PAYOUT_ERR_PASSPHRASE');
    expect(await code(pay.client.call('keystore.create', { passphrase: PASSPHRASE }))).toBe('PAYOUT_ERR_KEYSTORE');
    await pay.client.call('keystore.lock', {});
    await approve(pay, `9:${A}`, [wallet(2)]);
    const stuck = await (async () => {
      for (let i = 0; i < 100; i++) {
        const r = (await payouts(pay)).find((x) => x.id === `9:${A}`)!;
        if (r.lastError?.code === 'PAYOUT_ERR_LOCKED') return r;
        await new Promise((res) => setTimeout(res, 50));
      }
      return null;
    })();
    expect(stuck?.state).toBe('built');
    await nothingSigned([`9:${A}`]);
  });
});
