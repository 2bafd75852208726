// One damaged session never stops startup, on the real process tree: sessions are damaged in
// every way stored data can be (made here on purpose, with the appliance stopped), the appliance
// is started again, and each damaged session is quarantined — `failed` with SESS_ERR_DAMAGED and
// its reason — while its readable chunks stay downloadable and verifiable and everything else
// (an intact session, the API, the chain) works. services/sessions/damage.ts lists the reasons.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { api, putData } from '../../helpers/upload.js';
import { Store } from '../../../services/store/index.js';
import { createRootLogger } from '../../../services/common/log.js';

const KiB = 1024;
const CHUNK = 64 * KiB;
const DATA = randomBytes(4 * CHUNK + 20_000); // 4 committed chunks and a tail of 20,000 bytes
const dataDir = mkdtempSync(join(tmpdir(), 'lucid-damage-'));
let app: RunningAppliance | null = null;
let missingObject: Buffer;

type Kind = 'tail-missing' | 'tail-short' | 'chunk-missing' | 'chunk-truncated' | 'chunk-size-mismatch' | 'records-missing'
  | 'record-unreadable' | 'key-unavailable' | 'files-unreadable' | 'processing-chunk-missing';
const KINDS: readonly Kind[] = ['tail-missing', 'tail-short', 'chunk-missing', 'chunk-truncated', 'chunk-size-mismatch', 'records-missing',
  'record-unreadable', 'key-unavailable', 'files-unreadable', 'processing-chunk-missing'];
const ids = new Map<Kind | 'intact' | 'completed-unreadable', string>();
const dir = (id: string): string => join(dataDir, 'chunks', id);
const object = (id: string, index: number): string => join(dir(id), `${String(index).padStart(10, '0')}.lck`);

async function newSession(a: RunningAppliance, finish: 'recording' | 'stopped' | 'completed'): Promise<string> {
  const id = (await api(a, 'POST', '/api/v1/sessions', { chunkSize: CHUNK })).json.id as string;
  await api(a, 'POST', `/api/v1/sessions/${id}/start`);
  expect(await putData(a, id, 0, DATA)).toMatchObject({ status: 200, body: { received: DATA.length, chunkCount: 4 } });
  if (finish !== 'recording') await api(a, 'POST', `/api/v1/sessions/${id}/stop`);
  if (finish === 'completed') expect((await api(a, 'POST', `/api/v1/sessions/${id}/finalize`)).json.state).toBe('completed');
  return id;
}

beforeAll(async () => {
  app = await startAppliance({ dataDir, env: { LUCID_LOG_LEVEL: 'info' } });
  await app.waitHealthy(30_000);
  for (const kind of KINDS) ids.set(kind, await newSession(app, kind === 'processing-chunk-missing' ? 'stopped' : 'recording'));
  ids.set('intact', await newSession(app, 'recording'));
  ids.set('completed-unreadable', await newSession(app, 'completed'));
  await app.token(); // the test admin exists before the stop
  process.kill(app.pid, 'SIGTERM');
  await app.exited();

  // The damage, file by file.
  const id = (k: Kind | 'completed-unreadable'): string => ids.get(k)!;
  const tail = (s: string): string => join(dir(s), 'tail-0000000004');
  unlinkSync(tail(id('tail-missing')));
  truncateSync(tail(id('tail-short')), 100);
  missingObject = readFileSync(object(id('chunk-missing'), 1));
  unlinkSync(object(id('chunk-missing'), 1));
  truncateSync(object(id('chunk-truncated'), 2), 1000);
  appendFileSync(object(id('chunk-size-mismatch'), 3), randomBytes(10));
  rmSync(dir(id('files-unreadable')), { recursive: true });
  writeFileSync(dir(id('files-unreadable')), 'a file where the folder was');
  unlinkSync(object(id('processing-chunk-missing'), 0));
  // … and in the store (core is stopped: LevelDB has one owner at a time).
  const store = new Store({ location: join(dataDir, 'store'), log: createRootLogger({ name: 'test', level: 'silent' }) });
  await store.start();
  const sessions = store.sublevel<string>('sessions', 'utf8');
  await sessions.put(id('record-unreadable'), '{"v":1,"id":"torn');
  await sessions.put(id('completed-unreadable'), '\u0000\u0001 not json');
  const keyed = JSON.parse((await sessions.get(id('key-unavailable')))!);
  const wrapped = Buffer.from(keyed.wrappedKey, 'base64');
  wrapped[20]! ^= 0xff;
  await sessions.put(id('key-unavailable'), JSON.stringify({ ...keyed, wrappedKey: wrapped.toString('base64') }));
  const processing = JSON.parse((await sessions.get(id('processing-chunk-missing')))!);
  await sessions.put(id('processing-chunk-missing'), JSON.stringify({ ...processing, state: 'processing' })); // caught mid-finalize
  await store.sublevel('chunks', 'utf8').del(`${id('records-missing')}!0000000002`);
  await store.stop();

  app = await startAppliance({ dataDir, env: { LUCID_LOG_LEVEL: 'info' } });
  await app.waitHealthy(30_000);
}, 180_000);

afterAll(async () => {
  await app?.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

const session = async (kind: Kind | 'intact' | 'completed-unreadable') => (await api(app!, 'GET', `/api/v1/sessions/${ids.get(kind)}`)).json;
/** Downloads a chunk object and checks it against its leaf hash (RFC 6962 leaf = H(0x00 ‖ object)). */
async function chunkVerifies(kind: Kind | 'intact', index: number): Promise<boolean> {
  const r = await app!.get(`/api/v1/sessions/${ids.get(kind)}/chunks/${index}`);
  if (r.status !== 200) return false;
  const bytes = Buffer.from(await r.arrayBuffer());
  return createHash('sha256').update(Buffer.from([0])).update(bytes).digest('hex') === r.headers.get('x-lucid-leaf-hash');
}
const verify = async (kind: Kind) => (await api(app!, 'POST', `/api/v1/sessions/${ids.get(kind)}/verify`)).json;

describe('startup with damaged sessions', () => {
  it('starts anyway: /healthz 200, the intact session resumes and completes', async () => {
    expect((await app!.raw('/healthz')).status).toBe(200);
    expect(await session('intact')).toMatchObject({ state: 'recording', received: DATA.length, failure: null });
    const id = ids.get('intact')!;
    const more = randomBytes(30_000);
    expect(await putData(app!, id, DATA.length, more)).toMatchObject({ status: 200 });
    await api(app!, 'POST', `/api/v1/sessions/${id}/stop`);
    expect((await api(app!, 'POST', `/api/v1/sessions/${id}/finalize`)).json.state).toBe('completed');
    const content = Buffer.from(await (await app!.get(`/api/v1/sessions/${id}/content`)).arrayBuffer());
    expect(content.equals(Buffer.concat([DATA, more]))).toBe(true);
    expect(app!.output()).toMatch(/"quarantined":10,"msg":"session recovery done"/);
  });

  it.each([
    ['tail-missing', 4, 'recording'], ['tail-short', 4, 'recording'], ['chunk-missing', 1, 'recording'],
    ['chunk-truncated', 2, 'recording'], ['chunk-size-mismatch', 3, 'recording'], ['processing-chunk-missing', 0, 'processing'],
  ] as const)('%s: quarantined with its reason; the other chunks download and verify', async (kind, index, before) => {
    const s = await session(kind);
    const reason = kind === 'processing-chunk-missing' ? 'chunk-missing' : kind;
    expect(s).toMatchObject({ state: 'failed', failure: { code: 'SESS_ERR_DAMAGED', reason, index, state: before }, received: DATA.length, chunkCount: 4 });
    expect(s.actions).toEqual(expect.arrayContaining(['finalize', 'delete']));
    for (let i = 0; i < 4; i++) expect(await chunkVerifies(kind, i), `chunk ${i}`).toBe(i !== index || kind.startsWith('tail'));
    const v = await verify(kind);
    expect(v).toMatchObject({ ok: false, scope: 'full' });
    expect(v.bad.map((b: { index: number }) => b.index)).toEqual([index]);
    // Uploads stop (it is failed), and finalize says why while the damage lasts.
    expect(await putData(app!, ids.get(kind)!, DATA.length, Buffer.alloc(10))).toMatchObject({ status: 409 });
    const fin = await api(app!, 'POST', `/api/v1/sessions/${ids.get(kind)}/finalize`);
    expect(fin).toMatchObject({ status: 409, json: { code: 'SESS_ERR_DAMAGED', details: { reason } } });
  });

  it('records-missing: quarantined; the chunks with records download and verify', async () => {
    expect(await session('records-missing')).toMatchObject({ state: 'failed', failure: { code: 'SESS_ERR_DAMAGED', reason: 'records-missing', state: 'recording' } });
    expect([await chunkVerifies('records-missing', 0), await chunkVerifies('records-missing', 1), await chunkVerifies('records-missing', 3)]).toEqual([true, true, true]);
    expect((await app!.get(`/api/v1/sessions/${ids.get('records-missing')}/chunks/2`)).status).toBe(404);
  });

  it('key-unavailable: quarantined; chunks download, and verify checks their storage without the key', async () => {
    expect(await session('key-unavailable')).toMatchObject({ state: 'failed', failure: { code: 'SESS_ERR_DAMAGED', reason: 'key-unavailable', state: 'recording' } });
    for (let i = 0; i < 4; i++) expect(await chunkVerifies('key-unavailable', i)).toBe(true);
    expect(await verify('key-unavailable')).toMatchObject({ ok: true, scope: 'storage', bad: [], chunkCount: 4 });
  });

  it('record-unreadable: a stand-in record from the chunk records; chunks download and verify by storage; the old text is kept', async () => {
    const s = await session('record-unreadable');
    expect(s).toMatchObject({ state: 'failed', chunkCount: 4, chunkSize: CHUNK, received: 4 * CHUNK, failure: { code: 'SESS_ERR_DAMAGED', reason: 'record-unreadable' } });
    for (let i = 0; i < 4; i++) expect(await chunkVerifies('record-unreadable', i)).toBe(true);
    expect(await verify('record-unreadable')).toMatchObject({ ok: true, scope: 'storage' });
    expect(app!.output()).toMatch(/"reason":"record-unreadable".*"msg":"session quarantined: its record cannot be read"/);
  });

  it('files-unreadable: quarantined, and the rest of the appliance does not care', async () => {
    expect(await session('files-unreadable')).toMatchObject({ state: 'failed', failure: { code: 'SESS_ERR_DAMAGED', reason: 'files-unreadable', state: 'recording' } });
    expect((await api(app!, 'GET', '/api/v1/sessions?limit=200')).status).toBe(200);
  });

  it('a completed session whose record became unreadable is listed as failed instead of breaking the list', async () => {
    const list = (await api(app!, 'GET', '/api/v1/sessions?limit=200')).json;
    const row = list.sessions.find((s: { id: string }) => s.id === ids.get('completed-unreadable'));
    expect(row).toMatchObject({ state: 'failed', failure: { code: 'SESS_ERR_DAMAGED', reason: 'record-unreadable' } });
    expect(list.sessions).toHaveLength(KINDS.length + 2);
  });

  it('a quarantined session whose file is put back is whole again at the next start; an unrepaired one stays quarantined', async () => {
    process.kill(app!.pid, 'SIGTERM');
    await app!.exited();
    writeFileSync(object(ids.get('chunk-missing')!, 1), missingObject); // the backup restore
    app = await startAppliance({ dataDir, env: { LUCID_LOG_LEVEL: 'info' } });
    await app.waitHealthy(30_000);
    const id = ids.get('chunk-missing')!;
    expect(await session('chunk-missing')).toMatchObject({ state: 'recording', failure: null, received: DATA.length });
    expect(app.output()).toMatch(/"msg":"session data whole again: quarantine lifted"/);
    const more = randomBytes(5000);
    expect(await putData(app, id, DATA.length, more)).toMatchObject({ status: 200, body: { received: DATA.length + more.length } });
    expect((await verify('chunk-missing'))).toMatchObject({ ok: true, bad: [] });
    // Still damaged, still quarantined; its evidence left as it was.
    expect(await session('tail-short')).toMatchObject({ state: 'failed', failure: { reason: 'tail-short', state: 'recording' } });
    expect(readFileSync(join(dir(ids.get('tail-short')!), 'tail-0000000004')).length).toBe(100);
  }, 60_000);
});
