// One canonical form of a username (NFKC + case folding + trimmed ends; invisible characters
// refused) everywhere: lookup, the per-account login limit, lockout, audit, "taken".
import { afterEach, describe, expect, it } from 'vitest';
import { buildAuthApp, PASSWORD, type AuthApp } from '../../helpers/auth-app.js';
import { canonicalUsername } from '../../../services/auth/index.js';

let h: AuthApp | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const login = (a: AuthApp, username: string, password: string, ip: string) => a.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress: ip, payload: { username, password } });
const FOLDED = ['erin', 'ERIN', 'ｅｒｉｎ', 'ＥＲＩＮ', ' erin', 'Erin\u3000', '\u00a0eRiN', 'ｅrin', 'ERin ', 'eｒｉn', 'ＥＲＩＮ  '];
const INVISIBLE = ['er\u200bin', 'erin\u200d', '\ufeffx-erin', 'er\u00adin', 'er\u202ein', 'er in', 'erin\u0000', 'er\u2060in', 'e\ufe0frin', 'er\u3164in'];

describe('canonical usernames', () => {
  it('the rules: compatibility forms, case and the ends fold; invisible characters are refused', () => {
    for (const v of FOLDED) expect(canonicalUsername(v), JSON.stringify(v)).toBe('erin');
    expect(canonicalUsername('Straße')).toBe('strasse');
    expect(canonicalUsername('\u212Aate')).toBe('kate'); // Kelvin sign
    expect(canonicalUsername('ﬁnn')).toBe('finn');
    for (const v of INVISIBLE) expect(canonicalUsername(v), JSON.stringify(v)).toBeNull();
    expect(canonicalUsername('еrin')).not.toBe('erin'); // Cyrillic е: another name, not folded
  });

  it('every spelling reaches the one account and counts under its one per-account limit', async () => {
    h = await buildAuthApp();
    await h.userWithRole('user', 'erin');
    h.skew += 61_000; // a fresh minute of the login limiter
    // Each from its own address: only the per-account limit (10 a minute) can stop them.
    const answers = [];
    for (const [i, v] of FOLDED.entries()) answers.push(await login(h, v, PASSWORD, `10.4.0.${i + 1}`));
    expect(answers.slice(0, 10).map((r) => r.statusCode)).toEqual(Array(10).fill(200));
    expect(answers.slice(0, 10).every((r) => r.json().user.username === 'erin')).toBe(true);
    expect(answers[10]!.json()).toMatchObject({ statusCode: 429, code: 'AUTH_ERR_RATE_LIMITED' });
  });

  it('wrong passwords under any spelling lock the one account; unknown names are audited in canonical form', async () => {
    h = await buildAuthApp();
    const root = await h.setupRoot();
    await h.userWithRole('user', 'erin');
    h.skew += 61_000;
    for (const [i, v] of ['ｅｒｉｎ', 'ERIN', ' erin', 'Ｅrin', 'erin'].entries()) expect((await login(h, v, 'wrong-password-77', `10.5.0.${i + 1}`)).statusCode).toBe(401);
    expect((await login(h, 'erin', PASSWORD, '10.5.1.1')).json()).toMatchObject({ statusCode: 423, code: 'AUTH_ERR_LOCKED' });
    expect((await login(h, 'ＮＯ-ＳＵＣＨ-ＵＳＥＲ', 'whatever-pass-1', '10.5.2.1')).statusCode).toBe(401);
    const token = (await h.login('root', PASSWORD, '10.5.3.1')).accessToken;
    const entries = (await h.inject({ method: 'GET', url: '/api/v1/audit?action=auth.login&outcome=failure&limit=200', token })).json().entries as Array<{ target: string; details: { username?: string } }>;
    expect(entries.some((e) => e.target === 'no-such-user')).toBe(true);
    expect(entries.filter((e) => e.details.username !== undefined).every((e) => e.details.username === 'erin')).toBe(true);
    expect(root.user.username).toBe('root');
  });

  it('names with invisible characters are a coded 400 at login, and never reach an account', async () => {
    h = await buildAuthApp();
    await h.userWithRole('user', 'erin');
    for (const [i, v] of INVISIBLE.entries()) expect((await login(h, v, PASSWORD, `10.6.0.${i + 1}`)).json(), JSON.stringify(v)).toMatchObject({ statusCode: 400, code: 'AUTH_ERR_USERNAME_INVALID' });
  });

  it('creating a user whose canonical form exists is a 409 naming it — also when 5 creations race', async () => {
    h = await buildAuthApp();
    const root = await h.setupRoot();
    const create = (username: string) => h!.inject({ method: 'POST', url: '/api/v1/users', token: root.accessToken, payload: { username, password: PASSWORD, role: 'user' } });
    expect((await create('Erin')).statusCode).toBe(201);
    for (const v of ['erin', 'ERIN', 'eRiN']) expect((await create(v)).json()).toMatchObject({ statusCode: 409, code: 'AUTH_ERR_USER_EXISTS', details: { username: 'erin' } });
    const raced = await Promise.all(['newbie', 'NEWBIE', 'Newbie', 'newBie', 'newbie'].map(create));
    expect(raced.map((r) => r.statusCode).sort()).toEqual([201, 409, 409, 409, 409]);
    const users = (await h.inject({ method: 'GET', url: '/api/v1/users', token: root.accessToken })).json().users as Array<{ username: string }>;
    expect(users.map((u) => u.username).sort()).toEqual(['erin', 'newbie', 'root']);
  });

  it('users stored before canonical names are migrated once: their records and the names index', async () => {
    h = await buildAuthApp();
    await h.setupRoot();
    // Records as the code before canonical names wrote them: the name as typed, the index under
    // NFKC + toLowerCase, no provenance.
    const legacy = async (id: string, username: string) => {
      const record = { id, username, role: 'user', passwordHash: (await h!.auth.users.byName('root'))!.passwordHash, wallets: [], createdAt: 1, createdBy: null, failedLogins: 0, lockedUntil: 0 };
      await h!.store.sublevel('auth-users').put(id, record);
      await h!.store.sublevel('auth-names', 'utf8').put(username.normalize('NFKC').toLowerCase(), id);
    };
    await legacy('legacy-one', 'Legacy.User');
    await legacy('legacy-two', 'Maß'); // its old key "maß" is not the canonical "mass"
    await h.store.sublevel('auth-meta').del('names-version');
    h = await h.restart();
    for (const [i, v] of ['legacy.user', 'LEGACY.USER', 'ＬＥＧＡＣＹ．ＵＳＥＲ', 'mass', 'MASS', 'Maß'].entries()) {
      expect((await login(h, v, PASSWORD, `10.7.0.${i + 1}`)).statusCode, v).toBe(200);
    }
    const two = (await h.auth.users.get('legacy-two'))!;
    expect(two).toMatchObject({ username: 'mass', roleChangedBy: null, roleChangedAt: 1, credentialsChangedBy: null, credentialsChangedAt: 1 });
    expect(await h.store.sublevel('auth-names', 'utf8').get('maß')).toBeUndefined();
  });
});
