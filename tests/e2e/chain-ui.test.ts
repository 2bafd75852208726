// The chain page and the anchor lookup in real headless Chromium, against the real API server
// (buildApi with the real auth service, the ledger's routes and the built UI from dist/web) and a
// real standalone ledger (LevelDB, Ed25519 node key) whose anchor source the test feeds with
// completed sessions. The operator logs in through the login page first (validators and blocks
// are node_operator routes).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { ROOT } from '../helpers/appliance.js';
import { launchBrowser, loginVia, openPage } from '../helpers/browser.js';
import { buildApi, type SupervisorView } from '../../services/api/index.js';
import { Store } from '../../services/store/index.js';
import { loadOrCreateNodeIdentity } from '../../services/identity/index.js';
import { LedgerService, ledgerRoutes, MemoryAnchorSource, type LevelPort } from '../../services/ledger/index.js';
import { MetricsRegistry } from '../../services/common/metrics.js';
import { silentLogger } from '../../services/common/log.js';
import { AuthService, authRoutePlugins, loadOrCreateJwtKey } from '../../services/auth/index.js';
import { createHidTransport, createLedgerTronWallet, createSimLedger } from '../../hal/index.js';

const OPERATOR = { username: 'chain-admin', password: 'violet-anchor-41-drift' };

const SCREENSHOTS = join(ROOT, 'artifacts/screenshots');
let dir: string;
let store: Store;
let ledger: LedgerService;
let auth: AuthService;
let app: FastifyInstance;
let url: string;
let browser: Browser;
let page: Page;
let errors: string[];
const source = new MemoryAnchorSource();
const byTestId = (id: string) => page.locator(`[data-testid="${id}"]`);

const detached: SupervisorView = {
  attached: false, snapshot: null,
  request: async () => { throw new Error('no supervisor'); },
  onEvent: () => () => {},
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lucid-chain-ui-'));
  const log = silentLogger();
  store = new Store({ location: join(dir, 'store'), log });
  await store.start();
  const identity = await loadOrCreateNodeIdentity(dir, log);
  ledger = new LedgerService({
    log, db: store as unknown as LevelPort, dataDir: dir,
    identity: { nodeId: identity.nodeId, publicKeyHex: identity.publicKeyHex, sign: (m) => identity.sign(m) },
    config: { slotMs: 500, emptyBlockIntervalMs: 0, p2pHost: '127.0.0.1', p2pPort: 0, peers: [], genesisPath: null, mdns: false },
    anchorSource: source,
  });
  await ledger.start();
  auth = new AuthService({
    store, dataDir: dir, log, jwtKey: await loadOrCreateJwtKey(dir, log), signer: identity, nodeId: identity.nodeId, bindIp: false, maxSessions: 5,
    wallet: createLedgerTronWallet({ transport: createHidTransport({ device: createSimLedger({ seed: new Uint8Array(32).fill(7) }) }) }),
    setLockdownFlag: async () => {},
  });
  await auth.start();
  app = await buildApi({
    log, version: 'test', revision: 'test', identity, supervisor: detached,
    system: { read: async () => ({ uptimeSec: null, loadavg: null, cpuCount: 1, cpuPercent: null, memory: null, temperatureC: null, throttled: null, disk: null }) } as never,
    metrics: new MetricsRegistry(), webRoot: join(ROOT, 'dist/web'),
    auth: { identify: (h, c) => auth.identify(h, c), restrict: (p, perm) => auth.restrict(p, perm) },
    routes: [...authRoutePlugins(auth), ledgerRoutes(ledger)],
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const setup = await app.inject({ method: 'POST', url: '/api/v1/auth/setup', headers: { 'user-agent': 'setup' }, payload: { code: auth.setupCode.current ?? '', ...OPERATOR } });
  if (setup.statusCode !== 201) throw new Error(`setup failed: ${setup.body}`);
  const address = app.server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  browser = await launchBrowser();
  ({ page, errors } = await openPage(browser));
  mkdirSync(SCREENSHOTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await ledger?.stop();
  await auth?.stop();
  await store?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('chain page (Chromium)', () => {
  it('shows the chain growing, this node as the proposer and the validator set', async () => {
    await page.goto(`${url}/#/chain`);
    await loginVia(page, OPERATOR); // validators and blocks are for node operators
    await page.goto(`${url}/#/chain`);
    await expect.poll(() => page.title()).toBe('Chain · Lucid');
    await expect.poll(async () => Number(await byTestId('chain-height').textContent()), { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
    const first = Number(await byTestId('chain-height').textContent());
    await expect.poll(async () => Number(await byTestId('chain-height').textContent()), { timeout: 15_000 }).toBeGreaterThan(first);
    expect(await byTestId('chain-id').textContent()).toContain('(standalone)');
    expect(['proposer', 'validator']).toContain(await byTestId('chain-role').getAttribute('data-role'));
    const rows = byTestId('validators').locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().getAttribute('data-self')).toBe('true');
    expect(await rows.first().locator('td[data-label="Power"]').textContent()).toBe('1');
    await expect.poll(() => byTestId('blocks').locator('tbody tr').count()).toBeGreaterThanOrEqual(2);
    expect(await byTestId('blocks').locator('tbody tr').first().locator('td[data-label="Signatures"]').textContent()).toBe('1');
    expect(await page.locator('nav a[aria-current="page"]').textContent()).toBe('Chain');
  }, 60_000);

  it('looks up an anchor: not yet, then final with a proof the browser checks', async () => {
    const item = { sessionId: randomUUID(), manifestHash: randomBytes(32).toString('hex'), merkleRoot: randomBytes(32).toString('hex'), completedAt: Date.now(), chunkCount: 1, chunkSize: 65_536, totalBytes: 1000 };
    await byTestId('anchor-input').fill(item.manifestHash);
    await byTestId('anchor-lookup').click();
    await expect.poll(() => byTestId('anchor-result').getAttribute('data-outcome')).toBe('not-found');
    expect(await byTestId('anchor-result').textContent()).toContain('Not anchored');
    for (let i = 0; i < 3; i++) source.complete({ ...item, manifestHash: i === 1 ? item.manifestHash : randomBytes(32).toString('hex'), sessionId: randomUUID() });
    await expect.poll(async () => (await app.inject({ url: `/api/v1/anchors/${item.manifestHash}` })).statusCode, { timeout: 15_000 }).toBe(200);
    // Direct link, as the session page uses it.
    await page.goto(`${url}/#/chain/anchor/${item.manifestHash}`);
    await expect.poll(() => byTestId('anchor-result').getAttribute('data-outcome'), { timeout: 10_000 }).toBe('verified');
    expect(await byTestId('anchor-verdict').textContent()).toContain('proof checks out');
    expect(await byTestId('anchor-path').textContent()).toContain('reaches the root');
    expect(await byTestId('anchor-commit').textContent()).toContain('power 1 of 1');
    const proof = (await app.inject({ url: `/api/v1/anchors/${item.manifestHash}` })).json() as { header: { txRoot: string; hash: string } };
    expect(await byTestId('anchor-tx-root').textContent()).toBe(proof.header.txRoot);
    expect(await byTestId('anchor-block-hash').textContent()).toBe(proof.header.hash);
    await page.screenshot({ path: join(SCREENSHOTS, 'chain.png'), fullPage: true });
    // A malformed hash is refused in the page.
    await byTestId('anchor-input').fill('xyz');
    await page.evaluate(() => (document.querySelector('[data-testid="anchor-input"]') as HTMLInputElement).removeAttribute('pattern'));
    await byTestId('anchor-lookup').click();
    await expect.poll(() => byTestId('anchor-result').getAttribute('data-outcome')).toBe('invalid');
    // The only console errors are Chromium's notes about the expected 401s before the login and
    // the expected 404 of the first lookup.
    expect(errors.filter((e) => !e.includes('404 (Not Found)') && !e.includes('401 (Unauthorized)'))).toEqual([]);
  }, 60_000);

  it('an admin approves a joining node by its key on the chain page; the approval is on chain and shown', async () => {
    await page.goto(`${url}/#/chain`);
    const joiner = randomBytes(32).toString('hex');
    await expect.poll(() => byTestId('approve-form').count(), { timeout: 10_000 }).toBe(1); // this node is a validator
    expect(await byTestId('join-form').count()).toBe(0);
    await byTestId('input-joiner-key').fill(joiner);
    await byTestId('approve-form-submit').click();
    await expect.poll(() => byTestId('admission-result').getAttribute('data-outcome')).toBe('ok');
    expect(await byTestId('admission-result').textContent()).toMatch(/valid until height \d+/);
    // Once in a block, the row shows it: the only validator approved, so the node may join.
    const row = byTestId('admission').locator(`tr[data-joiner="${joiner}"]`);
    await expect.poll(() => row.count(), { timeout: 15_000 }).toBe(1);
    expect(await row.getAttribute('data-enough')).toBe('true');
    expect(await row.locator('td[data-label="Approved power"]').textContent()).toBe('1 of 1');
    const state = ledger.state();
    expect(Object.keys(state.approvals?.[joiner] ?? {})).toEqual([ledger.status().node.publicKey]);
    // A malformed key is refused with the server's code.
    await byTestId('input-joiner-key').fill('not-a-key');
    await byTestId('approve-form-submit').click();
    await expect.poll(() => byTestId('admission-result').getAttribute('data-outcome')).toBe('error');
    expect(await byTestId('admission-result').textContent()).toContain('[API_ERR_VALIDATION]');
    await page.screenshot({ path: join(SCREENSHOTS, 'chain-admission.png'), fullPage: true });
  }, 60_000);
});
