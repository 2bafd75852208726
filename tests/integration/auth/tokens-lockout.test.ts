// Onboarding, tokens and lockout through the real routes (inject) on a real LevelDB.
import { afterEach, describe, expect, it } from 'vitest';
import { statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildAuthApp, PASSWORD, UA, type AuthApp } from '../../helpers/auth-app.js';

let h: AuthApp | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const audit = async (a: AuthApp, token: string, action: string) =>
  (await a.inject({ method: 'GET', url: `/api/v1/audit?action=${action}`, token })).json().entries as Array<{ action: string; outcome: string; details: Record<string, unknown> }>;

describe('onboarding without a default password', () => {
  it('makes a one-time setup code (0600 file), creates the first super_admin with it and burns it', async () => {
    h = await buildAuthApp();
    const file = join(h.dataDir, 'setup-code');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(h.dataDir, 'keys/jwt-ed25519.pem')).mode & 0o777).toBe(0o600);
    expect((await h.inject({ method: 'GET', url: '/api/v1/auth/methods' })).json()).toMatchObject({ setupRequired: true });
    const wrong = await h.inject({ method: 'POST', url: '/api/v1/auth/setup', payload: { code: 'AAAA-BBBB-CCCC-DDDD', username: 'root', password: PASSWORD } });
    expect(wrong.json()).toMatchObject({ statusCode: 401, code: 'AUTH_ERR_SETUP_CODE' });
    const weak = await h.inject({ method: 'POST', url: '/api/v1/auth/setup', payload: { code: h.auth.setupCode.current!, username: 'root', password: 'Password1234!' } });
    expect(weak.json()).toMatchObject({ statusCode: 400, code: 'AUTH_ERR_WEAK_PASSWORD' });
    const root = await h.setupRoot();
    expect(root.user.role).toBe('super_admin');
    expect(existsSync(file)).toBe(false);
    const again = await h.inject({ method: 'POST', url: '/api/v1/auth/setup', payload: { code: 'x'.repeat(16), username: 'other', password: PASSWORD } });
    expect(again.json()).toMatchObject({ statusCode: 409, code: 'AUTH_ERR_SETUP_DONE' });
    h = await h.restart();
    expect(existsSync(file)).toBe(false);
    expect((await h.inject({ method: 'GET', url: '/api/v1/auth/methods' })).json()).toMatchObject({ setupRequired: false });
  });
});

describe('tokens', () => {
  it('rotates refresh tokens; presenting a used one revokes the whole family', async () => {
    h = await buildAuthApp();
    const first = await h.userWithRole('user', 'alice');
    const refresh = (t: string) => h!.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: t } });
    const second = await refresh(first.refreshToken);
    expect(second.statusCode).toBe(200);
    const rotated = second.json();
    expect(rotated.refreshToken).not.toBe(first.refreshToken);
    expect((await h.inject({ method: 'GET', url: '/api/v1/auth/me', token: rotated.accessToken })).statusCode).toBe(200);

    const replay = await refresh(first.refreshToken);
    expect(replay.json()).toMatchObject({ statusCode: 401, code: 'AUTH_ERR_REFRESH_REUSED' });
    // The family is gone: the newest refresh token and both access tokens die with it.
    expect((await refresh(rotated.refreshToken)).json()).toMatchObject({ code: 'AUTH_ERR_TOKEN_INVALID' });
    expect((await h.inject({ method: 'GET', url: '/api/v1/auth/me', token: rotated.accessToken })).json()).toMatchObject({ code: 'AUTH_ERR_TOKEN_INVALID' });
    expect((await h.inject({ method: 'GET', url: '/api/v1/auth/me', token: first.accessToken })).statusCode).toBe(401);
    const root = await h.setupRoot();
    expect((await audit(h, root.accessToken, 'auth.refresh')).some((e) => e.outcome === 'denied')).toBe(true);
  });

  it('logout revokes; a logged-out token stays rejected after a restart', async () => {
    h = await buildAuthApp();
    const t = await h.userWithRole('user', 'bob');
    expect((await h.inject({ method: 'POST', url: '/api/v1/auth/logout', token: t.accessToken, payload: {} })).json()).toEqual({ ok: true });
    expect((await h.inject({ method: 'GET', url: '/api/v1/auth/me', token: t.accessToken })).json()).toMatchObject({ statusCode: 401, code: 'AUTH_ERR_TOKEN_INVALID' });
    h = await h.restart();
    expect((await h.inject({ method: 'GET', url: '/api/v1/auth/me', token: t.accessToken })).json()).toMatchObject({ statusCode: 401, code: 'AUTH_ERR_TOKEN_INVALID' });
    expect((await h.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: t.refreshToken } })).statusCode).toBe(401);
    expect((await h.inject({ method: 'GET', url: '/api/v1/auth/me', token: (await h.login('bob')).accessToken })).statusCode).toBe(200);
  });

  it('binds tokens to the user agent (and, when configured, the IP); expired tokens are refused', async () => {
    h = await buildAuthApp({ bindIp: true });
    const t = await h.userWithRole('user', 'carol');
    const me = (headers: Record<string, string>, remoteAddress = t.ip) => h!.inject({ method: 'GET', url: '/api/v1/auth/me', token: t.accessToken, headers, remoteAddress });
    expect((await me({})).statusCode).toBe(200);
    expect((await me({ 'user-agent': 'curl/8' })).json()).toMatchObject({ code: 'AUTH_ERR_TOKEN_INVALID' });
    expect((await me({}, '10.9.9.9')).json()).toMatchObject({ code: 'AUTH_ERR_TOKEN_INVALID' });
    expect((await me({ authorization: `Bearer ${t.accessToken.slice(0, -4)}AAAA` })).json()).toMatchObject({ code: 'AUTH_ERR_TOKEN_INVALID' });
    h.skew = 16 * 60 * 1000;
    expect((await me({})).json()).toMatchObject({ code: 'AUTH_ERR_TOKEN_EXPIRED' });
    expect(t.expiresIn).toBe(900);
  });

  it('keeps at most N sessions per user: the oldest is revoked', async () => {
    h = await buildAuthApp({ maxSessions: 3 });
    const first = await h.userWithRole('user', 'dave');
    const more = [await h.login('dave'), await h.login('dave'), await h.login('dave')];
    expect((await h.inject({ method: 'GET', url: '/api/v1/auth/me', token: first.accessToken })).statusCode).toBe(401);
    for (const t of more) expect((await h.inject({ method: 'GET', url: '/api/v1/auth/me', token: t.accessToken })).statusCode).toBe(200);
    const sessions = (await h.inject({ method: 'GET', url: '/api/v1/auth/sessions', token: more[2]!.accessToken })).json().sessions;
    expect(sessions).toHaveLength(3);
    expect(sessions.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
    // Only dave's own; the super_admin (root, logged in by setup) sees everyone's with ?all=true.
    const daveId = sessions[0].userId;
    expect(sessions.every((s: { userId: string }) => s.userId === daveId)).toBe(true);
    const root = await h.setupRoot();
    const everyone = (await h.inject({ method: 'GET', url: '/api/v1/auth/sessions?all=true', token: root.accessToken })).json().sessions as Array<{ userId: string }>;
    expect(everyone.filter((s) => s.userId === daveId)).toHaveLength(3);
    expect(everyone.some((s) => s.userId !== daveId)).toBe(true);
    const asDaveAll = (await h.inject({ method: 'GET', url: '/api/v1/auth/sessions?all=true', token: more[0]!.accessToken })).json().sessions as Array<{ userId: string }>;
    expect(asDaveAll.every((s) => s.userId === daveId)).toBe(true);
  });
});

describe('lockout', () => {
  it('5 bad logins lock the account for 15 minutes; lock and release are audited', async () => {
    h = await buildAuthApp();
    await h.userWithRole('user', 'erin');
    const root = await h.setupRoot();
    const bad = () => h!.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'erin', password: 'wrong-password-xyz' } });
    for (let i = 0; i < 5; i++) expect((await bad()).json()).toMatchObject({ statusCode: 401, code: 'AUTH_ERR_BAD_CREDENTIALS' });
    const locked = await h.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'erin', password: PASSWORD } });
    expect(locked.json()).toMatchObject({ statusCode: 423, code: 'AUTH_ERR_LOCKED' });
    expect((await audit(h, root.accessToken, 'auth.lock'))).toHaveLength(1);
    h.skew = 14 * 60 * 1000;
    expect((await h.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'erin', password: PASSWORD } })).statusCode).toBe(423);
    h.skew = 15 * 60 * 1000 + 1000;
    expect((await h.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'erin', password: PASSWORD } })).statusCode).toBe(200);
    const releases = await audit(h, (await h.login('root')).accessToken, 'auth.unlock'); // root's old token expired with the clock
    expect(releases).toHaveLength(1);
    expect(releases[0]!.details).toMatchObject({ reason: 'expired', username: 'erin' });
  });

  it('an admin can release a lock early (audited)', async () => {
    h = await buildAuthApp();
    const u = await h.userWithRole('user', 'frank');
    const root = await h.setupRoot();
    for (let i = 0; i < 5; i++) await h.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'frank', password: 'nope-nope-nope' } });
    const id = u.user.id;
    expect((await h.inject({ method: 'GET', url: `/api/v1/users/${id}`, token: root.accessToken })).json().locked).toBe(true);
    expect((await h.inject({ method: 'POST', url: `/api/v1/users/${id}/unlock`, token: root.accessToken, payload: {} })).json().locked).toBe(false);
    expect((await audit(h, root.accessToken, 'auth.unlock'))[0]!.details).toMatchObject({ reason: 'admin' });
    expect((await h.login('frank')).accessToken).toBeTruthy();
  });

  it('limits logins to 10 a minute per account, with Retry-After', async () => {
    h = await buildAuthApp();
    await h.setupRoot();
    let last;
    for (let i = 0; i < 11; i++) {
      last = await h.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress: `10.0.0.${i + 1}`, payload: { username: 'nobody-here', password: 'whatever-pass' } });
    }
    expect(last!.statusCode).toBe(429);
    expect(last!.json().code).toBe('AUTH_ERR_RATE_LIMITED');
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('password checks outside login', () => {
  it('changing one\'s own password is limited like a login: a stolen token is no password oracle', async () => {
    h = await buildAuthApp();
    const u = await h.userWithRole('user', 'ivan');
    h.skew += 61_000; // a fresh minute (creating ivan logged in and set his password)
    const guess = (i: number) => h!.inject({ method: 'POST', url: '/api/v1/auth/me/password', token: u.accessToken, remoteAddress: `10.1.2.${i}`, payload: { currentPassword: `guess-number-${i}-xx`, newPassword: 'a-new-password-123' } });
    for (let i = 1; i <= 10; i++) expect((await guess(i)).json().code).toBe('AUTH_ERR_BAD_CREDENTIALS');
    expect((await guess(11)).json()).toMatchObject({ statusCode: 429, code: 'AUTH_ERR_RATE_LIMITED' });
  });
});

describe('rate limits', () => {
  it('the 101st public request in a minute gets 429 with Retry-After and RateLimit-* headers', async () => {
    h = await buildAuthApp();
    for (let i = 1; i <= 100; i++) {
      const res = await h.inject({ method: 'GET', url: '/api/v1/node', remoteAddress: '192.0.2.7' });
      expect(res.statusCode, `request ${i}`).toBe(200);
      if (i === 1) expect(res.headers).toMatchObject({ 'ratelimit-limit': '100', 'ratelimit-remaining': '99' });
    }
    const over = await h.inject({ method: 'GET', url: '/api/v1/node', remoteAddress: '192.0.2.7' });
    expect(over.statusCode).toBe(429);
    expect(over.json().code).toBe('AUTH_ERR_RATE_LIMITED');
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect(over.headers['ratelimit-remaining']).toBe('0');
    // Another client is unaffected, and a logged-in user has the user tier.
    expect((await h.inject({ method: 'GET', url: '/api/v1/node', remoteAddress: '192.0.2.8' })).statusCode).toBe(200);
    const u = await h.userWithRole('user', 'gina');
    const authed = await h.inject({ method: 'GET', url: '/api/v1/node', remoteAddress: '192.0.2.7', token: u.accessToken });
    expect(authed.statusCode).toBe(200);
    expect(authed.headers['ratelimit-limit']).toBe('1000');
    const admin = await h.inject({ method: 'GET', url: '/api/v1/node', token: (await h.setupRoot()).accessToken });
    expect(admin.headers['ratelimit-limit']).toBe('10000');
    expect((await h.inject({ method: 'GET', url: '/healthz', remoteAddress: '192.0.2.7' })).statusCode).toBe(200);
  });
});

describe('users and roles', () => {
  it('no one grants a role above their own; the last super_admin stays', async () => {
    h = await buildAuthApp();
    const root = await h.setupRoot();
    const admin = await h.userWithRole('admin', 'hank');
    const create = (token: string, role: string, username: string) => h!.inject({ method: 'POST', url: '/api/v1/users', token, payload: { username, password: PASSWORD, role } });
    expect((await create(admin.accessToken, 'super_admin', 'evil')).json()).toMatchObject({ statusCode: 403, code: 'AUTH_ERR_ROLE_TOO_HIGH' });
    // Granting admin takes two people: ivy is made a user, the grant waits for approval.
    const ivy = await create(admin.accessToken, 'admin', 'ivy');
    expect(ivy.statusCode).toBe(202);
    expect(ivy.json()).toMatchObject({ user: { username: 'ivy', role: 'user' }, approval: { kind: 'user.update', params: { role: 'admin' } } });
    expect((await h.inject({ method: 'PATCH', url: `/api/v1/users/${admin.user.id}`, token: admin.accessToken, payload: { role: 'super_admin' } })).json().code).toBe('AUTH_ERR_ROLE_TOO_HIGH');
    expect((await h.inject({ method: 'DELETE', url: `/api/v1/users/${root.user.id}`, token: admin.accessToken })).json().code).toBe('AUTH_ERR_ROLE_TOO_HIGH');
    expect((await h.inject({ method: 'PATCH', url: `/api/v1/users/${root.user.id}`, token: root.accessToken, payload: { role: 'admin' } })).json()).toMatchObject({ statusCode: 409, code: 'AUTH_ERR_LAST_SUPER_ADMIN' });
    expect((await h.inject({ method: 'DELETE', url: `/api/v1/users/${root.user.id}`, token: root.accessToken })).json().code).toBe('AUTH_ERR_LAST_SUPER_ADMIN');
    expect((await create(root.accessToken, 'user', 'x')).json().code).toBe('API_ERR_VALIDATION');
    expect((await create(root.accessToken, 'user', 'jill')).statusCode).toBe(201);
    // Demoting revokes: hank's admin token dies with the role change.
    expect((await h.inject({ method: 'PATCH', url: `/api/v1/users/${admin.user.id}`, token: root.accessToken, payload: { role: 'user' } })).json().role).toBe('user');
    expect((await h.inject({ method: 'GET', url: '/api/v1/users', token: admin.accessToken })).statusCode).toBe(401);
    const users = (await h.inject({ method: 'GET', url: '/api/v1/users', token: root.accessToken })).json().users;
    expect(JSON.stringify(users)).not.toMatch(/passwordHash|scrypt\$/);
    expect(UA).toBeTruthy();
  });
});
