// The fleet web UI in real Chromium over HTTPS (the fleet's certificate pinned by its SPKI hash,
// nothing else ignored; another pin is refused) against a real fleet server (LevelDB), a real TUF release
// repository and signed simulated devices checking in on their own: log in, devices with their
// version, health and offline state, a group, a channel synced from TUF, a rollout started from
// the UI that completes, then v3 failing its health gate on the canary HALTS (screenshot:
// artifacts/screenshots/fleet-rollout-halted.png, not committed), retry, abort, and a
// production rollout approved by a second admin from the approval queue.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ROOT } from '../../helpers/appliance.js';
import { launchBrowser, openPage } from '../../helpers/browser.js';
import { ADMIN, startChannelRepo, startFleet, until, type TestChannelRepo, type TestFleet } from '../../helpers/fleet.js';
import { SimDevice } from '../../helpers/fleet-sim.js';

const SCREENSHOTS = join(ROOT, 'artifacts/screenshots');
const BOB = { username: 'bob-second', password: 'quartz-meadow-19-lantern' };
let f: TestFleet;
let repo: TestChannelRepo;
let browser: Browser;
let page: Page;
let errors: string[];
const lab: SimDevice[] = [];
let attic: SimDevice;
let pump: NodeJS.Timeout | null = null;
const tid = (p: Page, id: string) => p.locator(`[data-testid="${id}"]`);
/**
 * Waits for what a page shows after a navigation or a click: a fetch to the fleet and a render.
 * expect.poll's default 1 s is too short for that on a loaded 2-core machine (a full run failed
 * here with the approvals page not yet drawn); the condition is the same, only the wait longer.
 */
const uiPoll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000 });

async function login(p: Page, user: { username: string; password: string }): Promise<void> {
  await p.goto(`${f.url}/#/login`);
  await tid(p, 'login-username').fill(user.username);
  await tid(p, 'login-password').fill(user.password);
  await tid(p, 'login-submit').click();
  await tid(p, 'whoami').waitFor({ state: 'visible', timeout: 15_000 });
}

const go = async (hash: string): Promise<void> => { await page.evaluate((h) => { location.hash = h; }, hash); };
/** After Start: the UI moves to the new rollout's page (or the test fails with the message it showed). */
async function onRolloutPage(): Promise<void> {
  await until('the rollout page', async () => (await page.evaluate(() => location.hash)).startsWith('#/rollouts/r') ||
    ((await tid(page, 'message').first().textContent())?.includes('_ERR_') ? Promise.reject(new Error(String(await tid(page, 'message').first().textContent()))) : false), 10_000, 100);
}
const rolloutState = (): Promise<string | null> => tid(page, 'rollout-state').textContent().catch(() => null);

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  [f, repo] = await Promise.all([startFleet({ config: { offlineAfterS: 2 } }), startChannelRepo()]);
  for (let i = 0; i < 6; i++) {
    const tok = await f.call('POST', '/api/v1/enrollment-tokens', { tags: i < 5 ? ['lab'] : ['attic'] });
    const d = new SimDevice(f.url, { version: '1.0.0', failVersions: ['3.0.0'], name: i < 5 ? `lab-${i}` : 'attic-0' });
    expect((await d.enroll(tok.body.token, f.fleetId)).status).toBe(200);
    if (i < 5) lab.push(d); else attic = d;
  }
  await attic.cycle();
  attic.online = false; // never seen again: shows as offline
  // The lab devices check in on their own, like agents on a short interval.
  let busy = false;
  pump = setInterval(() => {
    if (busy) return;
    busy = true;
    void Promise.all(lab.map((d) => d.cycle().catch(() => null))).finally(() => { busy = false; });
  }, 250);
  const u = await f.call('POST', '/api/v1/users', { username: BOB.username, password: 'granite-harbor-77-kite', role: 'admin' });
  expect(u.status).toBe(201);
  const bob = await f.login(BOB.username, 'granite-harbor-77-kite');
  expect((await f.call('POST', '/api/v1/auth/me/password', { currentPassword: 'granite-harbor-77-kite', newPassword: BOB.password }, bob)).status).toBe(200);
  // HTTPS with the fleet's own certificate pinned by its public key, nothing else ignored.
  browser = await launchBrowser([`--ignore-certificate-errors-spki-list=${f.server.tls.spkiSha256Base64}`]);
  ({ page, errors } = await openPage(browser));
  page.on('response', (res) => { if (res.status() >= 400) void res.text().then((t) => errors.push(`${res.request().method()} ${res.url()} ${res.status()} ${t}`)); });
}, 120_000);

afterAll(async () => {
  if (pump) clearInterval(pump);
  await browser?.close();
  await f?.stop();
  await repo?.stop();
});

describe('fleet web UI', () => {
  it('logs in and lists devices with version, health and the offline one', async () => {
    await login(page, ADMIN);
    await go('#/devices');
    await expect.poll(() => page.locator('[data-testid="devices-table"] tbody tr').count(), { timeout: 15_000 }).toBe(6);
    await expect.poll(() => page.locator('tr[data-online="false"]').count(), { timeout: 15_000 }).toBe(1);
    expect(await page.locator(`tr[data-device="${attic.id}"]`).textContent()).toContain('offline');
    expect(await page.locator(`tr[data-device="${lab[0]!.id}"]`).textContent()).toMatch(/1\.0\.0.*ok.*online/);
    await tid(page, 'device-state').selectOption('offline');
    await uiPoll(() => page.locator('[data-testid="devices-table"] tbody tr').count()).toBe(1);
    // Served over HTTPS; the page shows the certificate's fingerprint to compare, and its pin.
    expect(page.url()).toMatch(/^https:\/\/127\.0\.0\.1:\d+\//);
    await uiPoll(() => tid(page, 'cert-sha256').textContent()).toBe(f.server.tls.certificateSha256);
    expect(await tid(page, 'cert-pin').textContent()).toBe(f.server.tls.pin);
  }, 60_000);

  it('the token dialog shows the whole token and explains it carries the certificate pin', async () => {
    await go('#/groups');
    await tid(page, 'enroll-tags').fill('spare');
    await tid(page, 'enroll-make').click();
    await uiPoll(() => tid(page, 'enroll-token-value').textContent()).toMatch(/^lft_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    const shown = (await tid(page, 'enroll-token-value').textContent())!;
    expect(shown.split('.')[1]).toBe(f.server.tls.pin);
    expect(await tid(page, 'enroll-token-pin').textContent()).toContain(f.server.tls.pin);
    // The token as shown enrolls a device (and tags it as asked).
    const d = new SimDevice(f.url, { name: 'spare-0' });
    const r = await d.enroll(shown, f.fleetId);
    expect([r.status, r.body.tags]).toEqual([200, ['spare']]);
  }, 30_000);

  it('a browser pinned to another key refuses the fleet', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
    const wrong = await launchBrowser([`--ignore-certificate-errors-spki-list=${createHash('sha256').update(other).digest('base64')}`]);
    try {
      const { page: p } = await openPage(wrong);
      await expect(p.goto(`${f.url}/`)).rejects.toThrow(/ERR_CERT_(AUTHORITY_INVALID|COMMON_NAME_INVALID|INVALID)/);
    } finally {
      await wrong.close();
    }
  }, 30_000);

  it('creates a group, adds a channel synced from TUF, and a rollout of v2 completes every stage', async () => {
    await go('#/groups');
    await tid(page, 'group-name').fill('lab');
    await tid(page, 'group-filter').fill('lab');
    await tid(page, 'group-create').click();
    await uiPoll(() => page.locator('[data-testid="groups-table"] tbody tr').count()).toBe(1);
    await repo.sign('2.0.0');
    await go('#/releases');
    await tid(page, 'channel-name').fill('stable');
    await tid(page, 'channel-url').fill(repo.url);
    await tid(page, 'channel-root').fill(repo.rootJson);
    await tid(page, 'channel-add').click();
    await expect.poll(() => page.locator('tr[data-release="stable@2.0.0"]').count(), { timeout: 15_000 }).toBe(1);
    await go('#/rollouts');
    await uiPoll(() => page.locator('[data-testid="rollout-group"] option').count()).toBe(1);
    await tid(page, 'rollout-release').selectOption('stable@2.0.0');
    await tid(page, 'rollout-stages').fill('1, 50%, 100%');
    await tid(page, 'rollout-soak').fill('0');
    await tid(page, 'rollout-start').click();
    await onRolloutPage();
    await expect.poll(rolloutState, { timeout: 60_000, interval: 300 }).toBe('completed');
    expect(lab.every((d) => d.version === '2.0.0')).toBe(true);
    expect(await page.locator('[data-testid="stages-table"] tbody tr').count()).toBe(3);
  }, 120_000);

  it('v3 failing its health gate on the canary halts the rollout; the UI shows HALTED with the reason; retry, then abort', async () => {
    await repo.sign('3.0.0');
    const before = new Map(lab.map((d) => [d, d.assignments.length]));
    const given = (d: SimDevice): number => d.assignments.length - before.get(d)!;
    await go('#/releases');
    await tid(page, 'sync-stable').click();
    await expect.poll(() => page.locator('tr[data-release="stable@3.0.0"]').textContent(), { timeout: 15_000 }).toContain('current');
    await go('#/rollouts');
    await uiPoll(() => page.locator('[data-testid="rollout-release"] option[value="stable@3.0.0"]').count()).toBe(1);
    await tid(page, 'rollout-release').selectOption('stable@3.0.0');
    await tid(page, 'rollout-stages').fill('1, 50%, 100%');
    await tid(page, 'rollout-soak').fill('0');
    await tid(page, 'rollout-start').click();
    await onRolloutPage();
    await expect.poll(rolloutState, { timeout: 30_000, interval: 200 }).toBe('halted');
    expect(await tid(page, 'rollout-reason').textContent()).toMatch(/stage 1: 1 of 1 devices failed/);
    await expect.poll(() => page.locator('[data-testid="failures-table"] tbody').textContent(), { timeout: 10_000 }).toContain('health gate: self-test failed');
    expect(await page.locator('[data-testid="failures-table"] tbody').textContent()).toContain('rolled-back');
    await page.screenshot({ path: join(SCREENSHOTS, 'fleet-rollout-halted.png'), fullPage: true });
    // Only the canary was ever given v3; every device still runs v2.
    await new Promise((r) => setTimeout(r, 1000));
    const v3 = lab.filter((d) => given(d) > 0);
    expect(v3).toHaveLength(1);
    expect(given(v3[0]!)).toBe(1);
    expect(lab.every((d) => d.version === '2.0.0')).toBe(true);
    // Retry the failed: the canary is given v3 again, fails again, and the rollout halts again.
    await tid(page, 'rollout-retry').click();
    await expect.poll(() => given(v3[0]!), { timeout: 20_000 }).toBe(2);
    await expect.poll(rolloutState, { timeout: 30_000, interval: 100 }).toBe('halted');
    expect(lab.filter((d) => d !== v3[0]).every((d) => given(d) === 0)).toBe(true);
    await tid(page, 'rollout-abort').click();
    await expect.poll(rolloutState, { timeout: 10_000 }).toBe('aborted');
    // A command the state does not allow shows its code.
    expect(await tid(page, 'rollout-retry').count()).toBe(0);
  }, 120_000);

  it('a rollout to a production group waits in the approval queue until a second admin approves it', async () => {
    await go('#/groups');
    await tid(page, 'group-name').fill('prod');
    await tid(page, 'group-filter').fill('lab');
    await tid(page, 'group-tags').fill('production');
    await tid(page, 'group-create').click();
    await uiPoll(() => page.locator('[data-testid="groups-table"] tbody tr').count()).toBe(2);
    // Bob (made by root, his own password since) asks in his browser; he cannot approve his own
    // request; root, an independent admin, approves it from the queue.
    const second = await openPage(browser);
    const bob = second.page;
    await login(bob, BOB);
    await bob.evaluate(() => { location.hash = '#/rollouts'; });
    await uiPoll(() => bob.locator('[data-testid="rollout-group"] option').count()).toBe(2);
    await tid(bob, 'rollout-release').selectOption('stable@3.0.0');
    await tid(bob, 'rollout-group').selectOption({ label: 'prod [production]' });
    await tid(bob, 'rollout-start').click();
    await bob.waitForFunction(() => location.hash.startsWith('#/rollouts/r'), undefined, { timeout: 10_000 });
    await expect.poll(() => tid(bob, 'rollout-state').textContent(), { timeout: 10_000 }).toBe('pending-approval');
    const id = decodeURIComponent(await bob.evaluate(() => location.hash.slice('#/rollouts/'.length)));
    const before = lab.map((d) => d.assignments.length);
    await new Promise((r) => setTimeout(r, 800));
    expect(lab.map((d) => d.assignments.length)).toEqual(before);
    await bob.evaluate(() => { location.hash = '#/approvals'; });
    await bob.locator('[data-testid^="approve-"]').click();
    await uiPoll(() => tid(bob, 'message').textContent()).toContain('AUTH_ERR_APPROVAL_SELF');
    await go('#/approvals');
    await uiPoll(() => page.locator('[data-testid="approvals-table"] tbody tr').count()).toBe(1);
    await page.locator('[data-testid^="approve-"]').click();
    await uiPoll(() => tid(page, 'message').textContent()).toContain('Approved');
    await expect.poll(async () => (await f.call('GET', `/api/v1/rollouts/${id}`)).body.rollout.state, { timeout: 10_000 }).not.toBe('pending-approval');
    await expect.poll(() => lab.some((d, i) => d.assignments.length > before[i]!), { timeout: 10_000 }).toBe(true);
    await go('#/audit');
    await uiPoll(() => page.locator('[data-testid="audit-table"] tbody').textContent()).toContain('rollout.create');
    // The only console error is the refused self-approval's 409 (the browser logs it).
    expect(second.errors.filter((e) => !/status of 409/.test(e))).toEqual([]);
    expect(errors).toEqual([]);
  }, 120_000);
});
