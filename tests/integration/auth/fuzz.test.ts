// Fuzz: ≥ 10,000 generated malformed requests (fast-check) across every route of the appliance's
// full route set as core assembles it (tests/helpers/core-app.ts: auth, users, approvals,
// audit, emergency, sessions with real uploaded data, ledger, anchors, status, HAL), through
// inject(): wrong methods, mangled or real path parameters, query strings and bodies built from
// the routes' own schemas (valid ones with one field spoiled, and junk), hostile headers and
// tokens. Zero 5xx: a 503 is accepted only while the emergency state "new sessions disabled" —
// which the fuzz itself switches on for part of the run — is active, and only with its codes.
// Then a short burst of raw malformed HTTP against the real appliance: no 5xx, core never restarts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { connect } from 'node:net';
import type { InjectOptions } from 'fastify';
import { startCoreApp, type CoreApp } from '../../helpers/core-app.js';
import { startAppliance } from '../../helpers/appliance.js';
import { sample, wrongTyped, type JsonSchema } from '../../helpers/schema-sample.js';

const RUNS = Number(process.env['LUCID_FUZZ_RUNS'] ?? 10_000);
const SESSIONS_DISABLED_CODES = ['AUTH_ERR_SESSIONS_DISABLED', 'SESS_ERR_CREATION_DISABLED'];
const ACCOUNTS = [['root', 'super_admin'], ['fuzz-admin', 'admin'], ['fuzz-operator', 'node_operator'], ['fuzz-user', 'user']] as const;
let c: CoreApp;
let tokens: string[];
/** Real ids and hashes, so some requests reach past "not found" into the handlers. */
let real: { sessions: string[]; manifests: string[] };

async function freshTokens(): Promise<void> {
  // Past the login limiter's window (the fuzz logs these accounts out now and then).
  c.skew += 61_000;
  tokens = [];
  for (const [name] of ACCOUNTS) tokens.push((await c.login(name, undefined, `10.6.0.${tokens.length + 1}`)).accessToken);
}

beforeAll(async () => {
  c = await startCoreApp();
  const root = (await c.setupRoot()).accessToken;
  for (const [name, role] of ACCOUNTS.slice(1)) await c.userWithRole(role, name);
  await freshTokens();
  // Sessions in several states: created, recording with data, completed (manifest, chunks, proofs).
  real = { sessions: [], manifests: [] };
  const create = async (): Promise<string> => (await c.inject({ method: 'POST', url: '/api/v1/sessions', token: root, payload: { chunkSize: 65536 } })).json().id;
  for (let i = 0; i < 3; i++) {
    const id = await create();
    real.sessions.push(id);
    if (i === 0) continue;
    await c.inject({ method: 'POST', url: `/api/v1/sessions/${id}/start`, token: root, payload: {} });
    const data = Buffer.alloc(150_000, i);
    await c.inject({ method: 'PUT', url: `/api/v1/sessions/${id}/data?offset=0`, token: root, headers: { 'content-type': 'application/octet-stream' }, payload: data });
    if (i === 2) {
      await c.inject({ method: 'POST', url: `/api/v1/sessions/${id}/stop`, token: root, payload: {} });
      const done = await c.inject({ method: 'POST', url: `/api/v1/sessions/${id}/finalize`, token: root, payload: {} });
      const hash = (done.json() as { manifestHash?: string }).manifestHash;
      if (hash) real.manifests.push(hash);
    }
  }
}, 120_000);
afterAll(async () => c?.close());

const junkString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', ' ', '\u0000', '../../etc/passwd', '%00', '%', '%zz', "' OR 1=1 --", '<script>alert(1)</script>', '{"$gt":""}', 'a'.repeat(5000), '\uD800', 'T'.repeat(34), '__proto__', 'constructor', '-1', '1e308', '0x10', '4294967296', 'NaN'),
);
const junkValue = fc.oneof(junkString, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.jsonValue({ maxDepth: 2 }));
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
  // Mostly the route's own method (null); sometimes another.
  method: fc.oneof({ arbitrary: fc.constant(null), weight: 5 }, { arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'), weight: 1 }),
  param: fc.oneof(junkString, fc.nat({ max: 5 }).map(String), { arbitrary: fc.nat().map((n) => `real:${n}`), weight: 3 }),
  query: fc.array(fc.tuple(fc.oneof(fc.constant('schema'), junkString), fc.oneof(junkString, fc.nat({ max: 300_000 }).map(String))), { maxLength: 4 }),
  auth: fc.oneof({ arbitrary: fc.nat(), weight: 3 }, fc.constant(null), junkString.map((s) => `Bearer ${s}`), junkString),
  ua: fc.oneof(fc.constant('lucid-test/1.0'), junkString),
  range: fc.option(fc.oneof(
    fc.tuple(fc.nat({ max: 400_000 }), fc.nat({ max: 400_000 })).map(([a, b]) => `bytes=${a}-${b}`),
    fc.nat({ max: 400_000 }).map((n) => `bytes=-${n}`), fc.nat({ max: 400_000 }).map((n) => `bytes=${n}-`),
    fc.constantFrom('bytes=0-0,5-9', 'bytes=', 'bytes=-0', 'items=0-1', 'bytes=9007199254740993-', 'bytes=1e3-2e3', 'bytes= 0 - 1'), junkString,
  ), { freq: 3 }),
  // 'spoil': a valid body from the route's schema with one property replaced (wrong type, junk, or
  // removed); 'extra': plus an unknown property; 'json': any JSON; 'raw': junk text of any type.
  body: fc.oneof(
    fc.record({ kind: fc.constant('spoil' as const), field: fc.nat(), value: fc.oneof(junkValue, fc.constant(undefined), fc.constant('wrong-type')), seed: fc.nat({ max: 15 }) }),
    fc.record({ kind: fc.constant('extra' as const), key: fc.constantFrom('__proto__', 'constructor', 'extra', 'id'), value: junkValue }),
    fc.jsonValue({ maxDepth: 3 }).map((v) => ({ kind: 'json' as const, v })),
    fc.record({ kind: fc.constant('raw' as const), text: junkString, type: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', 'application/json', 'application/json; charset=utf-16', '') }),
    fc.constant({ kind: 'deep' as const }),
    fc.constant(null),
  ),
  // Many client addresses, so the public tier (100/min per IP) does not turn most requests into
  // 429s: loopback now and then (each of its two addresses meets the limit), else one of 250 LAN ones.
  ip: fc.oneof({ arbitrary: fc.constantFrom('127.0.0.1', '::1'), weight: 1 }, { arbitrary: fc.integer({ min: 1, max: 250 }).map((n) => `10.0.0.${n}`), weight: 19 }),
});
type Req = typeof request extends fc.Arbitrary<infer T> ? T : never;

function bodyOf(r: Req, schema: JsonSchema | undefined): { payload: string; type: string } | null {
  const b = r.body;
  if (b === null) return null;
  const valid = (): Record<string, unknown> => (schema?.properties ? { ...(sample(schema, 'seed' in b ? b.seed : 1) as Record<string, unknown>) } : {});
  switch (b.kind) {
    case 'spoil': {
      const body = valid();
      const names = Object.keys(schema?.properties ?? {});
      const field = names[b.field % Math.max(1, names.length)];
      if (field !== undefined) {
        if (b.value === undefined) delete body[field];
        else body[field] = b.value === 'wrong-type' ? (wrongTyped(schema!.properties![field]!)[b.field % 7] ?? []) : b.value;
      }
      return { payload: JSON.stringify(body), type: 'application/json' };
    }
    case 'extra': return { payload: JSON.stringify({ ...valid(), [b.key]: b.value }), type: 'application/json' };
    case 'json': return { payload: JSON.stringify(b.v), type: 'application/json' };
    case 'raw': return { payload: b.text, type: b.type };
    case 'deep': return { payload: '{"a":'.repeat(2000), type: 'application/json' };
  }
}

function paramValue(name: string, p: string): string {
  if (!p.startsWith('real:')) return enc(p);
  const n = Number(p.slice(5));
  if (name === 'manifestHash') return real.manifests[n % Math.max(1, real.manifests.length)] ?? 'ab'.repeat(32);
  if (name === 'index') return String(n % 4);
  return real.sessions[n % real.sessions.length]!;
}

interface Tally { statuses: Map<number, number>; fails: string[]; sawDisabled: number }
const tally = (): Tally => ({ statuses: new Map(), fails: [], sawDisabled: 0 });

/** Sends one generated request; counts its status; records a 5xx that no active emergency state explains. */
async function send(r: Req, t: Tally): Promise<void> {
  const routes = c.app.lucidRoutes;
  const route = routes[r.route % routes.length]!;
  const query = route.schema?.['querystring'] as JsonSchema | undefined;
  const names = Object.keys(query?.properties ?? {});
  const qs = r.query.map(([k, v]) => `${k === 'schema' ? names[v.length % Math.max(1, names.length)] ?? 'x' : enc(k)}=${enc(v)}`);
  const url = route.url.replace(/:([A-Za-z]+)/g, (_m, name: string) => paramValue(name, r.param)) + (qs.length ? `?${qs.join('&')}` : '');
  const headers: Record<string, string> = { 'user-agent': r.ua.replace(/[^\x20-\x7e]/g, '') };
  if (r.range !== null) headers['range'] = r.range.replace(/[^\x20-\x7e]/g, '');
  if (typeof r.auth === 'number') headers['authorization'] = `Bearer ${tokens[r.auth % tokens.length]}`;
  else if (r.auth !== null) headers['authorization'] = r.auth.replace(/[^\x20-\x7e]/g, '');
  const body = bodyOf(r, route.schema?.['body'] as JsonSchema | undefined);
  if (body?.type) headers['content-type'] = body.type;
  const disabled = !c.auth.emergency.newSessionsAllowed;
  const opts: InjectOptions = { method: (r.method ?? route.method) as 'GET', url, headers, remoteAddress: r.ip, ...(body ? { payload: body.payload } : {}) };
  const res = await c.app.inject(opts);
  t.statuses.set(res.statusCode, (t.statuses.get(res.statusCode) ?? 0) + 1);
  const code = ((): string => { try { return (JSON.parse(res.body) as { code?: string }).code ?? ''; } catch { return ''; } })();
  if (res.statusCode === 503 && disabled && SESSIONS_DISABLED_CODES.includes(code)) t.sawDisabled++;
  else if (res.statusCode >= 500) t.fails.push(`${opts.method} ${url.slice(0, 120)} [${body?.payload.slice(0, 80) ?? ''}] → ${res.statusCode} ${res.body.slice(0, 200)}`);
}

describe('fuzz', () => {
  it(`${RUNS} malformed requests across the full route set: zero 5xx, no crash`, async () => {
    const t = tally();
    let run = 0;
    await fc.assert(fc.asyncProperty(request, async (r) => {
      run++;
      if (run % 1000 === 0 && c.auth.emergency.newSessionsAllowed) await freshTokens();
      // The emergency state the test sets up: new sessions disabled for the middle fifth of the run.
      if (run === Math.floor(RUNS * 0.4)) {
        await c.auth.emergency.setSessionsDisabled(true, { id: 'fuzz', username: 'fuzz', role: 'super_admin' }, null);
        // The state answers with its own 503 (the fuzz may or may not stumble on it by itself).
        const refused = await c.app.inject({ method: 'POST', url: '/api/v1/sessions', headers: { 'user-agent': 'lucid-test/1.0', authorization: `Bearer ${tokens[3]}` }, payload: {} });
        expect(refused.json()).toMatchObject({ statusCode: 503, code: 'SESS_ERR_CREATION_DISABLED' });
      }
      if (run === Math.floor(RUNS * 0.6)) await c.auth.emergency.setSessionsDisabled(false, { id: 'fuzz', username: 'fuzz', role: 'super_admin' }, null);
      await send(r, t);
      return true;
    }), { numRuns: RUNS, seed: Number(process.env['LUCID_FUZZ_SEED'] ?? 4242) });
    expect(t.fails).toEqual([]);
    const total = [...t.statuses.values()].reduce((a, b) => a + b, 0);
    expect(total).toBe(RUNS);
    // The inputs reached the routes, not the rate limiter (which still answered some: it is fuzzed too).
    expect(t.statuses.get(429) ?? 0).toBeLessThan(RUNS / 10);
    // It reached past access control and validation, not only 401/404/429.
    expect((t.statuses.get(200) ?? 0) + (t.statuses.get(201) ?? 0) + (t.statuses.get(202) ?? 0)).toBeGreaterThan(RUNS / 50);
    expect(t.statuses.get(400) ?? 0).toBeGreaterThan(RUNS / 100);
    expect((await c.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    console.log('fuzz status histogram', Object.fromEntries([...t.statuses].sort((a, b) => a[0] - b[0])), { sawDisabled: t.sawDisabled });
  }, 600_000);

  it('the same requests 16 at a time (races between handlers): zero 5xx', async () => {
    await freshTokens();
    const t = tally();
    const batch = fc.sample(request, { numRuns: Math.ceil(RUNS / 5), seed: Number(process.env['LUCID_FUZZ_SEED'] ?? 4242) + 1 });
    for (let i = 0; i < batch.length; i += 16) await Promise.all(batch.slice(i, i + 16).map((r) => send(r, t)));
    expect(t.fails).toEqual([]);
    expect([...t.statuses.values()].reduce((a, b) => a + b, 0)).toBe(batch.length);
    expect((await c.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  }, 300_000);

  it('a burst of raw malformed HTTP at the real appliance: no 5xx, core keeps running', async () => {
    const app = await startAppliance();
    try {
      await app.waitHealthy(30_000);
      const before = await app.json('/api/v1/status');
      const corePid = before.children.find((ch: { name: string }) => ch.name === 'core').pid;
      const raw = (text: string): Promise<string> => new Promise((resolve) => {
        const s = connect(app.port, '127.0.0.1', () => s.end(text));
        let out = '';
        s.on('data', (d) => { out += d.toString('latin1'); });
        s.on('close', () => resolve(out));
        s.on('error', () => resolve(out));
        s.setTimeout(5000, () => s.destroy());
      });
      const paths = ['/api/v1/auth/login', '/api/v1/users', '/api/v1/audit', '/healthz', '/%%', '/api/v1/users/%00', '/api/v1/sessions', '/api/v1/sessions/x/data?offset=-1', '/api/v1/ledger/status', '/api/v1/anchors/zz', '/' + 'x'.repeat(9000)];
      const samples = fc.sample(fc.tuple(fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'BREW', 'G\u0000T'), fc.constantFrom(...paths), fc.string({ maxLength: 200 }), fc.constantFrom('application/json', 'text/plain', 'application/octet-stream', 'application/json; charset=latin1')), { numRuns: 300, seed: 7 });
      const answers: string[] = [];
      for (let i = 0; i < samples.length; i += 20) {
        answers.push(...await Promise.all(samples.slice(i, i + 20).map(([m, p, b, t]) =>
          raw(`${m} ${p} HTTP/1.1\r\nHost: x\r\nContent-Type: ${t}\r\nContent-Length: ${Buffer.byteLength(b) + (b.length % 3 === 0 ? 5 : 0)}\r\nConnection: close\r\n\r\n${b}`))));
      }
      answers.push(await raw('GARBAGE\r\n\r\n'), await raw(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
      const fiveXX = answers.filter((a) => /^HTTP\/1\.1 5\d\d/.test(a));
      expect(fiveXX).toEqual([]);
      expect(answers.filter((a) => /^HTTP\/1\.1 [1-5]\d\d/.test(a)).length).toBeGreaterThan(250);
      expect((await app.get('/healthz')).status).toBe(200);
      const after = await app.json('/api/v1/status');
      expect(after.children.find((ch: { name: string }) => ch.name === 'core')).toMatchObject({ pid: corePid, restarts: 0 });
    } finally {
      await app.cleanup();
    }
  }, 120_000);
});
