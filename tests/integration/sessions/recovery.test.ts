// Startup recovery from the on-disk states a crash can leave (made here on purpose, so every
// case runs every time): objects written but never committed, temp files, a tail longer than its
// record, tails of chunks already committed, a session caught in `processing`.
import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, copyFileSync, existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startSessionApi, type SessionApi } from '../../helpers/sessions.js';

let api: SessionApi | null = null;
afterEach(async () => { await api?.close(); api = null; });

const KiB = 1024;
async function inject(a: SessionApi, method: string, url: string, payload?: Buffer) {
  const res = await a.app.inject({ method: method as 'GET', url, ...(payload ? { payload, headers: { 'content-type': 'application/octet-stream' } } : {}) });
  return { status: res.statusCode, json: (() => { try { return res.json(); } catch { return null; } })(), raw: res.rawPayload };
}

describe('startup recovery', () => {
  it('cuts a session back to its record: stray objects, temp files, long and stale tails', async () => {
    api = await startSessionApi();
    const dataDir = api.dataDir;
    const data = randomBytes(300 * KiB + 123);
    const small = (await api.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { chunkSize: 64 * KiB } })).json().id as string;
    await inject(api, 'POST', `/api/v1/sessions/${small}/start`);
    expect((await inject(api, 'PUT', `/api/v1/sessions/${small}/data?offset=0`, data)).json).toMatchObject({ received: data.length, chunkCount: 4 });
    await api.close(true);

    // What a crash can leave behind.
    const dir = join(dataDir, 'chunks', small);
    const tail = join(dir, 'tail-0000000004');
    const tailBytes = statSync(tail).size;
    copyFileSync(join(dir, '0000000003.lck'), join(dir, '0000000005.lck')); // written, never committed
    writeFileSync(join(dir, '0000000004.lck.1a2b3c4d.tmp'), randomBytes(1000)); // half-written temp file
    appendFileSync(tail, randomBytes(777)); // a segment written, its record never
    writeFileSync(join(dir, 'tail-0000000002'), randomBytes(100)); // tail of a chunk since committed

    api = await startSessionApi({ dataDir });
    expect(readdirSync(dir).sort()).toEqual(['0000000000.lck', '0000000001.lck', '0000000002.lck', '0000000003.lck', 'tail-0000000004']);
    expect(statSync(tail).size).toBe(tailBytes);
    const s = (await inject(api, 'GET', `/api/v1/sessions/${small}`)).json;
    expect(s).toMatchObject({ state: 'recording', received: data.length, chunkCount: 4 });
    expect((await inject(api, 'POST', `/api/v1/sessions/${small}/verify`)).json).toMatchObject({ ok: true });
    const more = randomBytes(70 * KiB);
    expect((await inject(api, 'PUT', `/api/v1/sessions/${small}/data?offset=${data.length}`, more)).json.received).toBe(data.length + more.length);
    await inject(api, 'POST', `/api/v1/sessions/${small}/stop`);
    expect((await inject(api, 'POST', `/api/v1/sessions/${small}/finalize`)).json).toMatchObject({ state: 'completed', chunkCount: 6 });
    expect((await inject(api, 'GET', `/api/v1/sessions/${small}/content`)).raw.equals(Buffer.concat([data, more]))).toBe(true);
    expect(existsSync(tail)).toBe(false);
  });

  it('finishes a session caught in processing', async () => {
    api = await startSessionApi();
    const dataDir = api.dataDir;
    const id = (await api.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { chunkSize: 64 * KiB } })).json().id as string;
    await inject(api, 'POST', `/api/v1/sessions/${id}/start`);
    const data = randomBytes(100 * KiB);
    await inject(api, 'PUT', `/api/v1/sessions/${id}/data?offset=0`, data);
    await inject(api, 'POST', `/api/v1/sessions/${id}/stop`);
    // The crash came right after the state went to `processing`.
    const sessions = api.store.sublevel<Record<string, unknown>>('sessions');
    await sessions.put(id, { ...(await sessions.get(id))!, state: 'processing' });
    const heard: string[] = [];
    await api.close(true);

    api = await startSessionApi({ dataDir });
    api.service.onCompleted((i) => heard.push(i.sessionId));
    const s = (await inject(api, 'GET', `/api/v1/sessions/${id}`)).json;
    expect(s).toMatchObject({ state: 'completed', chunkCount: 2, received: data.length });
    expect((await api.service.listCompletedSince(null)).items.map((i) => i.sessionId)).toEqual([id]);
    expect((await inject(api, 'GET', `/api/v1/sessions/${id}/content`)).raw.equals(data)).toBe(true);
    expect(heard).toEqual([]); // it completed during start, before this listener
  });
});
