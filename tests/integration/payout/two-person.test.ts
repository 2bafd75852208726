// Core's two-person rule for payouts (services/payout/two-person.ts on services/auth's
// approvals), over core as it is assembled and a real payout process: the first admin's
// approval of a 6,000 USDT payout files a request; the same admin, the generic approvals route
// without a signature, an admin the requester created, and the device code are all refused and
// leave it pending; an independent admin's signature completes it once. An address change the
// same way. Wallets are linked by their own admins.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCoreApp, type CoreApp } from '../../helpers/core-app.js';
import { startTronNodeDouble, type TronNodeDouble } from '../../helpers/tron-node/index.js';
import { operatorId, payouts, setupWallet, startPayout, wallet, type PayoutProcess } from '../../helpers/payout.js';
import { submitAnchored } from '../../helpers/statement-anchor.js';

let node: TronNodeDouble;
let pay: PayoutProcess;
let c: CoreApp;
const tok: Record<string, string> = {};
const OP = operatorId(9);

beforeAll(async () => {
  node = await startTronNodeDouble({ blockMs: 40 });
  pay = await startPayout({ tronUrl: node.url });
  node.chain.setBalance(await setupWallet(pay, [wallet(1), wallet(2), wallet(3)]), 10n ** 12n);
  c = await startCoreApp({ env: { LUCID_PAYOUT: 'external', LUCID_PAYOUT_SOCKET: pay.socket, LUCID_TRON_URL: node.url } });
  await c.ledger.start();
  const root = await c.userWithRole('super_admin');
  tok['root'] = root.accessToken;
  // amy and ben: admins made by root; carl: made by amy (so not independent of amy).
  tok['amy'] = (await c.userWithRole('admin', 'amy')).accessToken;
  tok['ben'] = (await c.userWithRole('admin', 'ben')).accessToken;
  const wallets: Record<string, number> = { root: 1, amy: 2, ben: 3 };
  for (const [who, n] of Object.entries(wallets)) {
    const me = (await c.inject({ method: 'GET', url: '/api/v1/auth/me', token: tok[who] })).json() as { id: string };
    const linked = await c.inject({ method: 'POST', url: `/api/v1/users/${me.id}/wallets`, token: tok[who], payload: { address: wallet(n).address } });
    expect(linked.statusCode, linked.body).toBe(201);
  }
}, 90_000);
afterAll(async () => {
  await c?.close();
  await pay?.kill();
  await node?.close();
});

const post = (who: string, url: string, payload: object) => c.inject({ method: 'POST', url, token: tok[who], payload });

describe('two people for payouts from 5,000 USDT and for payout addresses', () => {
  it('an address change: amy signs and asks, amy again and the generic route are refused, ben completes it', async () => {
    const { text, version } = (await post('amy', '/api/v1/payouts/addresses/text', { operator: OP, to: wallet(70).address })).json() as { text: string; version: number };
    const first = await post('amy', '/api/v1/payouts/addresses', { operator: OP, to: wallet(70).address, version, signature: wallet(2).sign(text) });
    expect(first.statusCode, first.body).toBe(202);
    const reqId = (first.json() as { approval: { id: string } }).approval.id;
    expect((await post('amy', '/api/v1/payouts/addresses', { operator: OP, to: wallet(70).address, version, signature: wallet(2).sign(text) })).json()).toMatchObject({ code: 'PAYOUT_ERR_SAME_APPROVER' });
    // The generic approvals route has no signature to give: refused, the request stays.
    expect((await post('ben', `/api/v1/approvals/${reqId}/approve`, {})).json()).toMatchObject({ code: 'AUTH_ERR_APPROVAL_NOT_INDEPENDENT' });
    expect((await c.inject({ method: 'GET', url: '/api/v1/payouts/approvals', token: tok['ben'] })).json().items.map((i: { id: string }) => i.id)).toContain(reqId);
    // ben's signature must be ben's own wallet's.
    expect((await post('ben', '/api/v1/payouts/addresses', { operator: OP, to: wallet(70).address, version, signature: wallet(1).sign(text) })).json()).toMatchObject({ code: 'PAYOUT_ERR_APPROVAL_INVALID' });
    const done = await post('ben', '/api/v1/payouts/addresses', { operator: OP, to: wallet(70).address, version, signature: wallet(3).sign(text) });
    expect(done.statusCode, done.body).toBe(200);
    expect(done.json()).toMatchObject({ address: wallet(70).address, version: 1 });
    expect((await pay.client.call('status', {}) as { addresses: Record<string, { address: string }> }).addresses[OP]!.address).toBe(wallet(70).address);
  });

  it('a 6,000 USDT payout: amy approves first (202), carl — made by amy — may not complete it, ben does, once', async () => {
    await submitAnchored(pay.client, { chainId: 'lucid-test', epoch: 11, pool: '6400000000', operators: [{ operator: OP, credits: 1, uptime: 0, window: 1 }] });
    const id = `11:${OP}`;
    const approval = (await c.inject({ method: 'GET', url: `/api/v1/payouts/${id}/approval`, token: tok['amy'] })).json() as { text: string; preview: { decoded: { recipient: string } } };
    expect(approval.preview.decoded.recipient).toBe(wallet(70).address);
    const first = await post('amy', `/api/v1/payouts/${id}/approve`, { signature: wallet(2).sign(approval.text) });
    expect(first.statusCode, first.body).toBe(202);
    expect((await payouts(pay)).find((p) => p.id === id)!.state).toBe('requested');
    // carl: an admin amy created (root approved the grant), with a wallet of his own.
    const carlMade = await post('amy', '/api/v1/users', { username: 'carl', password: 'violet-anchor-41-drift', role: 'admin' });
    expect((await post('root', `/api/v1/approvals/${carlMade.json().approval.id}/approve`, {})).statusCode).toBe(200);
    const carl = await c.login('carl', undefined, '10.9.9.9');
    await c.inject({ method: 'POST', url: '/api/v1/auth/me/password', token: carl.accessToken, remoteAddress: '10.9.9.9', payload: { currentPassword: 'violet-anchor-41-drift', newPassword: 'violet-anchor-41-drift' } });
    tok['carl'] = carl.accessToken;
    const carlId = carlMade.json().user.id as string;
    expect((await post('carl', `/api/v1/users/${carlId}/wallets`, { address: wallet(4).address })).statusCode).toBe(201);
    expect((await post('carl', `/api/v1/payouts/${id}/approve`, { signature: wallet(4).sign(approval.text) })).json()).toMatchObject({ code: 'AUTH_ERR_APPROVAL_NOT_INDEPENDENT' });
    // No device code for money.
    const reqId = (first.json() as { approval: { id: string } }).approval.id;
    expect((await c.approveWithDeviceCode(reqId, tok['root']!)).json()).toMatchObject({ code: 'AUTH_ERR_DEVICE_CODE' });
    expect((await payouts(pay)).find((p) => p.id === id)!.state).toBe('requested');
    const second = await post('ben', `/api/v1/payouts/${id}/approve`, { signature: wallet(3).sign(approval.text) });
    expect(second.statusCode, second.body).toBe(200);
    expect(second.json()).toMatchObject({ state: expect.stringMatching(/approved|built|signed|broadcast/) });
    for (let i = 0; i < 400 && (await payouts(pay)).find((p) => p.id === id)!.state !== 'paid'; i++) await new Promise((r) => setTimeout(r, 50));
    expect(node.chain.transfers.filter((t) => t.to === wallet(70).address)).toHaveLength(1);
    // Done once: the request is gone, a further approval finds the payout past 'requested'.
    expect((await post('root', `/api/v1/payouts/${id}/approve`, { signature: wallet(1).sign(approval.text) })).json()).toMatchObject({ code: 'PAYOUT_ERR_STATE' });
  });
});
