// Durability of security state (services/auth/README.md, "Durability"): every LevelDB write to
// the auth areas — users and their names and wallets, login sessions (families) and their
// revocations, lockouts, approvals, the emergency switches, the audit chain — is synced before
// it is acknowledged. Checked two ways:
//   - at the store: every write the auth service makes while the whole API is exercised is
//     intercepted on the LevelDB handle and must carry `sync: true` (a write added tomorrow
//     without it fails here);
//   - at the disk: core of a real appliance, traced with strace, calls fdatasync while it
//     answers a logout, and not while it answers reads.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildAuthApp, PASSWORD, type AuthApp } from '../../helpers/auth-app.js';
import { startAppliance, TEST_ADMIN, type RunningAppliance } from '../../helpers/appliance.js';

const SECURITY = ['auth-users', 'auth-names', 'auth-wallets', 'auth-meta', 'auth-families', 'auth-approvals', 'auth-emergency', 'audit', 'audit-meta'];
const ADDRESS = 'TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC';

interface Write { kind: string; sublevels: string[]; sync: boolean }

/** Records every write on the store's LevelDB handle: which sublevels it touches and whether it is synced. */
function intercept(a: AuthApp): Write[] {
  const writes: Write[] = [];
  const db = a.store.root as unknown as Record<string, (...args: unknown[]) => unknown>;
  const areaOf = (key: unknown): string => /^!([^!]+)!/.exec(String(key))?.[1] ?? '(root)';
  const wrap = (name: string, keysOf: (args: unknown[]) => unknown[]) => {
    const original = db[name]!.bind(db);
    db[name] = (...args: unknown[]) => {
      const options = args[args.length - 1] as { sync?: boolean } | undefined;
      writes.push({ kind: name, sublevels: [...new Set(keysOf(args).map(areaOf))], sync: options?.sync === true });
      return original(...args);
    };
  };
  wrap('_put', (args) => [args[0]]);
  wrap('_del', (args) => [args[0]]);
  wrap('_batch', (args) => (args[0] as Array<{ key: unknown }>).map((op) => op.key));
  const chained = db['_chainedBatch']!.bind(db);
  db['_chainedBatch'] = () => {
    const batch = chained() as Record<string, (...args: unknown[]) => unknown>;
    const keys: unknown[] = [];
    for (const op of ['_put', '_del']) {
      const original = batch[op]!.bind(batch);
      batch[op] = (...args: unknown[]) => { keys.push(args[0]); return original(...args); };
    }
    const write = batch['_write']!.bind(batch);
    batch['_write'] = (...args: unknown[]) => {
      writes.push({ kind: 'chained', sublevels: [...new Set(keys.map(areaOf))], sync: (args[0] as { sync?: boolean } | undefined)?.sync === true });
      return write(...args);
    };
    return batch;
  };
  return writes;
}

let h: AuthApp | undefined;
let app: RunningAppliance | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  await app?.cleanup();
  app = undefined;
});

describe('durability of security state', () => {
  it('every write of users, sessions, revocations, lockouts, approvals, emergency state and the audit chain is synced', async () => {
    h = await buildAuthApp();
    const writes = intercept(h);
    const root = await h.setupRoot();
    const bea = await h.userWithRole('admin', 'bea');
    const carl = await h.userWithRole('user', 'carl');
    const call = (method: 'POST' | 'PATCH' | 'DELETE' | 'GET', url: string, token: string, payload?: object) => h!.inject({ method, url, token, ...(payload ? { payload } : {}) });
    // Logins that fail, lock and are unlocked; refresh, reuse, logout, session revocation.
    for (let i = 0; i < 5; i++) await h.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress: `10.9.9.${i}`, payload: { username: 'carl', password: 'wrong-password-1' } });
    await call('POST', `/api/v1/users/${carl.user.id}/unlock`, root.accessToken, {});
    const second = await h.login('carl', PASSWORD, '10.9.8.1');
    const rotated = (await h.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: second.refreshToken } })).json();
    await h.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: second.refreshToken } }); // reuse: revokes
    await call('POST', '/api/v1/auth/logout', carl.accessToken, {});
    await h.login('carl', PASSWORD, '10.9.8.2');
    await call('DELETE', `/api/v1/auth/sessions/${h.auth.families.activeOf(carl.user.id, Date.now())[0]!.id}`, root.accessToken);
    // Role and password changes, wallets, deletion, a two-person grant with its approval.
    await call('PATCH', `/api/v1/users/${carl.user.id}`, root.accessToken, { role: 'node_operator', password: 'new-password-for-carl-9' });
    await call('POST', `/api/v1/users/${carl.user.id}/wallets`, root.accessToken, { address: ADDRESS });
    await call('DELETE', `/api/v1/users/${carl.user.id}/wallets/${ADDRESS}`, root.accessToken);
    const grant = (await call('PATCH', `/api/v1/users/${carl.user.id}`, bea.accessToken, { role: 'admin' })).json();
    expect((await call('POST', `/api/v1/approvals/${grant.approval.id}/approve`, root.accessToken, {})).statusCode).toBe(200);
    // Emergency switches and a two-person lockdown.
    await call('POST', '/api/v1/emergency/sessions', root.accessToken, { disabled: true });
    await call('POST', '/api/v1/emergency/sessions', root.accessToken, { disabled: false });
    const lock = (await call('POST', '/api/v1/emergency/requests', bea.accessToken, { action: 'lockdown', reason: 'durability' })).json();
    expect((await call('POST', `/api/v1/emergency/requests/${lock.id}/approve`, root.accessToken, {})).statusCode).toBe(200);
    await call('POST', '/api/v1/emergency/lockdown/lift', root.accessToken, {});
    await call('DELETE', `/api/v1/users/${carl.user.id}`, root.accessToken);
    expect(rotated.accessToken).toBeTruthy();

    const security = writes.filter((w) => w.sublevels.some((s) => SECURITY.includes(s)));
    const unsynced = security.filter((w) => !w.sync).map((w) => `${w.kind} ${w.sublevels.join('+')}`);
    expect(unsynced).toEqual([]);
    // The test saw writes to every security area (so it can fail).
    const touched = new Set(security.flatMap((w) => w.sublevels));
    for (const area of ['auth-users', 'auth-names', 'auth-wallets', 'auth-families', 'auth-approvals', 'auth-emergency', 'audit', 'audit-meta']) expect(touched, area).toContain(area);
    expect(security.length).toBeGreaterThan(50);
  }, 120_000);

  it('a logout makes core fdatasync before it answers; reads do not (strace on the real appliance)', async () => {
    // A 10-minute slot: the standalone chain writes no block (and syncs nothing) during the test.
    app = await startAppliance({ env: { LUCID_SLOT_MS: '600000' } });
    await app.waitHealthy(30_000);
    const admin = await app.token();
    const status = await app.json('/api/v1/status');
    const core = status.children.find((ch: { name: string }) => ch.name === 'core').pid as number;
    const login = async () => (await (await app!.raw('/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(TEST_ADMIN) })).json() as { accessToken: string }).accessToken;
    const session = await login();
    const out = join(app.dataDir, 'strace.log');
    const tracer = spawn('strace', ['-f', '-qq', '-e', 'trace=fdatasync,fsync', '-o', out, '-p', String(core)], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      await app.waitFor('strace attached', async () => existsSync(out));
      await new Promise((r) => setTimeout(r, 500)); // every thread of core traced
      const count = () => readFileSync(out, 'utf8').split('\n').filter((l) => /\b(fdatasync|fsync)\(/.test(l)).length;
      const before = count();
      for (let i = 0; i < 5; i++) expect((await app.raw('/api/v1/auth/me', { headers: { authorization: `Bearer ${admin}` } })).status).toBe(200);
      const afterReads = count();
      const res = await app.raw('/api/v1/auth/logout', { method: 'POST', headers: { authorization: `Bearer ${session}`, 'content-type': 'application/json' }, body: '{}' });
      expect(res.status).toBe(200);
      const afterLogout = count();
      expect(afterReads - before).toBe(0);
      // The family's revocation and the audit entry: each one synced write.
      expect(afterLogout - afterReads).toBeGreaterThanOrEqual(2);
    } finally {
      tracer.kill('SIGINT');
      await new Promise((r) => tracer.once('exit', r));
    }
  }, 90_000);
});
