// The Payouts page and an operator's Earnings page in real Chromium, against the real appliance
// (supervisor + core + the payout child under Node's permission model) and the TRON node double.
// The admins' wallets are a simulated TronLink (window.tronWeb.trx.signMessageV2, which cannot
// exist here) backed by test keys. Two admins — the second granted with the device code, as at
// bootstrap, and independent of the first once it set its own password and wallet: the 6,000
// USDT payout and a payout address need both (services/auth's two-person rule), the second
// admin's approval completing what the first one (bob) asked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { approveWithDeviceCode, startAppliance, type RunningAppliance } from '../helpers/appliance.js';
import { launchBrowser, loginVia, openPage } from '../helpers/browser.js';
import { startTronNodeDouble, type TronNodeDouble } from '../helpers/tron-node/index.js';
import { operatorId, wallet, type Wallet } from '../helpers/payout.js';
import { PayoutClient } from '../../services/payout/index.js';
import { submitAnchored } from '../helpers/statement-anchor.js';

const BOB = { username: 'bob-admin', password: 'amber-kettle-77-north' };
const OPS = [operatorId(0x31), operatorId(0x32)];
const DEST = [wallet(51), wallet(52)];
let node: TronNodeDouble;
let app: RunningAppliance;
let browser: Browser;

/** A page whose "wallet extension" signs as `who()`. */
async function walletPage(who: () => Wallet): Promise<Page> {
  const { page } = await openPage(browser);
  await page.exposeFunction('__lucidTestSign', (text: string) => who().sign(text));
  await page.addInitScript(() => {
    (window as unknown as { tronWeb: unknown }).tronWeb = { trx: { signMessageV2: (t: string) => (window as unknown as { __lucidTestSign(t: string): Promise<string> }).__lucidTestSign(t) } };
  });
  return page;
}
const tid = (page: Page, id: string) => page.locator(`[data-testid="${id}"]`);

beforeAll(async () => {
  node = await startTronNodeDouble({ blockMs: 40 });
  app = await startAppliance({ env: { LUCID_TRON_URL: node.url, LUCID_PAYOUT_POLL_MS: '50' } });
  await app.waitHealthy(30_000);
  await app.waitFor('payout child ready', async () => {
    const s = await app.json<{ children: Array<{ name: string; state: string }> }>('/api/v1/status');
    return s.children.find((c) => c.name === 'payout')?.state === 'ready';
  }, 30_000);
  // Two admins, each with a linked TRON wallet (what an approval must be signed with).
  const json = (body: object) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const me = await app.json<{ id: string }>('/api/v1/auth/me');
  expect((await app.get(`/api/v1/users/${me.id}/wallets`, json({ address: wallet(1).address }))).status).toBe(201);
  const made = await app.json<{ user: { id: string }; approval: { id: string } }>('/api/v1/users', json({ ...BOB, password: 'temporary-pass-1234', role: 'admin' }));
  expect((await approveWithDeviceCode(app, made.approval.id, await app.token())).status).toBe(200);
  const bobToken = (await (await fetch(`${app.url}/api/v1/auth/login`, json({ username: BOB.username, password: 'temporary-pass-1234' }))).json() as { accessToken: string }).accessToken;
  const asBob = (path: string, body: object) => fetch(`${app.url}${path}`, { ...json(body), headers: { 'content-type': 'application/json', authorization: `Bearer ${bobToken}` } });
  expect((await asBob('/api/v1/auth/me/password', { currentPassword: 'temporary-pass-1234', newPassword: BOB.password })).status).toBe(200);
  expect((await asBob(`/api/v1/users/${made.user.id}/wallets`, { address: wallet(2).address })).status).toBe(201);
  browser = await launchBrowser();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await app?.cleanup();
  await node?.close();
});

describe('Payouts page', () => {
  it('sets up the keystore, enrolls two approvers, registers an address, approves and shows the paid payouts', async () => {
    let signer = wallet(1);
    const page = await walletPage(() => signer);
    await page.goto(`${app.url}/#/payouts`);
    await loginVia(page);
    await page.goto(`${app.url}/#/payouts`);
    await expect.poll(() => tid(page, 'wallet-address').textContent(), { timeout: 15_000 }).toBe('not set up');
    await tid(page, 'input-passphrase').fill('a passphrase for the test keystore');
    await tid(page, 'keystore-create-submit').click();
    await expect.poll(() => tid(page, 'wallet-address').textContent(), { timeout: 30_000 }).toMatch(/^T[1-9A-HJ-NP-Za-km-z]{33}$/);
    const walletAddress = (await tid(page, 'wallet-address').textContent())!;
    node.chain.setBalance(walletAddress, 50_000_000_000n);
    await tid(page, 'input-passphrase').fill('a passphrase for the test keystore');
    await tid(page, 'keystore-unlock-submit').click();
    await expect.poll(() => tid(page, 'signer-state').textContent(), { timeout: 30_000 }).toMatch(/^ready/);
    await expect.poll(() => tid(page, 'balance-usdt').textContent()).toBe('50,000.000000 USDT');

    // Approver 1 enrolls on its own signature; approver 2 needs its own and approver 1's.
    for (const [i, signers] of [[wallet(1)], [wallet(2), wallet(1)]].entries()) {
      await page.locator('summary', { hasText: 'Enroll an approver' }).click();
      await tid(page, 'input-approver-address').fill(signers[0]!.address);
      await tid(page, 'input-approver-name').fill(i === 0 ? 'root-admin' : 'bob-admin');
      await tid(page, 'enroll-submit').click();
      await expect(tid(page, 'enroll-sign-text').textContent()).resolves.toContain(signers[0]!.address);
      for (const s of signers) {
        signer = s;
        await tid(page, 'enroll-sign-sign').click();
        await expect.poll(async () => (await tid(page, 'input-enroll-sign-signature').inputValue()).split('\n').length).toBeGreaterThanOrEqual(signers.indexOf(s) + 1);
      }
      signer = wallet(1);
      await tid(page, 'enroll-submit-submit').click();
      await expect.poll(() => tid(page, 'payouts-result').textContent(), { timeout: 15_000 }).toBe('approver enrolled');
      await tid(page, `approver-${i === 0 ? 'root-admin' : 'bob-admin'}`).waitFor();
    }

    // Operator 1's address through the page: bob signs and asks, root reviews the same text and
    // signs; operator 2's directly through the socket (two approver signatures).
    const bobPage = await walletPage(() => wallet(2));
    await bobPage.goto(`${app.url}/#/payouts`);
    await loginVia(bobPage, BOB);
    await bobPage.goto(`${app.url}/#/payouts`);
    await bobPage.locator('summary', { hasText: 'payout address' }).click();
    await tid(bobPage, 'input-address-operator').fill(OPS[0]!);
    await tid(bobPage, 'input-address-to').fill(DEST[0]!.address);
    await tid(bobPage, 'address-submit').click();
    await tid(bobPage, 'address-sign-sign').click();
    await expect.poll(() => tid(bobPage, 'input-address-sign-signature').inputValue()).toMatch(/^0x[0-9a-f]{130}$/);
    await tid(bobPage, 'address-submit-submit').click();
    await expect.poll(() => tid(bobPage, 'payouts-result').textContent(), { timeout: 15_000 }).toBe('signed: a second admin must approve the change');
    await page.reload();
    await tid(page, `address-review-${OPS[0]!.slice(0, 8)}`).click({ timeout: 15_000 });
    await expect(tid(page, 'address-approve-text').textContent()).resolves.toContain(DEST[0]!.address);
    await tid(page, 'address-approve-sign').click();
    await expect.poll(() => tid(page, 'input-address-approve-signature').inputValue()).toMatch(/^0x[0-9a-f]{130}$/);
    await tid(page, 'address-approve-submit-submit').click();
    await expect.poll(() => tid(page, 'payouts-result').textContent(), { timeout: 15_000 }).toBe('payout address set');
    const client = new PayoutClient({ socketPath: `${app.dataDir}/sockets/payout.sock` });
    const text = await client.call('address.text', { operator: OPS[1]!, to: DEST[1]!.address }) as { text: string; version: number };
    await client.call('address.change', { operator: OPS[1]!, to: DEST[1]!.address, version: text.version, signatures: [wallet(1).sign(text.text), wallet(2).sign(text.text)] });

    // Epoch 3 stated (core's feeder does this once an epoch closes): 6,000 and 650 USDT.
    const stated = await submitAnchored(client, { chainId: 'lucid-e2e', epoch: 3, pool: '7000000000', operators: [
      { operator: OPS[0]!, credits: 6_000, uptime: 0, window: 1 }, { operator: OPS[1]!, credits: 1_000 - 263, uptime: 0, window: 1 }] });
    client.close();
    await tid(page, 'statement-epoch-3').waitFor({ timeout: 15_000 });
    await expect(tid(page, 'statement-hash').first().textContent()).resolves.toMatch(/^[0-9a-f]{64}$/);
    // The anchoring the payout process checked: height and block hash of the chain's statement.
    await expect.poll(() => tid(page, 'anchor-height').first().textContent(), { timeout: 15_000 }).toBe(String(stated.anchor!.height));
    expect(await tid(page, 'anchor-block').first().textContent()).toBe(stated.anchor!.blockHash);

    // Review shows the decoded transaction before anyone signs.
    const small = `3-${OPS[1]!.slice(0, 8)}`;
    await tid(page, `review-${small}`).click();
    await tid(page, 'tx-preview').waitFor({ timeout: 20_000 });
    expect(await tid(page, 'tx-recipient').textContent()).toBe(DEST[1]!.address);
    expect(await tid(page, 'tx-owner').textContent()).toBe(walletAddress);
    expect(await tid(page, 'tx-contract').textContent()).toBe('TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t');
    expect(await tid(page, 'tx-amount').textContent()).toMatch(/ USDT$/);
    await tid(page, 'approve-sign').click();
    await expect.poll(() => tid(page, 'input-approve-signature').inputValue()).toMatch(/^0x[0-9a-f]{130}$/);
    await tid(page, 'approve-submit').click();
    await expect.poll(() => tid(page, 'payouts-result').textContent(), { timeout: 15_000 }).toBe('approval recorded');

    // The big one: bob's approval is the first of two …
    const big = `3-${OPS[0]!.slice(0, 8)}`;
    await bobPage.reload();
    await tid(bobPage, `review-${big}`).click({ timeout: 15_000 });
    await tid(bobPage, 'tx-preview').waitFor({ timeout: 20_000 });
    await tid(bobPage, 'approve-sign').click();
    await expect.poll(() => tid(bobPage, 'input-approve-signature').inputValue()).toMatch(/^0x[0-9a-f]{130}$/);
    await tid(bobPage, 'approve-submit').click();
    await expect.poll(() => tid(bobPage, 'payouts-result').textContent(), { timeout: 15_000 }).toContain('a second, independent admin must approve');
    await expect.poll(() => tid(bobPage, `pending-${big}`).textContent(), { timeout: 10_000 }).toContain('1 of 2');
    // … bob cannot be the second too …
    await tid(bobPage, `review-${big}`).click();
    await tid(bobPage, 'approve-sign').click();
    await expect.poll(() => tid(bobPage, 'input-approve-signature').inputValue()).toMatch(/^0x[0-9a-f]{130}$/);
    await tid(bobPage, 'approve-submit').click();
    await expect.poll(() => tid(bobPage, 'payouts-result').textContent(), { timeout: 15_000 }).toContain('PAYOUT_ERR_SAME_APPROVER');
    // … root, independent of bob, completes it with its own wallet.
    await page.reload();
    await tid(page, `review-${big}`).click({ timeout: 15_000 });
    await tid(page, 'tx-preview').waitFor({ timeout: 20_000 });
    await tid(page, 'approve-sign').click();
    await expect.poll(() => tid(page, 'input-approve-signature').inputValue()).toMatch(/^0x[0-9a-f]{130}$/);
    await tid(page, 'approve-submit').click();
    await expect.poll(() => tid(page, 'payouts-result').textContent(), { timeout: 15_000 }).toBe('approval recorded');

    for (const id of [small, big]) {
      await expect.poll(() => tid(page, `payout-${id}`).getAttribute('data-state'), { timeout: 45_000 }).toBe('paid');
      expect(await tid(page, `payout-${id}`).locator('[data-testid="txid"]').textContent()).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(node.chain.transfers.map((t) => t.to).sort()).toEqual(DEST.map((d) => d.address).sort());
    await page.screenshot({ path: 'artifacts/screenshots/payouts.png', fullPage: true }).catch(() => undefined);

    // The operator's view.
    await page.goto(`${app.url}/#/earnings/${OPS[0]}`);
    await tid(page, 'earning-payout-3').waitFor({ timeout: 15_000 });
    expect(await tid(page, 'earning-payout-3').getAttribute('data-state')).toBe('paid');
    expect(await tid(page, 'payout-address').textContent()).toBe(DEST[0]!.address);
    const paid = node.chain.transfers.find((t) => t.to === DEST[0]!.address)!.amount;
    const shown = `${(paid / 1_000_000n).toLocaleString('en-US')}.${(paid % 1_000_000n).toString().padStart(6, '0')} USDT`;
    expect(await tid(page, 'epoch-3').locator('td[data-label="Payable"]').textContent()).toBe(shown);
    expect(await tid(page, 'paid').textContent()).toBe(shown);
  }, 180_000);

  it('an approval signed by a wallet not linked to the caller is refused by core (PAYOUT_ERR_APPROVAL_INVALID)', async () => {
    const list = await app.json<{ items: Array<{ id: string; state: string }> }>('/api/v1/payouts');
    const id = list.items[0]!.id;
    const res = await app.get(`/api/v1/payouts/${id}/approve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ signature: wallet(2).sign('x') }) });
    expect(res.status).toBe(403);
    expect((await res.json() as { code: string }).code).toBe('PAYOUT_ERR_APPROVAL_INVALID');
  });
});
