// The LAN web UI end to end: the real appliance (supervisor + core, simulated HAL) serving the
// built UI from dist/web, driven by the machine's real headless Chromium. The LED is checked
// against hal's own pattern engine (the page bundles that same module).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page, Route } from 'playwright-core';
import { ROOT, startAppliance, type RunningAppliance } from '../helpers/appliance.js';
import { launchBrowser, loginVia, openPage } from '../helpers/browser.js';
import { isConstant, levelAt, patternFor, periodMs, type LedState } from '../../hal/index.js';
import type { Status } from '../../services/api/schemas/status.js';

const APP_JS = join(ROOT, 'dist/web/app.js');
const SCREENSHOTS = join(ROOT, 'artifacts/screenshots');
// 16 KB for the shell and status page, ~13 KB for login, users, audit and emergency; room for the
// sessions pages. Still one request, cached by ETag, ~10 KB gzipped (see services/api/web/README.md).
// Pages few visitors open load on demand from files of their own (payouts.js, updates.js: services/api/web/lazy.ts).
const MAX_BUNDLE_BYTES = 60 * 1024;

let app: RunningAppliance;
let browser: Browser;
let page: Page;
let errors: string[];

const byTestId = (id: string) => page.locator(`[data-testid="${id}"]`);
const statusRequests = (p: Page): { count(): number } => {
  let n = 0;
  p.on('request', (r) => { if (r.url().endsWith('/api/v1/status')) n++; });
  return { count: () => n };
};

/** Reads the LED's level and the browser's clock in the same task, right after a frame painted. */
interface LedSample { level: string | null; state: string | null; now: number }
async function sampleLed(p: Page): Promise<LedSample> {
  return p.evaluate(() => new Promise<LedSample>((resolve) => {
    requestAnimationFrame(() => {
      const led = document.querySelector('[data-testid="led"]');
      resolve({ level: led?.getAttribute('data-level') ?? null, state: led?.getAttribute('data-state') ?? null, now: Date.now() });
    });
  }));
}

beforeAll(async () => {
  app = await startAppliance();
  await app.waitHealthy(30_000);
  await app.token(); // the test super_admin, made with the setup code
  browser = await launchBrowser();
  ({ page, errors } = await openPage(browser));
  // /api/v1/status needs a login: the status page sends the browser to the login page first.
  await page.goto(`${app.url}/`);
  await loginVia(page);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.cleanup();
});

describe('LAN web UI against the real appliance', () => {
  it('ships a small JavaScript bundle', () => {
    const size = statSync(APP_JS).size;
    expect(size).toBeGreaterThan(1000);
    expect(size).toBeLessThan(MAX_BUNDLE_BYTES);
  });

  it('renders the live status: core ready, healthy, node identity', async () => {
    await page.goto(`${app.url}/`);
    await expect.poll(() => page.evaluate(() => location.hash)).toBe('#/status');
    await byTestId('child-core').and(page.locator('[data-state="ready"]')).waitFor({ timeout: 15_000 });
    await expect.poll(() => byTestId('health').textContent()).toBe('Healthy');
    expect(await byTestId('health').getAttribute('data-healthy')).toBe('true');
    expect(await page.locator('[role="status"][aria-live="polite"]').filter({ has: byTestId('health') }).count()).toBe(1);

    const status = await app.json<Status>('/api/v1/status');
    expect(await byTestId('node-id').textContent()).toBe(status.node.id);
    expect(await byTestId('version').textContent()).toContain(status.version);
    const core = byTestId('child-core');
    expect(await core.locator('th').first().textContent()).toBe('core');
    expect(await core.locator('td[data-label="Critical"]').textContent()).toBe('yes');
    expect(await core.locator('td[data-label="PID"]').textContent()).toBe(String(status.children.find((c) => c.name === 'core')!.pid));
    for (const gauge of ['cpu', 'memory', 'temperature', 'disk']) {
      expect(await byTestId(`gauge-${gauge}-value`).textContent()).not.toBe('—');
    }
    if (status.system.temperatureC === null) expect(await byTestId('gauge-temperature-value').textContent()).toBe('n/a');
    expect(await page.locator('h1').textContent()).toBe('Status');
    expect(await page.title()).toBe('Status · Lucid');
    expect(await page.locator('nav a[aria-current="page"]').textContent()).toBe('Status');
  });

  it('draws the status LED to the device\'s real pattern', async () => {
    const { led } = await app.json<Status>('/api/v1/status');
    expect(led).not.toBeNull();
    await expect.poll(async () => (await sampleLed(page)).state).toBe(led!.state);
    expect(await byTestId('led-state').textContent()).toBe(led!.state);
    expect(await byTestId('led-drivers').textContent()).toBe(led!.drivers.join(', '));
    if (isConstant(led!.steps)) {
      // `ready` is solid: the level never changes, so it must equal the pattern's one level.
      for (let i = 0; i < 5; i++) {
        const sample = await sampleLed(page);
        expect(sample.level).toBe(levelAt(led!.steps, sample.now - led!.since) ? 'on' : 'off');
        await page.waitForTimeout(120);
      }
    } else {
      const seen = new Set<string | null>();
      for (let i = 0; i < 20; i++) {
        seen.add((await sampleLed(page)).level);
        await page.waitForTimeout(periodMs(led!.steps) / 10);
      }
      expect([...seen].sort()).toEqual(['off', 'on']);
    }
  });

  // The appliance under test is healthy, so its LED is solid. To see the page animate a blinking
  // pattern, the real status response is rewritten on its way to the page with hal's patterns.
  for (const state of ['degraded', 'fault'] as const satisfies readonly LedState[]) {
    it(`animates a blinking pattern (${state}) in step with hal's levelAt`, async () => {
      const steps = patternFor(state);
      const since = Date.now() - 12_345;
      const rewrite = async (route: Route): Promise<void> => {
        const response = await route.fetch();
        const json = (await response.json()) as Status;
        json.led = { ...json.led!, state, steps: steps.map((s) => ({ ...s })), since };
        await route.fulfill({ response, json });
      };
      await page.route('**/api/v1/status', rewrite);
      try {
        await expect.poll(async () => (await sampleLed(page)).state, { timeout: 5000 }).toBe(state);
        const seen = new Set<string>();
        const mismatches: string[] = [];
        const until = Date.now() + Math.min(2500, periodMs(steps) * 1.5);
        while (Date.now() < until) {
          const { level, now } = await sampleLed(page);
          seen.add(level ?? 'null');
          // The attribute is set at the start of a frame, and read a moment later: near an edge
          // the page may legitimately still show the level of up to one frame (~50 ms) before.
          const expected = [levelAt(steps, now - since), levelAt(steps, now - 50 - since)].map((on) => (on ? 'on' : 'off'));
          if (!(expected as string[]).includes(level ?? 'null')) mismatches.push(`${now - since}: page ${level}, hal ${expected.join('/')}`);
          await page.waitForTimeout(37);
        }
        expect(mismatches).toEqual([]);
        expect([...seen].sort()).toEqual(['off', 'on']);
      } finally {
        // Wait for a rewrite in flight: removed mid-fetch, its fulfill() would find the request
        // already sent on and throw "Route is already handled" (an unhandled error seen under load).
        await page.unrouteAll({ behavior: 'wait' });
      }
      await expect.poll(async () => (await sampleLed(page)).state, { timeout: 5000 }).toBe('ready');
    });
  }

  it('presses the simulated long button and shows the event', async () => {
    const before = await app.json<Status>('/api/v1/status');
    expect(before.hal?.mode).toBe('sim');
    await byTestId('button-long').click();
    await byTestId('last-button-event').and(page.locator('[data-action="long"]')).waitFor({ timeout: 5000 });
    expect(await byTestId('button-result').getAttribute('data-outcome')).toBe('ok');
    const after = await app.json<Status>('/api/v1/status');
    expect(after.lastButtonEvent?.action).toBe('long');
    expect(await byTestId('last-button-event').textContent()).toMatch(/^long at /);

    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(SCREENSHOTS, 'status.png'), fullPage: true });
  });

  it('shows an error banner while the API is unreachable, and recovers', async () => {
    const banner = byTestId('api-error');
    expect(await banner.isHidden()).toBe(true);
    const abort = (route: Route) => route.abort('connectionrefused');
    await page.route('**/api/v1/status', abort);
    await banner.waitFor({ state: 'visible', timeout: 5000 });
    expect(await banner.getAttribute('role')).toBe('alert');
    expect(await banner.textContent()).toContain('WEB_ERR_UNREACHABLE');
    expect(await page.locator('.page').getAttribute('data-stale')).toBe('true');
    // The last values stay on screen (dimmed) rather than vanishing.
    expect(await byTestId('child-core').getAttribute('data-state')).toBe('ready');
    await page.unroute('**/api/v1/status', abort);
    await banner.waitFor({ state: 'hidden', timeout: 5000 });
    expect(await page.locator('.page').getAttribute('data-stale')).toBe('false');
  });

  it('polls only while the page is shown and visible', async () => {
    const requests = statusRequests(page);
    await page.waitForTimeout(2200);
    expect(requests.count()).toBeGreaterThanOrEqual(1);

    // Hidden tab: the poller stops (a test cannot minimise a headless window, so it fakes the
    // visibility the page reads and sends the event the browser would send).
    await page.evaluate(() => {
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await page.waitForTimeout(300);
    let base = requests.count();
    await page.waitForTimeout(2200);
    expect(requests.count()).toBe(base);
    await page.evaluate(() => {
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => false });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await expect.poll(() => requests.count(), { timeout: 3000 }).toBeGreaterThan(base);

    // Leaving the page: no more polling, and an unknown route shows a not-found page.
    await page.evaluate(() => { location.hash = '#/no-such-page'; });
    await expect.poll(() => page.locator('h1').textContent()).toBe('Page not found');
    await page.waitForTimeout(300);
    base = requests.count();
    await page.waitForTimeout(2200);
    expect(requests.count()).toBe(base);
    await page.evaluate(() => { location.hash = '#/status'; });
    await byTestId('child-core').waitFor();
  });

  it('fits a phone screen and follows the dark colour scheme', async () => {
    const phone = await openPage(browser, { viewport: { width: 390, height: 844 }, colorScheme: 'dark', isMobile: true, hasTouch: true });
    try {
      await phone.page.goto(`${app.url}/#/status`);
      await loginVia(phone.page);
      await phone.page.locator('[data-testid="child-core"][data-state="ready"]').waitFor({ timeout: 15_000 });
      const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      const bg = await phone.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      expect(bg).toBe('rgb(13, 17, 23)');
      await phone.page.screenshot({ path: join(SCREENSHOTS, 'status-phone-dark.png'), fullPage: true });
      expect(phone.errors).toEqual([]);
    } finally {
      await phone.page.context().close();
    }
  });

  it('ran without page errors and loaded nothing from outside the appliance', async () => {
    // Aborted requests in the banner test log "Failed to load resource": expected, not a bug.
    expect(errors.filter((e) => !e.includes('Failed to load resource'))).toEqual([]);
    const external = await page.evaluate((origin) => performance.getEntriesByType('resource')
      .map((r) => r.name).filter((u) => !u.startsWith(origin)), app.url);
    expect(external).toEqual([]);
  });
});
