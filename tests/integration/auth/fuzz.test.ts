// Fuzz: ≥ 10,000 generated malformed requests (fast-check) across every route of the live
// route table, through inject(): wrong methods, mangled paths and params, junk query strings,
// hostile headers and tokens, bodies of every shape. Zero 5xx and no crash. Then a short burst
// of raw malformed HTTP against the real appliance: no 5xx, core never restarts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { connect } from 'node:net';
import type { InjectOptions } from 'fastify';
import { buildAuthApp, type AuthApp } from '../../helpers/auth-app.js';
import { startAppliance } from '../../helpers/appliance.js';

const RUNS = Number(process.env['LUCID_FUZZ_RUNS'] ?? 10_000);
let h: AuthApp;
let tokens: string[];

beforeAll(async () => {
  h = await buildAuthApp();
  tokens = [(await h.userWithRole('super_admin')).accessToken, (await h.userWithRole('admin', 'fuzz-admin')).accessToken, (await h.userWithRole('user', 'fuzz-user')).accessToken];
}, 60_000);
afterAll(async () => h?.close());

const junkString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', ' ', '\u0000', '../../etc/passwd', '%00', '%', '%zz', "' OR 1=1 --", '<script>alert(1)</script>', '{"$gt":""}', 'a'.repeat(5000), '\uD800', 'T'.repeat(34), '__proto__', 'constructor'),
);
const jsonValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(fc.constantFrom('username', 'password', 'code', 'address', 'signature', 'refreshToken', 'role', 'action', 'reason', 'disabled', '__proto__', 'extra'), fc.oneof(junkString, fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }))),
);
const body = fc.oneof(
  jsonValue.map((v) => ({ payload: JSON.stringify(v), type: 'application/json' })),
  junkString.map((s) => ({ payload: s, type: 'application/json' })),
  junkString.map((s) => ({ payload: s, type: fc.sample(fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', 'application/json; charset=utf-16', ''), 1)[0]! })),
  fc.constant({ payload: '{"a":'.repeat(2000), type: 'application/json' }),
  fc.constant(null),
);
/** encodeURIComponent, except that a lone surrogate becomes invalid UTF-8 on the wire (good fuzz). */
const enc = (s: string): string => {
  try {
    return encodeURIComponent(s);
  } catch {
    return '%ED%A0%80';
  }
};
const request = fc.record({
  route: fc.nat(),
  method: fc.option(fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'), { freq: 4 }),
  param: junkString,
  query: fc.array(fc.tuple(fc.constantFrom('limit', 'before', 'since', 'action', 'outcome', 'all', 'x', '__proto__'), junkString), { maxLength: 4 }),
  auth: fc.oneof({ arbitrary: fc.nat(), weight: 3 }, fc.constant(null), junkString.map((s) => `Bearer ${s}`), junkString),
  ua: fc.oneof(fc.constant('lucid-test/1.0'), junkString),
  body,
  // Many client addresses, so the public tier (100/min per IP) does not turn most requests into 429s.
  ip: fc.oneof(fc.constantFrom('127.0.0.1', '::1'), fc.integer({ min: 1, max: 60 }).map((n) => `10.0.0.${n}`)),
});

describe('fuzz', () => {
  it(`${RUNS} malformed requests across all routes: zero 5xx, no crash`, async () => {
    const routes = h.app.lucidRoutes;
    const statuses = new Map<number, number>();
    const fails: string[] = [];
    await fc.assert(fc.asyncProperty(request, async (r) => {
      const route = routes[r.route % routes.length]!;
      const url = route.url.replace(/:[A-Za-z]+/g, () => enc(r.param)) + (r.query.length ? `?${r.query.map(([k, v]) => `${k}=${enc(v)}`).join('&')}` : '');
      const headers: Record<string, string> = { 'user-agent': r.ua.replace(/[^\x20-\x7e]/g, '') };
      if (typeof r.auth === 'number') headers['authorization'] = `Bearer ${tokens[r.auth % tokens.length]}`;
      else if (r.auth !== null) headers['authorization'] = r.auth.replace(/[^\x20-\x7e]/g, '');
      if (r.body?.type) headers['content-type'] = r.body.type;
      const opts: InjectOptions = { method: (r.method ?? route.method) as 'GET', url, headers, remoteAddress: r.ip, ...(r.body ? { payload: r.body.payload } : {}) };
      const res = await h.app.inject(opts);
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      if (res.statusCode >= 500 && res.statusCode !== 503) fails.push(`${opts.method} ${url.slice(0, 120)} → ${res.statusCode} ${res.body.slice(0, 200)}`);
      return true;
    }), { numRuns: RUNS, seed: Number(process.env['LUCID_FUZZ_SEED'] ?? 4242) });
    expect(fails).toEqual([]);
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    expect(total).toBe(RUNS);
    // It reached past access control, not only 401/429.
    expect((statuses.get(200) ?? 0) + (statuses.get(201) ?? 0)).toBeGreaterThan(50);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(100);
    expect((await h.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    console.log('fuzz status histogram', Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])));
  }, 300_000);

  it('a burst of raw malformed HTTP at the real appliance: no 5xx, core keeps running', async () => {
    const app = await startAppliance();
    try {
      await app.waitHealthy(30_000);
      const before = await app.json('/api/v1/status');
      const corePid = before.children.find((c: { name: string }) => c.name === 'core').pid;
      const raw = (text: string): Promise<string> => new Promise((resolve) => {
        const s = connect(app.port, '127.0.0.1', () => s.end(text));
        let out = '';
        s.on('data', (d) => { out += d.toString('latin1'); });
        s.on('close', () => resolve(out));
        s.on('error', () => resolve(out));
        s.setTimeout(5000, () => s.destroy());
      });
      const samples = fc.sample(fc.tuple(fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'BREW', 'G\u0000T'), fc.constantFrom(...app.url ? ['/api/v1/auth/login', '/api/v1/users', '/api/v1/audit', '/healthz', '/%%', '/api/v1/users/%00', '/' + 'x'.repeat(9000)] : []), fc.string({ maxLength: 200 }), fc.constantFrom('application/json', 'text/plain', 'application/json; charset=latin1')), { numRuns: 300, seed: 7 });
      const answers: string[] = [];
      for (let i = 0; i < samples.length; i += 20) {
        answers.push(...await Promise.all(samples.slice(i, i + 20).map(([m, p, b, t]) =>
          raw(`${m} ${p} HTTP/1.1\r\nHost: x\r\nContent-Type: ${t}\r\nContent-Length: ${Buffer.byteLength(b) + (b.length % 3 === 0 ? 5 : 0)}\r\nConnection: close\r\n\r\n${b}`))));
      }
      answers.push(await raw('GARBAGE\r\n\r\n'), await raw(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
      const fiveXX = answers.filter((a) => /^HTTP\/1\.1 5\d\d/.test(a) && !/^HTTP\/1\.1 503/.test(a));
      expect(fiveXX).toEqual([]);
      expect(answers.filter((a) => /^HTTP\/1\.1 [1-5]\d\d/.test(a)).length).toBeGreaterThan(250);
      expect((await app.get('/healthz')).status).toBe(200);
      const after = await app.json('/api/v1/status');
      expect(after.children.find((c: { name: string }) => c.name === 'core')).toMatchObject({ pid: corePid, restarts: 0 });
    } finally {
      await app.cleanup();
    }
  }, 120_000);
});
