// Wallet logins (a key made in the test; the simulated Ledger), the audit chain against
// tampering in the store, and the two-admin emergency controls.
import { afterEach, describe, expect, it } from 'vitest';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { addressOf, auditKey, signTip191, verifyTip191 } from '../../../services/auth/index.js';
import { buildAuthApp, type AuthApp } from '../../helpers/auth-app.js';

let h: AuthApp | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function wallet(): { sk: Uint8Array; address: string } {
  const sk = secp256k1.utils.randomSecretKey();
  return { sk, address: addressOf(secp256k1.getPublicKey(sk, false)) };
}

describe('TIP-191 against a known answer', () => {
  it('private key 1 → the well-known Ethereum address bytes, 0x41-prefixed in base58check', () => {
    const sk = new Uint8Array(32);
    sk[31] = 1;
    const pub = secp256k1.getPublicKey(sk, false);
    expect(Buffer.from(keccak_256(pub.subarray(1)).subarray(12)).toString('hex')).toBe('7e5f4552091a69125d5dfcb7b8c2659029395bdf');
    expect(addressOf(pub)).toBe('TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC');
    const sig = signTip191('Auszahlung 5 €', sk);
    expect(verifyTip191('Auszahlung 5 €', sig, 'TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC')).toBe(true);
    // v = 0/1 (a Ledger) verifies as well as 27/28 (tronweb).
    const raw = Buffer.from(sig.slice(2), 'hex');
    raw[64] = raw[64]! - 27;
    expect(verifyTip191('Auszahlung 5 €', raw.toString('hex'), 'TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC')).toBe(true);
  });
});

describe('wallet-signature login', () => {
  it('works with a linked key and fails for a wrong signature, an expired or reused nonce, or an unlinked address', async () => {
    h = await buildAuthApp();
    const root = await h.setupRoot();
    const alice = await h.userWithRole('user', 'alice');
    const w = wallet();
    expect((await h.inject({ method: 'POST', url: `/api/v1/users/${alice.user.id}/wallets`, token: root.accessToken, payload: { address: w.address } })).statusCode).toBe(201);
    const challenge = async (address: string) => (await h!.inject({ method: 'POST', url: '/api/v1/auth/challenge', payload: { address } })).json() as { message: string; expiresAt: number };
    const login = (address: string, signature: string) => h!.inject({ method: 'POST', url: '/api/v1/auth/wallet', payload: { address, signature } });

    const c1 = await challenge(w.address);
    expect(c1.expiresAt - Date.now()).toBeGreaterThan(299_000);
    expect(c1.message).toContain(w.address);
    const ok = await login(w.address, signTip191(c1.message, w.sk));
    expect(ok.statusCode).toBe(200);
    expect(ok.json().user).toMatchObject({ username: 'alice', role: 'user' });
    // Reused nonce: the same signature again.
    expect((await login(w.address, signTip191(c1.message, w.sk))).json()).toMatchObject({ statusCode: 401, code: 'AUTH_ERR_NONCE' });
    // Wrong signature: signed by another key.
    const c2 = await challenge(w.address);
    expect((await login(w.address, signTip191(c2.message, wallet().sk))).json()).toMatchObject({ statusCode: 401, code: 'AUTH_ERR_BAD_SIGNATURE' });
    // Wrong message: the right key over something else.
    const c3 = await challenge(w.address);
    expect((await login(w.address, signTip191(`${c3.message} `, w.sk))).json().code).toBe('AUTH_ERR_BAD_SIGNATURE');
    // Expired nonce.
    const c4 = await challenge(w.address);
    h.skew = 301_000;
    expect((await login(w.address, signTip191(c4.message, w.sk))).json().code).toBe('AUTH_ERR_NONCE');
    h.skew = 0;
    // Unlinked address, correctly signed.
    const stranger = wallet();
    const c5 = await challenge(stranger.address);
    expect((await login(stranger.address, signTip191(c5.message, stranger.sk))).json()).toMatchObject({ statusCode: 401, code: 'AUTH_ERR_WALLET_UNLINKED' });
    // Malformed input never reaches the verifier.
    expect((await login('Tnot-an-address', '0x00')).json().code).toBe('API_ERR_VALIDATION');
  });

  it('bad wallet signatures count towards the lockout of the linked account', async () => {
    h = await buildAuthApp();
    const root = await h.setupRoot();
    const bob = await h.userWithRole('user', 'bob');
    const w = wallet();
    await h.inject({ method: 'POST', url: `/api/v1/users/${bob.user.id}/wallets`, token: root.accessToken, payload: { address: w.address } });
    for (let i = 0; i < 5; i++) {
      const c = (await h.inject({ method: 'POST', url: '/api/v1/auth/challenge', payload: { address: w.address } })).json();
      await h.inject({ method: 'POST', url: '/api/v1/auth/wallet', remoteAddress: `10.1.0.${i}`, payload: { address: w.address, signature: signTip191(c.message, wallet().sk) } });
    }
    const c = (await h.inject({ method: 'POST', url: '/api/v1/auth/challenge', payload: { address: w.address } })).json();
    expect((await h.inject({ method: 'POST', url: '/api/v1/auth/wallet', payload: { address: w.address, signature: signTip191(c.message, w.sk) } })).json().code).toBe('AUTH_ERR_LOCKED');
    expect((await h.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'bob', password: bob.password } })).statusCode).toBe(423);
  });

  it('hardware wallet: the simulated Ledger signs the challenge on the appliance; a refusal is 403', async () => {
    h = await buildAuthApp();
    const root = await h.setupRoot();
    const device = (await h.inject({ method: 'GET', url: '/api/v1/wallet/device', token: root.accessToken })).json();
    expect(device.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect((await h.inject({ method: 'POST', url: '/api/v1/auth/hardware', payload: {} })).json().code).toBe('AUTH_ERR_WALLET_UNLINKED');
    await h.inject({ method: 'POST', url: `/api/v1/users/${root.user.id}/wallets`, token: root.accessToken, payload: { address: device.address } });
    const ok = await h.inject({ method: 'POST', url: '/api/v1/auth/hardware', payload: {} });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().user.username).toBe('root');
    expect(h.ledger.apdus.some((a) => a.startsWith('e008'))).toBe(true);
    expect(h.ledger.isOpen).toBe(false); // opened for the login only
    h.ledger.rejectNext();
    expect((await h.inject({ method: 'POST', url: '/api/v1/auth/hardware', payload: {} })).json()).toMatchObject({ statusCode: 403, code: 'HAL_ERR_REJECTED' });
  });
});

describe('audit chain', () => {
  async function seeded(): Promise<{ a: AuthApp; token: string }> {
    const a = await buildAuthApp();
    const root = await a.setupRoot();
    for (let i = 0; i < 4; i++) await a.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'root', password: `wrong-password-${i}` } });
    await a.inject({ method: 'POST', url: '/api/v1/users', token: root.accessToken, payload: { username: 'kim', password: 'seven-blue-kites-42', role: 'user' } });
    return { a, token: root.accessToken };
  }
  const verify = async (a: AuthApp, token: string) => (await a.inject({ method: 'GET', url: '/api/v1/audit/verify', token })).json();

  it('records who, what, when, from where and the outcome, masks secrets, filters and paginates', async () => {
    const { a, token } = await seeded();
    h = a;
    const page = (await a.inject({ method: 'GET', url: '/api/v1/audit?limit=3', token })).json();
    expect(page.entries).toHaveLength(3);
    expect(page.entries[0].seq).toBeGreaterThan(page.entries[2].seq);
    const next = (await a.inject({ method: 'GET', url: `/api/v1/audit?limit=3&before=${page.next}`, token })).json();
    expect(next.entries[0].seq).toBe(page.entries[2].seq - 1);
    const failures = (await a.inject({ method: 'GET', url: '/api/v1/audit?action=auth.login&outcome=failure', token })).json().entries;
    expect(failures).toHaveLength(4);
    expect(failures[0]).toMatchObject({ ip: '127.0.0.1', actor: null, target: expect.any(String) });
    const created = (await a.inject({ method: 'GET', url: '/api/v1/audit?action=user.create', token })).json().entries[0];
    expect(created.actor).toMatchObject({ username: 'root', role: 'super_admin' });
    const all = JSON.stringify((await a.inject({ method: 'GET', url: '/api/v1/audit?limit=200', token })).json());
    expect(all).not.toContain('seven-blue-kites-42');
    expect(all).not.toContain('wrong-password-');
    expect(await verify(a, token)).toMatchObject({ ok: true, firstBad: null, code: null });
  });

  for (const tamper of ['edit', 'delete-middle', 'delete-last', 'edit-and-rehash'] as const) {
    it(`detects an entry changed in the store (${tamper})`, async () => {
      const { a, token } = await seeded();
      h = a;
      const db = a.store.sublevel<Record<string, unknown>>('audit');
      const head = a.auth.audit.headSeq;
      const target = tamper === 'delete-last' ? head : 3;
      const entry = (await db.get(auditKey(target)))!;
      if (tamper === 'edit') await db.put(auditKey(target), { ...entry, outcome: 'success' });
      if (tamper === 'delete-middle' || tamper === 'delete-last') await db.del(auditKey(target));
      if (tamper === 'edit-and-rehash') {
        const { createHash } = await import('node:crypto');
        const { canonical } = await import('../../../services/auth/audit.js');
        const { hash: _drop, ...body } = { ...entry, ip: '6.6.6.6' } as Record<string, unknown>;
        await db.put(auditKey(target), { ...body, hash: createHash('sha256').update(canonical(body)).digest('hex') });
      }
      const result = await verify(a, token);
      expect(result).toMatchObject({ ok: false, code: 'AUDIT_ERR_CORRUPT' });
      expect(result.firstBad.seq).toBe(tamper === 'edit-and-rehash' ? target + 1 : target);
    });
  }

  it('retention drops entries older than 90 days behind a signed checkpoint; the rest still verifies', async () => {
    const { a } = await seeded();
    h = a;
    const before = a.auth.audit.headSeq;
    a.skew = 91 * 24 * 3600 * 1000;
    await a.auth.audit.append({ actor: null, action: 'test.recent', outcome: 'success' });
    expect(await a.auth.audit.prune()).toBe(before);
    const token = (await a.login('root')).accessToken;
    const result = await verify(a, token);
    expect(result).toMatchObject({ ok: true, checkpoint: { seq: before } });
    // Forging the checkpoint (without the node key) is detected.
    const meta = a.store.sublevel<Record<string, unknown>>('audit-meta');
    const cp = (await meta.get('checkpoint'))!;
    await meta.put('checkpoint', { ...cp, seq: 1 });
    expect((await verify(a, token)).ok).toBe(false);
  });
});

describe('emergency controls', () => {
  it('lockdown needs a second admin, shows on the LED, lets only admins act, and is lifted', async () => {
    h = await buildAuthApp();
    const root = await h.setupRoot();
    const other = await h.userWithRole('admin', 'second');
    const user = await h.userWithRole('user', 'plain');
    // root made "second": second may ask and root approve, not the other way round.
    const req = (await h.inject({ method: 'POST', url: '/api/v1/emergency/requests', token: other.accessToken, payload: { action: 'lockdown', reason: 'drill' } })).json();
    expect((await h.inject({ method: 'POST', url: `/api/v1/emergency/requests/${req.id}/approve`, token: other.accessToken, payload: {} })).json()).toMatchObject({ statusCode: 409, code: 'AUTH_ERR_APPROVAL_SELF' });
    expect((await h.inject({ method: 'POST', url: `/api/v1/emergency/requests/${req.id}/approve`, token: user.accessToken, payload: {} })).statusCode).toBe(403);
    const approved = await h.inject({ method: 'POST', url: `/api/v1/emergency/requests/${req.id}/approve`, token: root.accessToken, payload: {} });
    expect(approved.json().state.lockdown).toMatchObject({ active: true });
    expect(approved.json().state.lockdown.until - approved.json().state.lockdown.since).toBe(24 * 3600 * 1000);
    expect(h.flags).toEqual([true]);
    expect((await h.inject({ method: 'GET', url: '/api/v1/auth/me', token: user.accessToken })).json()).toMatchObject({ statusCode: 403, code: 'AUTH_ERR_LOCKDOWN' });
    expect((await h.inject({ method: 'GET', url: '/api/v1/users', token: other.accessToken })).statusCode).toBe(200);
    expect((await h.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'plain', password: user.password } })).json().code).toBe('AUTH_ERR_LOCKDOWN');
    // Survives a restart (the LED flag is set again), then auto-reverts after 24 h.
    h = await h.restart();
    expect(h.flags).toEqual([true]);
    expect((await h.inject({ method: 'GET', url: '/api/v1/auth/methods' })).json().lockdown).toBe(true);
    const log = (await h.inject({ method: 'GET', url: '/api/v1/audit?action=emergency', token: (await h.login('root')).accessToken })).json().entries.map((e: { action: string; outcome: string }) => `${e.action}:${e.outcome}`);
    expect(log).toEqual(['emergency.lockdown.approve:success', 'emergency.lockdown.approve:denied', 'emergency.lockdown.request:success']);
    const dir = h.dataDir;
    await h.app.close();
    await h.auth.stop();
    await h.store.stop();
    h = await buildAuthApp({ dataDir: dir });
    h.skew = 24 * 3600 * 1000 + 1000;
    await h.auth.stop();
    await h.auth.start(); // start() reverts what expired while the device was off
    expect((await h.inject({ method: 'GET', url: '/api/v1/auth/methods' })).json().lockdown).toBe(false);
    expect(h.flags).toContain(false);
  });

  it('disable new sessions (12 h) refuses non-admin logins; stop-all revokes every other session', async () => {
    h = await buildAuthApp();
    const root = await h.setupRoot();
    const other = await h.userWithRole('admin', 'second');
    const user = await h.userWithRole('user', 'plain');
    const off = (await h.inject({ method: 'POST', url: '/api/v1/emergency/sessions', token: root.accessToken, payload: { disabled: true } })).json();
    expect(off.sessionsDisabled.until - off.sessionsDisabled.since).toBe(12 * 3600 * 1000);
    expect(h.auth.emergency.newSessionsAllowed).toBe(false);
    expect((await h.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'plain', password: user.password } })).json()).toMatchObject({ statusCode: 503, code: 'AUTH_ERR_SESSIONS_DISABLED' });
    expect((await h.login('second')).accessToken).toBeTruthy();
    await h.inject({ method: 'POST', url: '/api/v1/emergency/sessions', token: root.accessToken, payload: { disabled: false } });
    expect(h.auth.emergency.newSessionsAllowed).toBe(true);

    let stopped = 0;
    h.auth.registerSessionStopper(async () => { stopped += 2; return 2; });
    const req = (await h.inject({ method: 'POST', url: '/api/v1/emergency/requests', token: other.accessToken, payload: { action: 'stop-all-sessions', reason: 'breach' } })).json();
    const done = (await h.inject({ method: 'POST', url: `/api/v1/emergency/requests/${req.id}/approve`, token: root.accessToken, payload: {} })).json();
    expect(done.result.stopped).toMatchObject({ recordings: 2 });
    expect(stopped).toBe(2);
    expect((await h.inject({ method: 'GET', url: '/api/v1/auth/me', token: user.accessToken })).statusCode).toBe(401);
    expect((await h.inject({ method: 'GET', url: '/api/v1/auth/me', token: other.accessToken })).statusCode).toBe(401);
    expect((await h.inject({ method: 'GET', url: '/api/v1/auth/me', token: root.accessToken })).statusCode).toBe(200);
  });
});
