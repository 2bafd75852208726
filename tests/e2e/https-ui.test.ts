// The web UI over HTTPS in the machine's real Chromium, trusting the appliance the way a person
// who compared the fingerprint does: its public key pinned with
// --ignore-certificate-errors-spki-list (nothing else ignored). Setup and login work, the page
// shows the fingerprint to compare, nothing loads over plain HTTP (no mixed content), a
// certificate for another key is refused, and while core is down the supervisor's recovery page
// shows what failed and hands back to the UI once core recovers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { X509Certificate, createHash, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { ROOT, TEST_ADMIN, startAppliance, childPidOf, type RunningAppliance } from '../helpers/appliance.js';
import { launchBrowser, loginVia, openPage } from '../helpers/browser.js';
import { applianceCertificate } from '../helpers/tls.js';

const SCREENSHOTS = join(ROOT, 'artifacts/screenshots');
const spkiPin = (pem: string): string => createHash('sha256').update(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' })).digest('base64');

let app: RunningAppliance;
let cert: X509Certificate;
let pinned: Browser;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  app = await startAppliance();
  await app.waitHealthy(30_000);
  cert = new X509Certificate(applianceCertificate(app.dataDir));
  pinned = await launchBrowser([`--ignore-certificate-errors-spki-list=${spkiPin(cert.toString())}`]);
}, 60_000);

afterAll(async () => {
  await pinned?.close();
  await app?.cleanup();
});

describe('the web UI over HTTPS', () => {
  it('with the appliance\'s key pinned: setup shows the fingerprint, login works, the status page keeps it, no mixed content', async () => {
    const { page, errors } = await openPage(pinned);
    const insecure: string[] = [];
    page.on('request', (r) => { if (!r.url().startsWith('https://') && !r.url().startsWith('data:')) insecure.push(r.url()); });
    await page.goto(`${app.httpsUrl}/`);
    expect(page.url()).toMatch(/^https:/);
    // First-time setup: check the certificate before sending anything.
    await page.locator('[data-testid="setup-form"]').waitFor({ timeout: 15_000 });
    await expect.poll(() => page.locator('[data-testid="tls-certificate-sha256"]').textContent()).toBe(cert.fingerprint256);
    expect(await page.locator('[data-testid="tls-connection"]').textContent()).toBe('HTTPS');
    expect(await page.locator('[data-testid="tls-names"]').textContent()).toContain('127.0.0.1');
    await page.screenshot({ path: join(SCREENSHOTS, 'https-setup.png'), fullPage: true });
    await page.locator('[data-testid="input-code"]').fill(readFileSync(join(app.dataDir, 'setup-code'), 'utf8').trim());
    await page.locator('[data-testid="input-username"]').fill(TEST_ADMIN.username);
    await page.locator('[data-testid="input-password"]').fill(TEST_ADMIN.password);
    await page.locator('[data-testid="setup-form-submit"]').click();
    await page.locator('[data-testid="whoami"]').waitFor({ timeout: 15_000 });
    // Logged out and in again with the password, still over HTTPS.
    await page.evaluate(() => sessionStorage.clear());
    await page.goto(`${app.httpsUrl}/#/login`);
    await page.reload();
    await loginVia(page);
    await page.goto(`${app.httpsUrl}/#/status`);
    await expect.poll(() => page.locator('[data-testid="tls-certificate-sha256"]').textContent(), { timeout: 10_000 }).toBe(cert.fingerprint256);
    expect(await page.locator('[data-testid="tls-public-key-sha256"]').textContent()).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    await page.locator('[data-testid="led"]').waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'https-status.png'), fullPage: true });
    const download = await page.evaluate(async () => (await fetch('/api/v1/tls/certificate')).text());
    expect(new X509Certificate(download).fingerprint256).toBe(cert.fingerprint256);
    expect(insecure).toEqual([]);
    expect(errors.filter((e) => /mixed content|insecure/i.test(e))).toEqual([]);
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('a browser that pinned another key refuses the appliance\'s certificate', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
    const browser = await launchBrowser([`--ignore-certificate-errors-spki-list=${createHash('sha256').update(other).digest('base64')}`]);
    try {
      const { page } = await openPage(browser);
      await expect(page.goto(`${app.httpsUrl}/`)).rejects.toThrow(/ERR_CERT_(AUTHORITY_INVALID|COMMON_NAME_INVALID|INVALID)/);
    } finally {
      await browser.close();
    }
  });

  it('while core cannot start, the supervisor\'s recovery page says what failed; repaired, the UI comes back by itself', async () => {
    const { page, errors } = await openPage(pinned);
    const keyFile = join(app.dataDir, 'keys/node-ed25519.pem');
    const goodKey = readFileSync(keyFile);
    writeFileSync(keyFile, 'not a key\n');
    process.kill(childPidOf(app.pid, 'core')!, 'SIGKILL');
    await app.waitFor('the failing start logged', async () => app.output().includes('ID_ERR_KEY_INVALID'), 15_000);
    await page.goto(`${app.httpsUrl}/`);
    await page.locator('[data-testid="recovery-title"]').waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-testid="recovery-reasons"]').textContent()).toMatch(/core is (backoff|starting)/);
    expect(await page.locator('[data-testid="log-core"]').textContent()).toMatch(/core failed to start — ID_ERR_KEY_INVALID/);
    expect(await page.locator('[data-testid="retry-core"]').textContent()).toMatch(/retry scheduled at|starting now/);
    expect(await page.locator('[data-testid="recovery-fingerprint"]').textContent()).toBe(cert.fingerprint256);
    await page.screenshot({ path: join(SCREENSHOTS, 'https-recovery.png'), fullPage: true });
    // The page's style is allowed by its CSP (by hash), so nothing was blocked.
    expect(errors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
    writeFileSync(keyFile, goodKey);
    // The page reloads itself every 5 s; once core is back it is the web UI's login page.
    await page.locator('[data-testid="login-form"]').waitFor({ timeout: 30_000 });
    await page.context().close();
  }, 60_000);
});
