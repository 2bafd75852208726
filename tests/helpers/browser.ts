// Launches the machine's Chromium (Debian's /usr/bin/chromium) headless through playwright-core
// for end-to-end tests of the web UI. Flags keep it offline and quiet: no background updates,
// no sync, no QUIC, no first-run UI. Each browser gets its own temp profile (playwright creates
// and removes it), so tests never share cookies or caches.
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { existsSync } from 'node:fs';

export const CHROMIUM_PATH = process.env['LUCID_CHROMIUM'] ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS: readonly string[] = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/** `extraArgs`: e.g. `--ignore-certificate-errors-spki-list=<hash>` to pin one certificate's key. */
export async function launchBrowser(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/**
 * A fresh context and page. Page errors and console errors are collected so a test can assert
 * the UI ran without uncaught exceptions.
 */
export async function openPage(browser: Browser, options: BrowserContextOptions = {}): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  return { page, errors };
}

/** Logs in through the login page (where an unauthenticated page lands) as the test super_admin. */
export async function loginVia(page: Page, user: { username: string; password: string } = { username: 'root-admin', password: 'violet-anchor-41-drift' }): Promise<void> {
  await page.locator('[data-testid="login-form"]').waitFor({ timeout: 15_000 });
  await page.locator('[data-testid="input-username"]').fill(user.username);
  await page.locator('[data-testid="input-password"]').fill(user.password);
  await page.locator('[data-testid="login-form-submit"]').click();
  await page.locator('[data-testid="whoami"]').waitFor({ timeout: 15_000 });
  await page.waitForFunction(() => !location.hash.startsWith('#/login'));
}
