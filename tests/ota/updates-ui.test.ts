// The web UI's Updates page in real Chromium against a device on the process-level harness: the
// installed version and slot, an admin's Check now finding a release, Install with progress, the
// trial and the history with its outcome — what an operator sees during an update.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ROOT } from '../helpers/appliance.js';
import { launchBrowser, loginVia, openPage } from '../helpers/browser.js';
import { createReleaseEnv, type ReleaseEnv } from '../helpers/ota-releases.js';
import { OtaDevice } from '../helpers/ota-device.js';

const SCREENSHOTS = join(ROOT, 'artifacts/screenshots');
let env: ReleaseEnv;
let device: OtaDevice;
let browser: Browser;
let page: Page;
let errors: string[];
const id = (p: Page, testId: string) => p.locator(`[data-testid="${testId}"]`);

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  env = await createReleaseEnv();
  const v1 = await env.build('1.0.0');
  await env.publish(await env.build('2.0.0'));
  device = await OtaDevice.create(v1, { env: { LUCID_OTA_URL: env.url, LUCID_OTA_AUTO_INSTALL: 'off', LUCID_OTA_SOAK_S: '3' } });
  device.start();
  await device.waitCommitted('1.0.0');
  await device.token(); // setup: the test admin exists
  browser = await launchBrowser();
  ({ page, errors } = await openPage(browser));
}, 20 * 60_000);

afterAll(async () => {
  await browser?.close();
  await device?.destroy();
  await env?.stop();
});

describe('Updates page', () => {
  it('shows the installed version; Check now finds 2.0.0; Install runs the update to a committed history entry', async () => {
    await page.goto(`${device.url}/`);
    await loginVia(page);
    await page.evaluate(() => { location.hash = '#/updates'; });
    await expect.poll(() => id(page, 'ota-version').textContent(), { timeout: 15_000 }).toBe('1.0.0');
    expect(await id(page, 'ota-installed').textContent()).toContain('slot a');
    await id(page, 'ota-check').click();
    await expect.poll(() => id(page, 'ota-available').textContent(), { timeout: 30_000 }).toContain('2.0.0');
    await page.screenshot({ path: join(SCREENSHOTS, 'updates-available.png'), fullPage: true });
    await id(page, 'ota-install').click();
    // Through the restart the page keeps polling; it ends on the new version with its history.
    await expect.poll(async () => (await id(page, 'ota-version').textContent().catch(() => null)), { timeout: 120_000, interval: 500 }).toBe('2.0.0');
    await expect.poll(() => page.locator('[data-testid="ota-history-table"] tr[data-outcome="committed"]').count(), { timeout: 30_000 }).toBe(1);
    expect(await page.locator('[data-testid="ota-history-table"] tbody').textContent()).toContain('passed its health gate');
    expect(await id(page, 'ota-previous').textContent()).toContain('1.0.0');
    await page.screenshot({ path: join(SCREENSHOTS, 'updates-committed.png'), fullPage: true });
    expect(errors.filter((e) => !/Failed to load resource|ERR_CONNECTION_REFUSED|net::/.test(e))).toEqual([]);
  }, 240_000);
});
