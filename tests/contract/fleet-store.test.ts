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
    const store = new PgFleetStore(url, 4);
    await store.start();
    const pgm = (await import('pg')).default;
    const [other, holder] = [new pgm.Client({ connectionString: url }), new pgm.Client({ connectionString: url })];
    await Promise.all([other.connect(), holder.connect()]);
    const waiting = async (n: number): Promise<void> => {
      const count = async (): Promise<number> => (await holder.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")).rows[0].n;
      while ((await count()) < n) await new Promise((r) => setTimeout(r, 20));
    };
    try {
      for (const id of ['x', 'y']) await store.enrollDevice(testDevice(id));
      await store.createRollout(testRollout('rd'), ['x', 'y']);
      for (const id of ['x', 'y']) await store.updateMember('rd', id, null, { state: 'failed', reason: 'r' }, 10);
      // The cycle is made so that the reset closes it, whatever the timing: `other` (which never
      // looks for deadlocks itself: deadlock_timeout 10 min) holds ord 1; `holder` holds ord 0;
      // the reset waits for ord 0, then `other` does too; `holder` commits: the reset takes ord 0
      // and waits for ord 1 while `other` waits for ord 0 — the reset's own check, a second
      // later, finds the cycle, and PostgreSQL aborts the reset.
      await other.query('BEGIN');
      await other.query("SET LOCAL deadlock_timeout = '10min'");
      await other.query('UPDATE fleet_members SET updated_at = 20 WHERE rollout_id = $1 AND ord = 1', ['rd']);
      await holder.query('BEGIN');
      await holder.query('UPDATE fleet_members SET updated_at = 21 WHERE rollout_id = $1 AND ord = 0', ['rd']);
      const reset = store.resetMembers('rd', 0, 2, ['failed'], 'waiting', 1, 30);
      await waiting(1);
      const otherTakes = other.query('UPDATE fleet_members SET updated_at = 22 WHERE rollout_id = $1 AND ord = 0', ['rd']);
      await waiting(2);
      await holder.query('COMMIT');
      await otherTakes; // once the reset was aborted and let ord 0 go
      await other.query('COMMIT');
      expect(await reset).toBe(2);
      expect((await store.listMembers('rd')).map((m) => [m.state, m.attempt, m.updatedAt])).toEqual([['waiting', 1, 30], ['waiting', 1, 30]]);
      expect(pg.log()).toMatch(/deadlock detected/);
    } finally {
      await Promise.all([other.end(), holder.end()]);
      await store.stop();
    }
  });
});
