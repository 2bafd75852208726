// The session routes through inject() against the real service (LevelDB + chunk files in a temp
// dir): lifecycle, resumable uploads, bad input (always a coded 4xx, never a 5xx, nothing lost),
// listing, ownership, the completed feed, delete.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { startSessionApi, type SessionApi } from '../../helpers/sessions.js';
import { corpus } from '../../helpers/corpora.js';

let api: SessionApi;
const KiB = 1024;

beforeAll(async () => { api = await startSessionApi({ quotaBytes: 8 * 1024 * KiB }); });
afterAll(async () => { await api?.close(); });

type Json = Record<string, any>;
async function call(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Json; res: LightMyRequestResponse }> {
  const res = await api.app.inject({
    method: method as 'GET', url,
    headers: { ...(body !== undefined && !Buffer.isBuffer(body) ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body === undefined ? {} : { payload: Buffer.isBuffer(body) ? body : JSON.stringify(body) }),
  });
  let json: Json = {};
  try { json = res.json(); } catch { /* binary */ }
  return { status: res.statusCode, json, res };
}
const put = (id: string, offset: number | string, data: Buffer, headers: Record<string, string> = {}) =>
  call('PUT', `/api/v1/sessions/${id}/data?offset=${offset}`, data, { 'content-type': 'application/octet-stream', ...headers });

async function recording(options: Json = {}): Promise<string> {
  const c = await call('POST', '/api/v1/sessions', { chunkSize: 64 * KiB, ...options });
  expect(c.status).toBe(201);
  expect((await call('POST', `/api/v1/sessions/${c.json['id']}/start`)).json['state']).toBe('recording');
  return c.json['id'] as string;
}

describe('session lifecycle over the API', () => {
  it('creates with defaults, runs created → recording ⇄ paused → stopped → processing → completed', async () => {
    const c = await call('POST', '/api/v1/sessions');
    expect(c.status).toBe(201);
    expect(c.json).toMatchObject({ state: 'created', chunkSize: 1024 * KiB, cipher: 'aes-256-gcm', codec: 'gzip-6', received: 0, owner: api.rootId, anchor: null, actions: ['start', 'delete'] });
    expect(c.json).not.toHaveProperty('wrappedKey');
    const id = c.json['id'] as string;
    for (const [action, state] of [['start', 'recording'], ['pause', 'paused'], ['resume', 'recording'], ['stop', 'stopped'], ['finalize', 'completed']] as const) {
      const r = await call('POST', `/api/v1/sessions/${id}/${action}`);
      expect(r.status, `${action}: ${JSON.stringify(r.json)}`).toBe(200);
      expect(r.json['state']).toBe(state);
    }
    const done = (await call('GET', `/api/v1/sessions/${id}`)).json;
    expect(done).toMatchObject({ chunkCount: 0, received: 0, merkleRoot: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' });
    expect(done['manifestHash']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses every invalid transition with 409 SESS_ERR_INVALID_TRANSITION and changes nothing', async () => {
    const id = (await call('POST', '/api/v1/sessions', { labels: { k: 'v' } })).json['id'] as string;
    for (const action of ['pause', 'resume', 'stop', 'finalize']) {
      const r = await call('POST', `/api/v1/sessions/${id}/${action}`);
      expect(r.status).toBe(409);
      expect(r.json).toMatchObject({ code: 'SESS_ERR_INVALID_TRANSITION', details: { state: 'created', action } });
    }
    expect((await call('GET', `/api/v1/sessions/${id}`)).json['state']).toBe('created');
    await call('POST', `/api/v1/sessions/${id}/start`);
    expect((await call('POST', `/api/v1/sessions/${id}/start`)).json['code']).toBe('SESS_ERR_INVALID_TRANSITION');
    expect((await call('POST', `/api/v1/sessions/${id}/finalize`)).json['code']).toBe('SESS_ERR_INVALID_TRANSITION');
  });

  it('answers bad input with coded 4xx: malformed id, unknown id, bad options, unknown fields', async () => {
    const cases: Array<[string, string, unknown, number, string]> = [
      ['GET', '/api/v1/sessions/not-a-uuid', undefined, 400, 'API_ERR_VALIDATION'],
      ['POST', '/api/v1/sessions/..%2F..%2Fetc/start', undefined, 400, 'API_ERR_VALIDATION'],
      ['GET', '/api/v1/sessions/01900000-0000-7000-8000-000000000000', undefined, 404, 'SESS_ERR_NOT_FOUND'],
      ['POST', '/api/v1/sessions', { chunkSize: 1024 }, 400, 'API_ERR_VALIDATION'],
      ['POST', '/api/v1/sessions', { chunkSize: 32 * 1024 * KiB }, 400, 'API_ERR_VALIDATION'],
      ['POST', '/api/v1/sessions', { chunkSize: 65536.5 }, 400, 'API_ERR_VALIDATION'],
      ['POST', '/api/v1/sessions', { cipher: 'rot13' }, 400, 'API_ERR_VALIDATION'],
      ['POST', '/api/v1/sessions', { labels: { 'bad key!': 'x' } }, 400, 'API_ERR_VALIDATION'],
      ['POST', '/api/v1/sessions', { extra: 1 }, 400, 'API_ERR_VALIDATION'],
      ['POST', '/api/v1/sessions', { quotaBytes: 1024 ** 4 }, 400, 'SESS_ERR_BAD_OPTION'],
      ['GET', '/api/v1/sessions?limit=0', undefined, 400, 'API_ERR_VALIDATION'],
      ['GET', '/api/v1/sessions?state=flying', undefined, 400, 'API_ERR_VALIDATION'],
      ['GET', '/api/v1/sessions/01900000-0000-7000-8000-000000000000/chunks/-1', undefined, 400, 'API_ERR_VALIDATION'],
    ];
    for (const [method, url, body, status, code] of cases) {
      const r = await call(method, url, body);
      expect({ url, body, status: r.status, code: r.json['code'] }).toEqual({ url, body, status, code });
    }
  });
});

describe('uploads', () => {
  it('appends in pieces, is idempotent on offset, and refuses gaps and disagreeing overlaps', async () => {
    const id = await recording();
    const data = Buffer.concat([corpus('text', 300 * KiB), randomBytes(100 * KiB)]);
    expect((await put(id, 0, data.subarray(0, 100_000))).json).toEqual({ received: 100_000, chunkCount: 1, state: 'recording' });
    // The same piece again: nothing changes.
    expect((await put(id, 0, data.subarray(0, 100_000))).json['received']).toBe(100_000);
    // A piece that overlaps the end and goes on.
    expect((await put(id, 50_000, data.subarray(50_000, 250_000))).json['received']).toBe(250_000);
    // Past the end: a gap.
    const gap = await put(id, 250_001, data.subarray(250_001, 260_000));
    expect(gap.status).toBe(409);
    expect(gap.json).toMatchObject({ code: 'SESS_ERR_OFFSET_GAP', details: { received: 250_000 } });
    // Overlap that disagrees: 409, nothing written.
    const changed = Buffer.from(data.subarray(240_000, 260_000));
    changed[5000]! ^= 0xff;
    const mismatch = await put(id, 240_000, changed);
    expect(mismatch.status).toBe(409);
    expect(mismatch.json).toMatchObject({ code: 'SESS_ERR_OFFSET_MISMATCH', details: { at: 245_000, received: 250_000 } });
    expect((await call('GET', `/api/v1/sessions/${id}`)).json['received']).toBe(250_000);
    // An empty PUT at the end acknowledges the current length.
    expect((await put(id, 250_000, Buffer.alloc(0))).json['received']).toBe(250_000);
    expect((await put(id, 250_000, data.subarray(250_000))).json['received']).toBe(data.length);
    await call('POST', `/api/v1/sessions/${id}/stop`);
    const fin = await call('POST', `/api/v1/sessions/${id}/finalize`);
    expect(fin.json).toMatchObject({ state: 'completed', received: data.length, chunkCount: Math.ceil(data.length / (64 * KiB)) });
    const content = await call('GET', `/api/v1/sessions/${id}/content`);
    expect(content.status).toBe(200);
    expect(content.res.rawPayload.equals(data)).toBe(true);
    expect(content.res.headers['etag']).toBe(`"${fin.json['manifestHash']}"`);
    const part = await call('GET', `/api/v1/sessions/${id}/content`, undefined, { range: 'bytes=65530-131080' });
    expect(part.status).toBe(206);
    expect(part.res.headers['content-range']).toBe(`bytes 65530-131080/${data.length}`);
    expect(part.res.rawPayload.equals(data.subarray(65530, 131081))).toBe(true);
    const none = await call('GET', `/api/v1/sessions/${id}/content`, undefined, { range: `bytes=${data.length}-` });
    expect(none.status).toBe(416);
    expect(none.json['code']).toBe('SESS_ERR_RANGE');
    expect(none.res.headers['content-range']).toBe(`bytes */${data.length}`);
  });

  it('runs an XChaCha20-Poly1305 session end to end (the default on CPUs without AES)', async () => {
    const id = await recording({ cipher: 'xchacha20-poly1305' });
    const data = Buffer.concat([corpus('screen', 150 * KiB), randomBytes(20 * KiB)]);
    await put(id, 0, data.subarray(0, 70_000));
    await put(id, 70_000, data.subarray(70_000));
    await call('POST', `/api/v1/sessions/${id}/stop`);
    const fin = await call('POST', `/api/v1/sessions/${id}/finalize`);
    expect(fin.json).toMatchObject({ state: 'completed', cipher: 'xchacha20-poly1305', chunkCount: 3 });
    const raw = await call('GET', `/api/v1/sessions/${id}/chunks/0`);
    expect(raw.res.rawPayload[5]).toBe(2); // cipher id in the object header
    expect((await call('GET', `/api/v1/sessions/${id}/content`)).res.rawPayload.equals(data)).toBe(true);
    expect((await call('POST', `/api/v1/sessions/${id}/verify`)).json).toMatchObject({ ok: true, rootMatches: true });
  });

  it('a pause during an upload ends it at once, keeps what arrived, and pauses the session', async () => {
    const id = await recording();
    const { PassThrough } = await import('node:stream');
    const body = new PassThrough();
    const upload = api.app.inject({
      method: 'PUT', url: `/api/v1/sessions/${id}/data?offset=0`,
      headers: { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' }, payload: body,
    });
    const first = randomBytes(100_000);
    body.write(first);
    // The client then goes quiet; the pause must not wait for it.
    await new Promise((r) => setTimeout(r, 300));
    const t = Date.now();
    const paused = await call('POST', `/api/v1/sessions/${id}/pause`);
    expect(Date.now() - t).toBeLessThan(5000);
    expect(paused.json).toMatchObject({ state: 'paused', received: 100_000 });
    body.end();
    const res = await upload;
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'SESS_ERR_BUSY', details: { received: 100_000 } });
    await call('POST', `/api/v1/sessions/${id}/resume`);
    await put(id, 100_000, Buffer.alloc(10, 1));
    await call('POST', `/api/v1/sessions/${id}/stop`);
    await call('POST', `/api/v1/sessions/${id}/finalize`);
    expect((await call('GET', `/api/v1/sessions/${id}/content`)).res.rawPayload.equals(Buffer.concat([first, Buffer.alloc(10, 1)]))).toBe(true);
  });

  it('takes data only while recording; rejects other content types; enforces the quota with 413', async () => {
    const created = (await call('POST', '/api/v1/sessions', { chunkSize: 64 * KiB, quotaBytes: 200_000 })).json['id'] as string;
    const notYet = await put(created, 0, Buffer.alloc(10));
    expect(notYet.status).toBe(409);
    expect(notYet.json['code']).toBe('SESS_ERR_INVALID_STATE');
    await call('POST', `/api/v1/sessions/${created}/start`);
    expect((await put(created, 0, Buffer.alloc(10), { 'content-type': 'application/json' })).json['code']).toBe('API_ERR_UNSUPPORTED_MEDIA');
    expect((await put(created, 0, Buffer.alloc(10), { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await put(created, -1, Buffer.alloc(10))).json['code']).toBe('API_ERR_VALIDATION');
    expect((await put(created, 'x', Buffer.alloc(10))).json['code']).toBe('API_ERR_VALIDATION');
    expect((await call('PUT', `/api/v1/sessions/${created}/data`, Buffer.alloc(1), { 'content-type': 'application/octet-stream' })).status).toBe(400);
    const data = randomBytes(250_000);
    expect((await put(created, 0, data.subarray(0, 150_000))).json['received']).toBe(150_000);
    const over = await put(created, 150_000, data.subarray(150_000));
    expect(over.status).toBe(413);
    expect(over.json).toMatchObject({ code: 'SESS_ERR_QUOTA', details: { quotaBytes: 200_000, received: 150_000 } });
    // Without a Content-Length the body streams in until the quota, which is kept and acknowledged.
    const { Readable } = await import('node:stream');
    const chunked = await api.app.inject({
      method: 'PUT', url: `/api/v1/sessions/${created}/data?offset=150000`,
      headers: { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
      payload: Readable.from([data.subarray(150_000, 190_000), data.subarray(190_000)]),
    });
    expect(chunked.statusCode).toBe(413);
    expect(chunked.json()).toMatchObject({ code: 'SESS_ERR_QUOTA', details: { received: 200_000 } });
    await call('POST', `/api/v1/sessions/${created}/stop`);
    await call('POST', `/api/v1/sessions/${created}/finalize`);
    expect((await call('GET', `/api/v1/sessions/${created}/content`)).res.rawPayload.equals(data.subarray(0, 200_000))).toBe(true);
  });

  it('serves chunk objects and RFC 6962 proofs; refuses them before completion or out of range', async () => {
    const id = await recording();
    await put(id, 0, corpus('screen', 200 * KiB));
    expect((await call('GET', `/api/v1/sessions/${id}/chunks/0/proof`)).json['code']).toBe('SESS_ERR_INVALID_STATE');
    expect((await call('GET', `/api/v1/sessions/${id}/content`)).json['code']).toBe('SESS_ERR_INVALID_STATE');
    expect((await call('GET', `/api/v1/sessions/${id}/manifest`)).json['code']).toBe('SESS_ERR_INVALID_STATE');
    const raw = await call('GET', `/api/v1/sessions/${id}/chunks/1`);
    expect(raw.status).toBe(200);
    expect(raw.res.rawPayload.subarray(0, 4).toString()).toBe('LCK1');
    expect((await call('GET', `/api/v1/sessions/${id}/chunks/3`)).json['code']).toBe('CHUNK_ERR_NOT_FOUND'); // the tail is not an object yet
    await call('POST', `/api/v1/sessions/${id}/stop`);
    await call('POST', `/api/v1/sessions/${id}/finalize`);
    const proof = await call('GET', `/api/v1/sessions/${id}/chunks/3/proof`);
    expect(proof.json).toMatchObject({ index: 3, treeSize: 4 });
    expect(proof.json['path']).toHaveLength(2);
    expect((await call('GET', `/api/v1/sessions/${id}/chunks/4/proof`)).json['code']).toBe('CHUNK_ERR_NOT_FOUND');
    expect((await call('GET', `/api/v1/sessions/${id}/chunks/4`)).status).toBe(404);
  });
});

describe('listing, ownership, feed, delete', () => {
  it('lists newest first with state and label filters and a cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await call('POST', '/api/v1/sessions', { labels: { batch: 'L', n: String(i) } })).json['id'] as string);
    await call('POST', `/api/v1/sessions/${ids[1]}/start`);
    const page1 = await call('GET', '/api/v1/sessions?label=batch=L&limit=2');
    expect(page1.json['sessions'].map((s: Json) => s['id'])).toEqual([ids[4], ids[3]]);
    const page2 = await call('GET', `/api/v1/sessions?label=batch=L&limit=2&cursor=${page1.json['next']}`);
    expect(page2.json['sessions'].map((s: Json) => s['id'])).toEqual([ids[2], ids[1]]);
    const page3 = await call('GET', `/api/v1/sessions?label=batch=L&limit=2&cursor=${page2.json['next']}`);
    expect(page3.json).toMatchObject({ next: null });
    expect(page3.json['sessions'].map((s: Json) => s['id'])).toEqual([ids[0]]);
    const rec = await call('GET', '/api/v1/sessions?label=batch&state=recording');
    expect(rec.json['sessions'].map((s: Json) => s['id'])).toEqual([ids[1]]);
    expect((await call('GET', '/api/v1/sessions?label=n=3')).json['sessions'].map((s: Json) => s['id'])).toEqual([ids[3]]);
  });

  it('records the owner; a user sees only their own sessions (404 for others), operators see all', async () => {
    const { headers: alice, userId: aliceId } = await api.as('user', 'alice');
    const { headers: bob } = await api.as('user', 'bob');
    const { headers: op } = await api.as('node_operator', 'olga');
    const a = await call('POST', '/api/v1/sessions', { labels: { who: 'owner-test' } }, alice);
    expect(a.json['owner']).toBe(aliceId);
    const id = a.json['id'] as string;
    expect((await call('GET', `/api/v1/sessions/${id}`, undefined, alice)).status).toBe(200);
    for (const [method, url] of [['GET', `/api/v1/sessions/${id}`], ['POST', `/api/v1/sessions/${id}/start`], ['DELETE', `/api/v1/sessions/${id}`], ['GET', `/api/v1/sessions/${id}/content`]]) {
      const r = await call(method!, url!, undefined, bob);
      expect(r.status, `${method} ${url}`).toBe(404);
      expect(r.json['code']).toBe('SESS_ERR_NOT_FOUND');
    }
    expect((await call('GET', '/api/v1/sessions?label=who', undefined, bob)).json['sessions']).toEqual([]);
    expect((await call('GET', '/api/v1/sessions?label=who', undefined, alice)).json['sessions']).toHaveLength(1);
    expect((await call('GET', '/api/v1/sessions?label=who', undefined, op)).json['sessions']).toHaveLength(1);
    expect((await call('POST', `/api/v1/sessions/${id}/start`, undefined, op)).json['state']).toBe('recording');
  });

  it('refuses anonymous callers with 401 on every session route, before reading a body', async () => {
    const id = await recording();
    const anon = { authorization: '' };
    for (const [method, url] of [
      ['GET', '/api/v1/sessions'], ['POST', '/api/v1/sessions'], ['GET', `/api/v1/sessions/${id}`], ['POST', `/api/v1/sessions/${id}/stop`],
      ['PUT', `/api/v1/sessions/${id}/data?offset=0`], ['GET', `/api/v1/sessions/${id}/content`], ['GET', `/api/v1/sessions/${id}/manifest`],
      ['GET', `/api/v1/sessions/${id}/chunks/0`], ['POST', `/api/v1/sessions/${id}/verify`], ['DELETE', `/api/v1/sessions/${id}`],
    ] as const) {
      const r = method === 'PUT' ? await put(id, 0, Buffer.alloc(100), anon) : await call(method, url, undefined, anon);
      expect({ method, url, status: r.status, code: r.json['code'] }).toEqual({ method, url, status: 401, code: 'AUTH_ERR_UNAUTHENTICATED' });
    }
    const bad = await call('GET', `/api/v1/sessions/${id}`, undefined, { authorization: 'Bearer not.a.token' });
    expect(bad.status).toBe(401);
    // Nothing changed: still recording, nothing received.
    expect((await call('GET', `/api/v1/sessions/${id}`)).json).toMatchObject({ state: 'recording', received: 0 });
  });

  it('download tokens: the owner\'s session only, 60 s, ended by logout', async () => {
    const { headers: carol } = await api.as('user', 'carol');
    const { headers: dave } = await api.as('user', 'dave');
    const c = await call('POST', '/api/v1/sessions', { chunkSize: 64 * KiB }, carol);
    const id = c.json['id'] as string;
    await call('POST', `/api/v1/sessions/${id}/start`, undefined, carol);
    const data = randomBytes(70 * KiB);
    await put(id, 0, data, carol);
    await call('POST', `/api/v1/sessions/${id}/stop`, undefined, carol);
    await call('POST', `/api/v1/sessions/${id}/finalize`, undefined, carol);
    const path = `/api/v1/sessions/${id}/content`;
    const anon = { authorization: '' };
    const mine = (await call('POST', '/api/v1/auth/download-token', { path }, carol)).json;
    const got = await call('GET', mine['url'], undefined, anon);
    expect(got.status).toBe(200);
    expect(got.res.rawPayload.equals(data)).toBe(true);
    // A token of another user for this path gets that user's answer: not found.
    const theirs = (await call('POST', '/api/v1/auth/download-token', { path }, dave)).json;
    expect((await call('GET', theirs['url'], undefined, anon)).json['code']).toBe('SESS_ERR_NOT_FOUND');
    // 61 s later: expired.
    api.auth.skew = 61_000;
    try {
      expect((await call('GET', mine['url'], undefined, anon)).json).toMatchObject({ statusCode: 401, code: 'AUTH_ERR_TOKEN_EXPIRED' });
    } finally {
      api.auth.skew = 0;
    }
    // Logout ends the login session, and with it its download tokens.
    const fresh = (await call('POST', '/api/v1/auth/download-token', { path }, carol)).json;
    expect((await call('POST', '/api/v1/auth/logout', {}, carol)).status).toBe(200);
    expect((await call('GET', fresh['url'], undefined, anon)).json).toMatchObject({ statusCode: 401, code: 'AUTH_ERR_TOKEN_INVALID' });
  });

  it('emergency controls: disabled new sessions are a 503; stop-all (two admins) stops recording and paused sessions, keeping their data', async () => {
    const { headers: second } = await api.as('admin', 'second-admin');
    const off = await call('POST', '/api/v1/emergency/sessions', { disabled: true });
    expect(off.status).toBe(200);
    const refused = await call('POST', '/api/v1/sessions', {});
    expect({ status: refused.status, code: refused.json['code'] }).toEqual({ status: 503, code: 'SESS_ERR_CREATION_DISABLED' });
    expect((await call('POST', '/api/v1/emergency/sessions', { disabled: false })).status).toBe(200);

    const rec = await recording();
    const data = randomBytes(100 * KiB);
    expect((await put(rec, 0, data)).json['received']).toBe(data.length);
    const paused = await recording();
    await call('POST', `/api/v1/sessions/${paused}/pause`);
    const idle = (await call('POST', '/api/v1/sessions', {})).json['id'] as string;
    const req = await call('POST', '/api/v1/emergency/requests', { action: 'stop-all-sessions', reason: 'test: suspected breach' }, second);
    expect(req.status).toBe(201);
    const done = await call('POST', `/api/v1/emergency/requests/${req.json['id']}/approve`, {});
    expect(done.status).toBe(200);
    expect(done.json['result']['stopped']['recordings']).toBeGreaterThanOrEqual(2);
    for (const id of [rec, paused]) expect((await call('GET', `/api/v1/sessions/${id}`)).json['state']).toBe('stopped');
    expect((await call('GET', `/api/v1/sessions/${idle}`)).json['state']).toBe('created');
    expect((await call('GET', `/api/v1/sessions/${rec}`)).json['received']).toBe(data.length);
    // A stopped session finalizes normally and its content is intact.
    expect((await call('POST', `/api/v1/sessions/${rec}/finalize`)).json['state']).toBe('completed');
    expect((await call('GET', `/api/v1/sessions/${rec}/content`)).res.rawPayload.equals(data)).toBe(true);
  });

  it('feeds completed manifests to listeners and from a cursor (crash-safe, in order)', async () => {
    const before = await api.service.listCompletedSince(null);
    const heard: string[] = [];
    const off = api.service.onCompleted((item) => heard.push(item.sessionId));
    const done: Json[] = [];
    for (let i = 0; i < 3; i++) {
      const id = await recording();
      await put(id, 0, randomBytes(1000 * (i + 1)));
      await call('POST', `/api/v1/sessions/${id}/stop`);
      done.push((await call('POST', `/api/v1/sessions/${id}/finalize`)).json);
    }
    off();
    expect(heard).toEqual(done.map((d) => d['id']));
    const page = await api.service.listCompletedSince(before.cursor);
    expect(page.items.map((i) => ({ sessionId: i.sessionId, manifestHash: i.manifestHash, merkleRoot: i.merkleRoot })))
      .toEqual(done.map((d) => ({ sessionId: d['id'], manifestHash: d['manifestHash'], merkleRoot: d['merkleRoot'] })));
    expect((await api.service.listCompletedSince(page.cursor)).items).toEqual([]);
    expect((await api.service.listCompletedSince(before.cursor, 1)).items).toHaveLength(1);
  });

  it('delete destroys the data key, removes the files and leaves a tombstone', async () => {
    const id = await recording();
    await put(id, 0, corpus('text', 150 * KiB));
    await call('POST', `/api/v1/sessions/${id}/stop`);
    await call('POST', `/api/v1/sessions/${id}/finalize`);
    const dir = join(api.dataDir, 'chunks', id);
    expect(readdirSync(dir).length).toBe(3);
    const del = await call('DELETE', `/api/v1/sessions/${id}`);
    expect(del.json).toMatchObject({ state: 'deleted', actions: [] });
    expect(existsSync(dir)).toBe(false);
    const stored = await api.store.sublevel<Json>('sessions').get(id);
    expect(stored!['wrappedKey']).toBeNull();
    expect((await call('GET', `/api/v1/sessions/${id}`)).json['state']).toBe('deleted');
    expect((await call('GET', `/api/v1/sessions/${id}/content`)).status).toBe(410);
    expect((await call('GET', `/api/v1/sessions/${id}/chunks/0`)).status).toBe(410);
    expect((await call('DELETE', `/api/v1/sessions/${id}`)).json['code']).toBe('SESS_ERR_INVALID_TRANSITION');
    expect((await call('GET', '/api/v1/sessions?state=deleted')).json['sessions'].map((s: Json) => s['id'])).toContain(id);
    expect((await call('GET', '/api/v1/sessions')).json['sessions'].map((s: Json) => s['id'])).not.toContain(id);
  });

  it('documents every session route in OpenAPI with its permission', async () => {
    const doc = (await call('GET', '/docs/json')).json;
    const paths = Object.keys(doc['paths']).filter((p) => p.startsWith('/api/v1/sessions'));
    expect(paths.sort()).toEqual([
      '/api/v1/sessions', '/api/v1/sessions/{id}', '/api/v1/sessions/{id}/chunks/{index}', '/api/v1/sessions/{id}/chunks/{index}/proof',
      '/api/v1/sessions/{id}/content', '/api/v1/sessions/{id}/data', '/api/v1/sessions/{id}/finalize', '/api/v1/sessions/{id}/manifest',
      '/api/v1/sessions/{id}/pause', '/api/v1/sessions/{id}/resume', '/api/v1/sessions/{id}/start', '/api/v1/sessions/{id}/stop',
      '/api/v1/sessions/{id}/verify',
    ]);
    for (const p of paths) for (const op of Object.values(doc['paths'][p]) as Json[]) expect(op['x-permission']).toBe('user');
  });
});
