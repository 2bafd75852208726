// The auth pages in real Chromium against the real appliance: first-boot setup with the code
// from the data dir, users (an admin grant confirmed on the approvals page with the device code
// of a long press), the audit page's chain status, the two-admin emergency flow, and
// wallet logins — a TIP-191 key held by the test (exposed to the page as a wallet extension's
// signMessageV2) and the simulated Ledger attached to the appliance.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import type { Browser, Page } from 'playwright-core';
import { ROOT, startAppliance, type RunningAppliance } from '../helpers/appliance.js';
import { launchBrowser, loginVia, openPage } from '../helpers/browser.js';
import { addressOf, signTip191 } from '../../services/auth/index.js';

const SCREENSHOTS = join(ROOT, 'artifacts/screenshots');
const ADMIN = { username: 'first-admin', password: 'amber-valley-93-quiet' };
const SECOND = { username: 'second-admin', password: 'copper-field-28-night' };

let app: RunningAppliance;
let browser: Browser;
let page: Page;
let errors: string[];
const id = (p: Page, testId: string) => p.locator(`[data-testid="${testId}"]`);
const shot = (p: Page, name: string) => p.screenshot({ path: join(SCREENSHOTS, name), fullPage: true });

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  app = await startAppliance({ admin: ADMIN });
  await app.waitHealthy(30_000);
  browser = await launchBrowser();
  ({ page, errors } = await openPage(browser));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.cleanup();
});

describe('auth pages', () => {
  it('first boot: the status page sends to the login page, which offers setup with the one-time code', async () => {
    await page.goto(`${app.url}/`);
    await id(page, 'setup-form').waitFor({ timeout: 15_000 });
    expect(await page.evaluate(() => location.hash)).toBe('#/login');
    await id(page, 'input-code').fill('WRONG-CODE-0000-0000');
    await id(page, 'input-username').fill(ADMIN.username);
    await id(page, 'input-password').fill(ADMIN.password);
    await id(page, 'setup-form-submit').click();
    await expect.poll(() => id(page, 'login-result').textContent()).toContain('AUTH_ERR_SETUP_CODE');
    await shot(page, 'login-setup.png');
    await id(page, 'input-code').fill(readFileSync(join(app.dataDir, 'setup-code'), 'utf8').trim().toLowerCase());
    await id(page, 'setup-form-submit').click();
    await id(page, 'child-core').waitFor({ timeout: 15_000 });
    expect(await page.evaluate(() => location.hash)).toBe('#/status');
    expect(await id(page, 'whoami').textContent()).toBe(`${ADMIN.username} (super_admin)`);
  });

  it('users: creates an admin (a two-person grant, confirmed with the device code) and a user; the table shows them', async () => {
    await page.evaluate(() => { location.hash = '#/users'; });
    await id(page, 'create-user').waitFor();
    for (const [u, role] of [[SECOND, 'admin'], [{ username: 'walletuser', password: 'silver-maple-57-brook' }, 'user']] as const) {
      await id(page, 'input-new-username').fill(u.username);
      await id(page, 'input-new-password').fill(u.password);
      await id(page, 'input-new-role').selectOption(role);
      await id(page, 'create-user-submit').click();
      await id(page, `user-${u.username}`).waitFor();
      if (role === 'admin') await expect.poll(() => id(page, 'users-result').textContent(), { timeout: 15_000 }).toContain('waits for a second admin');
    }
    // Made as a user; the grant waits. No other admin exists, so the page offers the device code.
    expect(await id(page, `role-${SECOND.username}`).inputValue()).toBe('user');
    await id(page, 'input-new-username').fill('weakling');
    await id(page, 'input-new-password').fill('password1234');
    await id(page, 'create-user-submit').click();
    await expect.poll(() => id(page, 'users-result').textContent()).toContain('AUTH_ERR_WEAK_PASSWORD');
    await shot(page, 'users.png');

    await page.evaluate(() => { location.hash = '#/approvals'; });
    const pending = page.locator('li[data-kind="user.update"]');
    await pending.waitFor();
    expect(await pending.textContent()).toContain(`${SECOND.username}: make admin`);
    const approvalId = (await pending.getAttribute('data-testid'))!.replace('approval-', '');
    // A long press of the (simulated) button prints a one-time code on the console and in the data dir.
    expect((await app.get('/api/v1/hal/button', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ action: 'long' }) })).status).toBe(202);
    const codeFile = join(app.dataDir, 'approval-code');
    const code = await app.waitFor('the approval code', async () => (existsSync(codeFile) ? readFileSync(codeFile, 'utf8').trim() || undefined : undefined));
    await id(page, `input-code-${approvalId}`).fill(code);
    await id(page, `approve-code-${approvalId}`).click();
    await expect.poll(() => id(page, 'approvals-result').textContent(), { timeout: 15_000 }).toContain('approved');
    await shot(page, 'approvals.png');
    await page.evaluate(() => { location.hash = '#/users'; });
    await expect.poll(() => id(page, `role-${SECOND.username}`).inputValue(), { timeout: 15_000 }).toBe('admin');
  });

  it('audit: the chain verifies and the entries show who did what from where', async () => {
    await page.evaluate(() => { location.hash = '#/audit'; });
    await expect.poll(() => id(page, 'chain-status').textContent()).toBe('Chain intact');
    expect(await id(page, 'chain-status').getAttribute('data-healthy')).toBe('true');
    await page.locator('[data-action="user.create"]').first().waitFor();
    await id(page, 'input-action').fill('auth.setup');
    await id(page, 'audit-filter').click();
    await expect.poll(() => page.locator('[data-action="auth.setup"][data-outcome="failure"]').count()).toBe(1);
    await shot(page, 'audit.png');
  });

  it('emergency: one admin requests a lockdown, another approves it; the LED shows it; it is lifted', async () => {
    // The second admin sets their own password (the first chose it), then asks for a lockdown;
    // the first approves — the first made the second, so the other way round is refused.
    const other = await openPage(browser);
    try {
      await other.page.goto(`${app.url}/#/approvals`);
      await loginVia(other.page, SECOND);
      await id(other.page, 'input-current-password').fill(SECOND.password);
      await id(other.page, 'input-own-password').fill(SECOND.password);
      await id(other.page, 'own-password-form-submit').click();
      await expect.poll(() => id(other.page, 'approvals-result').textContent(), { timeout: 15_000 }).toContain('your password is set');
      await other.page.evaluate(() => { location.hash = '#/emergency'; });
      await id(other.page, 'input-reason').fill('drill');
      await id(other.page, 'request-lockdown').click();
      await expect.poll(() => other.page.locator('li[data-testid="request-lockdown"]').textContent()).toContain('needs another admin');
      await shot(other.page, 'emergency.png');

      await page.evaluate(() => { location.hash = '#/emergency'; });
      await id(page, 'approve-lockdown').click();
      await expect.poll(() => id(page, 'lockdown').getAttribute('data-active')).toBe('true');
      await app.waitFor('lockdown LED', async () => (await app.json('/api/v1/status')).led.state === 'lockdown');
      await id(page, 'lift-lockdown').click();
      await expect.poll(() => id(page, 'lockdown').getAttribute('data-active')).toBe('false');
    } finally {
      await other.page.context().close();
    }
  });

  it('wallet login with a key held by the test, through the page', async () => {
    const sk = secp256k1.utils.randomSecretKey();
    const address = addressOf(secp256k1.getPublicKey(sk, false));
    const users = await app.json('/api/v1/users');
    const target = users.users.find((u: { username: string }) => u.username === 'walletuser');
    expect((await app.get(`/api/v1/users/${target.id}/wallets`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ address }) })).status).toBe(201);

    const w = await openPage(browser);
    try {
      await w.page.exposeFunction('testWalletSign', (message: string) => signTip191(message, sk));
      await w.page.addInitScript(() => {
        (window as unknown as { tronWeb: unknown }).tronWeb = { trx: { signMessageV2: (m: string) => (window as unknown as { testWalletSign(m: string): Promise<string> }).testWalletSign(m) } };
      });
      await w.page.goto(`${app.url}/#/login`);
      await id(w.page, 'input-address').fill(address);
      await id(w.page, 'wallet-sign').click();
      await id(w.page, 'whoami').waitFor({ timeout: 15_000 });
      expect(await id(w.page, 'whoami').textContent()).toBe('walletuser (user)');
      expect(await w.page.locator('nav a', { hasText: 'Users' }).isVisible()).toBe(false);
      await id(w.page, 'logout').click();
      await id(w.page, 'login-form').waitFor();
      expect(w.errors.filter((e) => !e.includes('Failed to load resource'))).toEqual([]);
    } finally {
      await w.page.context().close();
    }
  });

  it('hardware-wallet login: the simulated Ledger on the appliance signs', async () => {
    const device = await app.json('/api/v1/wallet/device');
    const users = await app.json('/api/v1/users');
    const me = users.users.find((u: { username: string }) => u.username === ADMIN.username);
    await app.get(`/api/v1/users/${me.id}/wallets`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ address: device.address }) });
    const hw = await openPage(browser);
    try {
      await hw.page.goto(`${app.url}/#/login`);
      await id(hw.page, 'hardware-login').click();
      await id(hw.page, 'whoami').waitFor({ timeout: 15_000 });
      expect(await id(hw.page, 'whoami').textContent()).toBe(`${ADMIN.username} (super_admin)`);
      await shot(hw.page, 'status-after-hardware-login.png');
    } finally {
      await hw.page.context().close();
    }
  });

  it('ran without page errors', () => {
    expect(errors.filter((e) => !e.includes('Failed to load resource'))).toEqual([]);
  });
});
