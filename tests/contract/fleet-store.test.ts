// The fleet store contract on both implementations: LevelDB in a temp dir, and a real PostgreSQL
// (initdb/pg_ctl in a temp dir, as an unprivileged user; a fresh database per test).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LevelFleetStore } from '../../ota/server/store/level-store.js';
import { PgFleetStore } from '../../ota/server/store/pg-store.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { fleetStoreContract, testDevice, testRollout } from './fleet-store.js';

fleetStoreContract('LevelDB', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-level-'));
  let store = new LevelFleetStore(dir);
  await store.start();
  return {
    store,
    close: async () => { await store.stop(); rmSync(dir, { recursive: true, force: true }); },
    reopen: async () => { await store.stop(); store = new LevelFleetStore(dir); await store.start(); return store; },
  };
});

let pg: TestPostgres;
let n = 0;
beforeAll(async () => { pg = await startPostgres(); }, 120_000);
afterAll(async () => { await pg?.stop(); });

fleetStoreContract('PostgreSQL', async () => {
  const url = await pg.createDatabase(`contract_${++n}`);
  let store = new PgFleetStore(url, 16);
  await store.start();
  return {
    store,
    close: () => store.stop(),
    reopen: async () => { await store.stop(); store = new PgFleetStore(url, 16); await store.start(); return store; },
  };
});

describe('PostgreSQL batched writes', () => {
  it('check-ins and member transitions sent at once share statements (one per moment, not one each), and each gets its own answer', async () => {
    const store = new PgFleetStore(await pg.createDatabase(`contract_${++n}`), 16);
    await store.start();
    try {
      const ids = Array.from({ length: 600 }, (_, i) => `b${i}`);
      for (const id of ids) await store.enrollDevice(testDevice(id));
      const before = { ...store.checkins.stats };
      const got = await Promise.all(ids.map((id, i) => store.checkin(id, 1 + (i % 3), null, 1000 + i)));
      expect(got.every((g, i) => g.kind === 'ok' && g.device.id === ids[i] && g.device.lastSeq === 1 + (i % 3) && g.device.lastSeenAt === 1000 + i)).toBe(true);
      expect(store.checkins.stats.writes - before.writes).toBe(600);
      // The first two go out alone (nothing in flight), the rest in the statements after them.
      expect(store.checkins.stats.statements - before.statements).toBeLessThanOrEqual(4);
      expect(store.checkins.stats.largest).toBeGreaterThanOrEqual(300);
      // Member transitions likewise: a stage's devices reporting at once.
      await store.createRollout(testRollout('rb'), ids);
      const m0 = { ...store.members.stats };
      const moved = await Promise.all(ids.map((id) => store.updateMember('rb', id, ['waiting'], { state: 'assigned' }, 2000)));
      expect(moved.every((m, i) => m !== null && m.deviceId === ids[i] && m.state === 'assigned')).toBe(true);
      expect(store.members.stats.writes - m0.writes).toBe(600);
      expect(store.members.stats.statements - m0.statements).toBeLessThanOrEqual(4);
    } finally {
      await store.stop();
    }
  });

  it('a deadlock\'s victim is run again: a stage reset that meets a transaction locking its members in the other order still resets them', async () => {
    const url = await pg.createDatabase(`contract_${++n}`);
    const pgm = (await import('pg')).default;
    const [other, watcher] = [new pgm.Client({ connectionString: url }), new pgm.Client({ connectionString: url })];
    await Promise.all([other.connect(), watcher.connect()]);
    // The store's connections look for a deadlock 5 s into a wait (set before they connect), so
    // `other` is surely waiting by then, however slow the machine; `other` itself looks only
    // after 60 s, so the reset is the one PostgreSQL aborts.
    await other.query(`ALTER DATABASE ${other.escapeIdentifier(`contract_${n}`)} SET deadlock_timeout = '5s'`);
    const store = new PgFleetStore(url, 4);
    await store.start();
    try {
      for (const id of ['x', 'y']) await store.enrollDevice(testDevice(id));
      await store.createRollout(testRollout('rd'), ['x', 'y']);
      for (const id of ['x', 'y']) await store.updateMember('rd', id, null, { state: 'failed', reason: 'r' }, 10);
      // `other` holds ord 1; the reset (one UPDATE over ords 0..1, in ord order) takes ord 0 and
      // waits for ord 1; `other` then asks for ord 0 and closes the cycle. Nothing here races:
      // each step waits for the one before it.
      await other.query('BEGIN');
      await other.query("SET LOCAL deadlock_timeout = '60s'");
      await other.query('UPDATE fleet_members SET updated_at = 20 WHERE rollout_id = $1 AND ord = 1', ['rd']);
      const reset = store.resetMembers('rd', 0, 2, ['failed'], 'waiting', 1, 30);
      // (watcher is outside any transaction: pg_stat_activity is read afresh each time)
      const waits = async (): Promise<number> => (await watcher.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")).rows[0].n;
      for (let i = 0; (await waits()) < 1; i++) {
        if (i > 1500) throw new Error('the reset never waited for ord 1');
        await new Promise((r) => setTimeout(r, 20));
      }
      await other.query('UPDATE fleet_members SET updated_at = 22 WHERE rollout_id = $1 AND ord = 0', ['rd']); // once the reset was aborted and let ord 0 go
      await other.query('COMMIT');
      expect(await reset).toBe(2);
      expect((await store.listMembers('rd')).map((m) => [m.state, m.attempt, m.updatedAt])).toEqual([['waiting', 1, 30], ['waiting', 1, 30]]);
      expect(pg.log()).toMatch(/deadlock detected/);
    } finally {
      await Promise.all([other.end(), watcher.end()]);
      await store.stop();
    }
  });
});
