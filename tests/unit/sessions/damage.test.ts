// The pure damage rules of services/sessions/damage.ts, and the feed that skips a damaged item
// (SessionRepo on a real LevelDB in a temp dir).
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { damageOf, lifted, parseSessionRecord, quarantine, unreadableRecord } from '../../../services/sessions/damage.js';
import { SessionRepo, type ChunkRecord, type SessionRecord } from '../../../services/sessions/records.js';
import { Store } from '../../../services/store/index.js';
import { createRootLogger } from '../../../services/common/log.js';

const rec = (over: Partial<SessionRecord> = {}): SessionRecord => ({
  v: 1, id: 's1', state: 'recording', owner: 'u', labels: {}, chunkSize: 100, cipher: 'aes-256-gcm', quotaBytes: 1000, wrappedKey: 'AA==',
  createdAt: 't', updatedAt: 't', startedAt: null, stoppedAt: null, completedAt: null, deletedAt: null, received: 250, chunkCount: 2,
  storedBytes: 200, tail: { index: 2, plain: 50, fileBytes: 90 }, pausedReason: null, merkleRoot: null, manifestHash: null, failure: null,
  lastVerify: null, ...over,
});
const chunks: ChunkRecord[] = [{ p: 100, s: 110, c: 'gzip', l: 'a' }, { p: 100, s: 120, c: 'raw', l: 'b' }];
const folder = (objects: Array<[number, number]>, tails: Array<[number, number]>) => ({ objects: new Map(objects), tails: new Map(tails) });
const whole = folder([[0, 110], [1, 120]], [[2, 90]]);

describe('damage of a session', () => {
  it('finds nothing in a whole session (a longer tail is a crash leftover, not damage)', () => {
    expect(damageOf(rec(), chunks, whole)).toBeNull();
    expect(damageOf(rec(), chunks, folder([[0, 110], [1, 120]], [[2, 500]]))).toBeNull();
    expect(damageOf(rec({ tail: { index: 2, plain: 0, fileBytes: 0 } }), chunks, folder([[0, 110], [1, 120]], []))).toBeNull();
  });

  it('names each kind, with the chunk where there is one', () => {
    expect(damageOf(rec(), chunks, folder([[0, 110], [1, 120]], []))).toMatchObject({ reason: 'tail-missing', index: 2 });
    expect(damageOf(rec(), chunks, folder([[0, 110], [1, 120]], [[2, 89]]))).toMatchObject({ reason: 'tail-short', index: 2 });
    expect(damageOf(rec(), chunks.slice(0, 1), whole)).toMatchObject({ reason: 'records-missing' });
    expect(damageOf(rec(), chunks, folder([[0, 110]], [[2, 90]]))).toMatchObject({ reason: 'chunk-missing', index: 1 });
    expect(damageOf(rec(), chunks, folder([[0, 109], [1, 120]], [[2, 90]]))).toMatchObject({ reason: 'chunk-truncated', index: 0 });
    expect(damageOf(rec(), chunks, folder([[0, 110], [1, 121]], [[2, 90]]))).toMatchObject({ reason: 'chunk-size-mismatch', index: 1 });
  });

  it('quarantines into failed remembering the state, and lifts back to it', () => {
    const q = quarantine(rec({ state: 'paused' }), { reason: 'chunk-missing', index: 1, message: 'm' }, 'now');
    expect(q).toMatchObject({ state: 'failed', failure: { code: 'SESS_ERR_DAMAGED', reason: 'chunk-missing', index: 1, state: 'paused' } });
    // Quarantined again (another damage found later): still remembers the first state.
    expect(quarantine(q, { reason: 'tail-short', message: 'm' }, 'now').failure).toMatchObject({ reason: 'tail-short', state: 'paused' });
    expect(lifted(q, 'later')).toMatchObject({ state: 'paused', failure: null });
    expect(() => quarantine(rec({ state: 'completed' }), { reason: 'chunk-missing', message: 'm' }, 'now')).toThrow(/cannot quarantine/);
  });

  it('reads only well-formed records of the right id', () => {
    expect(parseSessionRecord('s1', JSON.stringify(rec()))).toMatchObject({ id: 's1' });
    for (const bad of ['{"v":1', '', 'null', '[]', JSON.stringify(rec({ id: 's2' })), JSON.stringify({ ...rec(), tail: null }),
      JSON.stringify({ ...rec(), received: -1 }), JSON.stringify({ ...rec(), state: 'weird' }), JSON.stringify({ ...rec(), cipher: 'rot13' })]) {
      expect(parseSessionRecord('s1', bad), bad).toBeNull();
    }
    expect(unreadableRecord('s9', chunks, 'xchacha20-poly1305', 'now', 'why')).toMatchObject({
      id: 's9', state: 'failed', chunkCount: 2, received: 200, storedBytes: 230, chunkSize: 100, wrappedKey: null, cipher: 'xchacha20-poly1305',
      failure: { code: 'SESS_ERR_DAMAGED', reason: 'record-unreadable' },
    });
  });
});

let store: Store | undefined;
let dir: string | undefined;
afterEach(async () => {
  await store?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  store = undefined;
});

describe('the completed-sessions feed', () => {
  it('skips an unreadable item and moves its cursor past it, so later items are still anchored', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lucid-feed-'));
    store = new Store({ location: dir, log: createRootLogger({ name: 't', level: 'silent' }) });
    await store.start();
    const repo = new SessionRepo(store);
    await repo.init();
    const item = (n: number) => ({ sessionId: `s${n}`, manifestHash: 'a'.repeat(64), merkleRoot: 'b'.repeat(64), completedAt: 't', chunkCount: 1, chunkSize: 65_536, totalBytes: 10 });
    const c1 = await repo.complete(rec({ id: 's1', state: 'completed' }), '{}', item(1));
    const c2 = await repo.complete(rec({ id: 's2', state: 'completed' }), '{}', item(2));
    const c3 = await repo.complete(rec({ id: 's3', state: 'completed' }), '{}', item(3));
    await store.sublevel('completed', 'utf8').put(c2, '{"sessionId": 3');
    const page = await repo.completedSince(null, 10);
    expect(page.items.map((i) => i.sessionId)).toEqual(['s1', 's3']);
    expect(page).toMatchObject({ cursor: c3, skipped: 1 });
    expect((await repo.completedSince(c1, 1))).toMatchObject({ items: [], cursor: c2, skipped: 1 });
  });
});
