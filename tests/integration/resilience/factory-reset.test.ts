// The button's factory reset on the real process tree (supervisor + core, LevelDB, real HTTP):
// a ≥ 10 s press arms it (LED reset-pending), a second press within the window confirms it, the
// supervisor leaves its marker and restarts core, and core erases users, logins and the JWT key
// at its start, audits it, and keeps sessions, keys, chain data and the audit log
// (appliance/README.md "Factory reset").
import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { adminToken, isRunning, ROOT, startAppliance, TEST_ADMIN, treePids, type RunningAppliance } from '../../helpers/appliance.js';
import { api, putData } from '../../helpers/upload.js';

let app: RunningAppliance | undefined;
afterEach(async () => {
  await app?.cleanup();
  app = undefined;
});

const NEW_ADMIN = { username: 'second-admin', password: 'quartz-harbor-73-lantern' } as const;
const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
const post = (a: RunningAppliance, path: string, body: object, token?: string) => a.raw(path, {
  method: 'POST', body: JSON.stringify(body),
  headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
});
const press = async (a: RunningAppliance, action: string, token: string) => {
  const r = await post(a, '/api/v1/hal/button', { action }, token);
  expect(r.status).toBe(202);
  return (await r.json()) as { accepted: boolean; factoryReset: 'armed' | 'confirmed' | null };
};
const ledState = async (a: RunningAppliance, token: string): Promise<string | undefined> => {
  const r = await a.raw('/api/v1/status', { headers: { authorization: `Bearer ${token}` } });
  return r.ok ? ((await r.json()) as { led: { state: string } }).led.state : undefined;
};
const setupPending = async (a: RunningAppliance): Promise<boolean> => {
  const r = await a.raw('/api/v1/auth/methods').catch(() => null);
  return r?.ok === true && ((await r.json()) as { setupRequired: boolean }).setupRequired;
};

/** A power cut, as far as processes go: SIGKILL to the whole tree at once, data dir kept. */
async function killTree(a: RunningAppliance): Promise<void> {
  const pids = treePids(a.pid);
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
  const until = Date.now() + 10_000;
  while (pids.some(isRunning) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
}

/** What must survive a reset: key files, one completed session, the chain and the audit chain. */
async function prepare(a: RunningAppliance) {
  const token = await a.token();
  const login = await (await post(a, '/api/v1/auth/login', TEST_ADMIN)).json() as { refreshToken: string };
  const user = await post(a, '/api/v1/users', { username: 'operator-two', password: 'maple-signal-58-orbit', role: 'node_operator' }, token);
  expect(user.status).toBe(201);
  const id = (await api(a, 'POST', '/api/v1/sessions', { chunkSize: 64 * 1024 })).json.id as string;
  await api(a, 'POST', `/api/v1/sessions/${id}/start`);
  const data = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7) % 251));
  expect(await putData(a, id, 0, data)).toMatchObject({ status: 200 });
  await api(a, 'POST', `/api/v1/sessions/${id}/stop`);
  const done = (await api(a, 'POST', `/api/v1/sessions/${id}/finalize`)).json;
  expect(done.state).toBe('completed');
  return {
    token, refreshToken: login.refreshToken, sessionId: id, manifestHash: done.manifestHash as string, data,
    nodeKey: sha(join(a.dataDir, 'keys/node-ed25519.pem')), masterKey: sha(join(a.dataDir, 'keys/master.key')),
    jwtKey: sha(join(a.dataDir, 'keys/jwt-ed25519.pem')), node: (await (await a.raw('/api/v1/node')).json()) as { id: string },
    height: ((await (await a.raw('/api/v1/ledger/status')).json()) as { height: number }).height,
  };
}

/** After the reset: credentials gone, everything else kept, the reset audited once. */
async function checkReset(a: RunningAppliance, before: Awaited<ReturnType<typeof prepare>>, via: string) {
  expect(existsSync(join(a.dataDir, 'factory-reset'))).toBe(false);
  // Every token issued before is dead, and so is every account.
  expect((await a.raw('/api/v1/status', { headers: { authorization: `Bearer ${before.token}` } })).status).toBe(401);
  expect((await post(a, '/api/v1/auth/refresh', { refreshToken: before.refreshToken })).status).toBe(401);
  expect((await post(a, '/api/v1/auth/login', TEST_ADMIN)).status).toBe(401);
  expect(sha(join(a.dataDir, 'keys/jwt-ed25519.pem'))).not.toBe(before.jwtKey);
  // A new setup code, printed and on disk, makes the first admin again.
  const code = readFileSync(join(a.dataDir, 'setup-code'), 'utf8').trim();
  expect(a.output()).toContain(`SETUP CODE: ${code}`);
  const token = await adminToken(a.url, a.dataDir, NEW_ADMIN);
  const users = (await (await a.raw('/api/v1/users', { headers: { authorization: `Bearer ${token}` } })).json()) as { users: Array<{ username: string }> };
  expect(users.users.map((u) => u.username)).toEqual([NEW_ADMIN.username]);
  // Kept: the node identity, the master key, the session (readable, verifying), the chain.
  expect(sha(join(a.dataDir, 'keys/node-ed25519.pem'))).toBe(before.nodeKey);
  expect(sha(join(a.dataDir, 'keys/master.key'))).toBe(before.masterKey);
  expect(await (await a.raw('/api/v1/node')).json()).toMatchObject({ id: before.node.id });
  const auth = { authorization: `Bearer ${token}` };
  const session = await (await a.raw(`/api/v1/sessions/${before.sessionId}`, { headers: auth })).json();
  expect(session).toMatchObject({ state: 'completed', manifestHash: before.manifestHash });
  const content = Buffer.from(await (await a.raw(`/api/v1/sessions/${before.sessionId}/content`, { headers: auth })).arrayBuffer());
  expect(content.equals(before.data)).toBe(true);
  expect(await (await a.raw(`/api/v1/sessions/${before.sessionId}/verify`, { method: 'POST', headers: auth })).json()).toMatchObject({ ok: true });
  expect(((await (await a.raw('/api/v1/ledger/status')).json()) as { height: number }).height).toBeGreaterThanOrEqual(before.height);
  // Audited, in an audit chain that still verifies from before the reset.
  const audit = (await (await a.raw('/api/v1/audit?action=appliance.factory-reset', { headers: auth })).json()) as { entries: Array<{ actor: unknown; details: Record<string, unknown> }> };
  expect(audit.entries).toHaveLength(1);
  expect(audit.entries[0]).toMatchObject({ actor: null, details: { via, usersErased: 2 } });
  expect(audit.entries[0]!.details['loginSessionsEnded']).toBeGreaterThanOrEqual(2);
  const verify = await (await a.raw('/api/v1/audit/verify', { headers: auth })).json();
  expect(verify).toMatchObject({ ok: true, firstBad: null });
  expect(verify.entries).toBeGreaterThan(3);
}

describe('factory reset', () => {
  it('a ≥ 10 s press shows reset-pending; the confirming press erases users, logins and the JWT key, keeps the rest, and is audited', async () => {
    app = await startAppliance({ env: { LUCID_SLOT_MS: '1000' } });
    await app.waitHealthy(30_000);
    const before = await prepare(app);
    expect(await press(app, 'factory-reset', before.token)).toEqual({ accepted: true, factoryReset: 'armed' });
    await app.waitFor('the reset-pending LED', async () => (await ledState(app!, before.token)) === 'reset-pending', 5000);
    // Nothing is erased before the confirmation.
    expect((await app.raw('/api/v1/users', { headers: { authorization: `Bearer ${before.token}` } })).status).toBe(200);
    const corePid = ((await app.json('/api/v1/status')).children as Array<{ name: string; pid: number }>).find((c) => c.name === 'core')!.pid;
    expect(await press(app, 'short', before.token)).toEqual({ accepted: true, factoryReset: 'confirmed' });
    await app.waitFor('core restarted with setup pending', async () => !isRunning(corePid) && (await setupPending(app!)), 30_000);
    await checkReset(app, before, 'simulated-button');
    expect(app.output()).toMatch(/"msg":"factory reset confirmed: restarting core/);
  }, 90_000);

  it('without a confirming press inside the window, nothing happens', async () => {
    app = await startAppliance({ env: { LUCID_RESET_CONFIRM_MS: '1500' } });
    await app.waitHealthy(30_000);
    const token = await app.token();
    expect((await press(app, 'factory-reset', token)).factoryReset).toBe('armed');
    await app.waitFor('the reset-pending LED', async () => (await ledState(app!, token)) === 'reset-pending', 5000);
    await app.waitFor('the window to pass', async () => (await ledState(app!, token)) === 'ready', 10_000);
    expect(app.output()).toMatch(/factory reset not confirmed in time: cancelled/);
    expect(await press(app, 'short', token)).toEqual({ accepted: true, factoryReset: null });
    await new Promise((r) => setTimeout(r, 500));
    expect((await app.raw('/api/v1/status', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect(existsSync(join(app.dataDir, 'factory-reset'))).toBe(false);
    expect(await setupPending(app)).toBe(false);
  }, 60_000);

  it('a sibling process pressing over the supervisor\'s IPC resets too', async () => {
    app = await startAppliance({ env: { LUCID_SLOT_MS: '1000' } });
    await app.waitHealthy(30_000);
    const before = await prepare(app);
    // Started only now: the presser presses 0.5 s after it is ready, then again 0.3 s later.
    const presser = { name: 'presser', entry: join(ROOT, 'tests/fixtures/children/presser.mjs'), after: ['core'], env: { PRESS: 'factory-reset,short' } };
    const dataDir = app.dataDir;
    process.kill(app.pid, 'SIGTERM');
    await app.exited();
    app = await startAppliance({ dataDir, env: { LUCID_SLOT_MS: '1000', LUCID_EXTRA_CHILDREN: JSON.stringify([presser]) } });
    await app.waitFor('the presser to confirm', async () => app!.output().includes('"factoryReset":"confirmed"'), 30_000);
    await app.waitFor('core restarted with setup pending', async () => setupPending(app!), 30_000);
    await checkReset(app, before, 'simulated-button');
  }, 120_000);

  it('a confirmed reset survives a crash before core restarts: the marker alone finishes it at the next start', async () => {
    app = await startAppliance({ env: { LUCID_SLOT_MS: '1000' } });
    await app.waitHealthy(30_000);
    const before = await prepare(app);
    const dataDir = app.dataDir;
    // The supervisor wrote its marker and the power went: the whole tree is gone at once.
    writeFileSync(join(dataDir, 'factory-reset'), JSON.stringify({ v: 1, via: 'button', armedAt: 1, confirmedAt: 2 }));
    await killTree(app);
    app = await startAppliance({ dataDir, env: { LUCID_SLOT_MS: '1000' } });
    await app.waitFor('setup pending after the restart', async () => setupPending(app!), 30_000);
    await checkReset(app, before, 'button');
  }, 120_000);
});
