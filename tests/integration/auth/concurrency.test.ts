// State-changing auth paths under parallel requests over real HTTP (the real auth service on a
// LevelDB in a temp dir, listening on a socket): N parallel requests must end exactly as N
// sequential ones do.
//   - wrong passwords sent at once lock the account (each attempt is counted before its ~90 ms
//     hash, one account at a time);
//   - one refresh token spent by 8 requests at once yields at most one new pair, and the reuse
//     revokes the family — the winner's new tokens included;
//   - an approval sent twice (or 8 times) at once runs the approved action once.
import { afterEach, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import { buildAuthApp, PASSWORD, UA, type AuthApp } from '../../helpers/auth-app.js';

let h: AuthApp | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function listen(a: AuthApp): Promise<string> {
  await a.app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(a.app.server.address() as AddressInfo).port}`;
}

const post = (base: string, path: string, body: object, token?: string): Promise<Response> => fetch(`${base}${path}`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', 'user-agent': UA, ...(token ? { authorization: `Bearer ${token}` } : {}) },
  body: JSON.stringify(body),
});
const get = (base: string, path: string, token: string): Promise<Response> => fetch(`${base}${path}`, { headers: { 'user-agent': UA, authorization: `Bearer ${token}` } });
const tally = (codes: string[]): Record<string, number> => codes.reduce<Record<string, number>>((m, c) => ({ ...m, [c]: (m[c] ?? 0) + 1 }), {});
const outcome = async (res: Response): Promise<string> => `${res.status} ${(await res.json() as { code?: string }).code ?? 'ok'}`;

describe('lockout under concurrency', () => {
  it('16 wrong passwords at once lock the account exactly as 16 in sequence do; the right password is then refused while locked', async () => {
    h = await buildAuthApp();
    const base = await listen(h);
    const root = await h.setupRoot();
    await h.userWithRole('user', 'erin');
    await h.userWithRole('user', 'frank');
    const wrong = (username: string) => post(base, '/api/v1/auth/login', { username, password: 'not-the-password-42' });

    h.skew += 61_000; // a fresh minute of the login limiter (setup and the logins above used some)
    const parallel = await Promise.all(Array.from({ length: 16 }, () => wrong('erin').then(outcome)));
    h.skew += 61_000;
    const sequential: string[] = [];
    for (let i = 0; i < 16; i++) sequential.push(await outcome(await wrong('frank')));
    // 10 a minute per account reach the check (the rest: 429); of those, 5 fail and lock, 5 find the lock.
    expect(tally(sequential)).toEqual({ '401 AUTH_ERR_BAD_CREDENTIALS': 5, '423 AUTH_ERR_LOCKED': 5, '429 AUTH_ERR_RATE_LIMITED': 6 });
    expect(tally(parallel)).toEqual(tally(sequential));

    // Past the login limiter's minute, inside the 15-minute lock: the right password is refused.
    h.skew += 61_000;
    expect(await outcome(await post(base, '/api/v1/auth/login', { username: 'erin', password: PASSWORD }))).toBe('423 AUTH_ERR_LOCKED');
    const locks = (await (await get(base, '/api/v1/audit?action=auth.lock', (await h.login('root', PASSWORD, '10.2.0.1')).accessToken)).json() as { entries: Array<{ details: { username: string } }> }).entries;
    expect(locks.map((e) => e.details.username).sort()).toEqual(['erin', 'frank']);
    expect(root.accessToken).toBeTruthy();
  }, 60_000);

  it('a burst at once on a fresh minute never lets more than 5 wrong guesses reach the hash', async () => {
    h = await buildAuthApp();
    const base = await listen(h);
    await h.setupRoot();
    await h.userWithRole('user', 'gail');
    // 9 at once: all pass the limiter (10/min), so the lock alone must stop the 6th to 9th.
    h.skew += 61_000;
    const burst = await Promise.all(Array.from({ length: 9 }, () => post(base, '/api/v1/auth/login', { username: 'gail', password: 'wrong-wrong-wrong-1' }).then(outcome)));
    expect(tally(burst)).toEqual({ '401 AUTH_ERR_BAD_CREDENTIALS': 5, '423 AUTH_ERR_LOCKED': 4 });
    expect((await h.auth.users.byName('gail'))!.lockedUntil).toBeGreaterThan(Date.now());
  }, 60_000);
});

describe('refresh token spent concurrently', () => {
  it('8 refreshes with one token at once: at most one new pair, and the family is revoked with the winner\'s tokens', async () => {
    h = await buildAuthApp();
    // In-process first: the 8 start in one tick and step through the same awaits together, so
    // even one await between the check and the swap of the token would let two of them win.
    const inProc = await h.userWithRole('user', 'ivan');
    const injected = await Promise.all(Array.from({ length: 8 }, () => h!.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: inProc.refreshToken } })));
    expect(injected.filter((r) => r.statusCode === 200).length, 'in-process winners').toBeLessThanOrEqual(1);
    expect(injected.filter((r) => r.statusCode === 401).length).toBe(8 - injected.filter((r) => r.statusCode === 200).length);
    expect(h.auth.families.ofUser(inProc.user.id)[0]!.revokedAt).not.toBeNull();
    // Then over real HTTP, as a LAN attacker sends them.
    const base = await listen(h);
    const first = await h.userWithRole('user', 'hana');
    const answers = await Promise.all(Array.from({ length: 8 }, () => post(base, '/api/v1/auth/refresh', { refreshToken: first.refreshToken })));
    const bodies = await Promise.all(answers.map(async (r) => ({ status: r.status, body: await r.json() as { code?: string; accessToken?: string; refreshToken?: string } })));
    const winners = bodies.filter((b) => b.status === 200);
    expect(winners.length).toBeLessThanOrEqual(1);
    // The others: reuse (which revokes the family), or — once it is revoked — a dead token.
    expect(bodies.filter((b) => b.status === 401 && ['AUTH_ERR_REFRESH_REUSED', 'AUTH_ERR_TOKEN_INVALID'].includes(b.body.code!)).length).toBe(8 - winners.length);
    expect(bodies.some((b) => b.body.code === 'AUTH_ERR_REFRESH_REUSED')).toBe(true);
    // The family is dead: the first pair and any winner's pair are refused.
    expect((await get(base, '/api/v1/auth/me', first.accessToken)).status).toBe(401);
    for (const w of winners) {
      expect((await get(base, '/api/v1/auth/me', w.body.accessToken!)).status).toBe(401);
      expect((await post(base, '/api/v1/auth/refresh', { refreshToken: w.body.refreshToken! })).status).toBe(401);
    }
    const family = h.auth.families.ofUser(first.user.id)[0]!;
    expect(family.revokedAt).not.toBeNull();
    // And it stays revoked on disk (a restart reads the store).
    h = await h.restart();
    expect((await h.inject({ method: 'GET', url: '/api/v1/auth/me', token: first.accessToken })).statusCode).toBe(401);
  }, 60_000);
});

describe('approvals under concurrency', () => {
  it('the same request approved 8 times at once by two independent admins runs once (in-process and over HTTP)', async () => {
    h = await buildAuthApp();
    const base = await listen(h);
    const root = await h.setupRoot();
    const asker = await h.userWithRole('admin', 'asker');
    const other = await h.userWithRole('admin', 'other');
    let runs = 0;
    h.auth.registerSessionStopper(async () => { runs++; return 0; });
    // root and "other" are both independent of "asker" (neither was made or changed by asker).
    const approvers = [root.accessToken, other.accessToken];
    const request = async (token: string) => (await post(base, '/api/v1/emergency/requests', { action: 'stop-all-sessions', reason: 'race' }, token)).json() as Promise<{ id: string }>;

    // In-process: the 8 approvals start in one tick and step through the same awaits together.
    const first = await request(asker.accessToken);
    const injected = await Promise.all(Array.from({ length: 8 }, (_, i) => h!.inject({ method: 'POST', url: `/api/v1/emergency/requests/${first.id}/approve`, token: approvers[i % 2], payload: {} })));
    expect(injected.filter((r) => r.statusCode === 200)).toHaveLength(1);
    expect(runs).toBe(1);

    // Over HTTP, with fresh sessions (stop-all ended every session but its approver's).
    const tokens = [(await h.login('root', PASSWORD, '10.3.0.1')).accessToken, (await h.login('other', PASSWORD, '10.3.0.2')).accessToken];
    const second = await request((await h.login('asker', PASSWORD, '10.3.0.3')).accessToken);
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => post(base, `/api/v1/emergency/requests/${second.id}/approve`, {}, tokens[i % 2]).then(outcome)));
    expect(answers.filter((a) => a.startsWith('200'))).toHaveLength(1);
    expect(runs).toBe(2);
    const audit = (await h.inject({ method: 'GET', url: '/api/v1/audit?action=emergency.stop-all-sessions.approve&outcome=success', token: (await h.login('root', PASSWORD, '10.3.0.4')).accessToken })).json().entries as unknown[];
    expect(audit).toHaveLength(2);
  }, 60_000);
});
