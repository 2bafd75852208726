// The store's log barrier (services/store/log-barrier.ts) on a real LevelDB with a memtable
// small enough that chosen writes start a new log file: a synced write (through a sublevel, a
// batch or a chained batch) that starts one has synced the old one, which holds the unsynced
// writes before it, by the time it resolves; unsynced writes pass untouched.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { DURABLE } from '../../../services/store/store.js';
import { datasyncFile, installLogBarrier, logBarrier, logFiles } from '../../../services/store/log-barrier.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

async function openDb(writeBufferSize: number) {
  const dir = mkdtempSync(join(tmpdir(), 'lucid-log-barrier-'));
  dirs.push(dir);
  const db = new ClassicLevel<string, string>(dir, { valueEncoding: 'utf8', writeBufferSize });
  await db.open();
  return { db, dir };
}

describe('the LevelDB log barrier', () => {
  it('a synced write that starts a new log file syncs the old one, which holds the unsynced writes before it', async () => {
    // A 64 KiB memtable: after a 70 KiB unsynced write the next write starts a new log file.
    const { db, dir } = await openDb(64 * 1024);
    const synced: string[] = [];
    let listed: readonly string[] = [];
    let barriers = 0;
    const inner = logBarrier(dir, async (p) => { synced.push(p); await datasyncFile(p); }, (logs) => { listed = logs; });
    installLogBarrier(db, dir, { around: (w) => { barriers++; return inner.around(w); } });
    const area = db.sublevel<string, string>('area', { valueEncoding: 'utf8' });
    const big = 'x'.repeat(70 * 1024);
    for (let i = 0; i < 30; i++) {
      await area.put(`big${i}`, big); // unsynced: into the current log only
      const before = logFiles(dir);
      const old = before[before.length - 1]!;
      // The three ways a synced write arrives: a sublevel put, a sublevel batch, a chained batch.
      if (i % 3 === 0) await area.put(`s${i}`, 'v', DURABLE);
      else if (i % 3 === 1) await area.batch([{ type: 'put', key: `s${i}`, value: 'v' }, { type: 'del', key: 'nothing' }], DURABLE);
      else await db.batch().put(`s${i}`, 'v', { sublevel: area } as never).del('nothing').write({ sync: true });
      const after = logFiles(dir);
      expect(after[after.length - 1], `write ${i} started a new log`).not.toBe(old);
      // The old log was synced — unless its compaction had already ended (its records are in a synced table).
      if (listed.includes(old)) expect(synced, `write ${i}: ${old} synced before the synced write resolved`).toContain(join(dir, old));
    }
    expect(barriers).toBe(30); // the 30 unsynced writes passed without one
    expect(await area.get('big29')).toBe(big);
    await db.close();
  });

  it('after the write, syncs every log file but the newest (files made by hand)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lucid-log-barrier-'));
    dirs.push(dir);
    for (const n of ['000005.log', '000007.log', '000006.ldb', 'MANIFEST-000004', 'CURRENT']) writeFileSync(join(dir, n), 'x');
    const synced: string[] = [];
    const barrier = logBarrier(dir, async (p) => { synced.push(p); });
    // The write starts a newer log (a rotation while it ran): the two before it are synced, it is not.
    expect(await barrier.around(async () => { writeFileSync(join(dir, '000010.log'), 'x'); return 42; })).toBe(42);
    expect(synced).toEqual([join(dir, '000005.log'), join(dir, '000007.log')]);
    // Compaction removed the old ones: only one log, nothing to sync.
    synced.length = 0;
    for (const n of ['000005.log', '000007.log']) rmSync(join(dir, n));
    await barrier.around(async () => undefined);
    expect(synced).toEqual([]);
    // A log that vanishes between the listing and its sync is fine (its table is synced).
    await expect(datasyncFile(join(dir, '000099.log'))).resolves.toBeUndefined();
  });

  it('a synced del goes through the barrier too', async () => {
    const { db, dir } = await openDb(4 * 1024 * 1024);
    let barriers = 0;
    installLogBarrier(db, dir, { around: (w) => { barriers++; return w(); } });
    await db.put('a', '1');
    await db.del('a', { sync: true } as never);
    await db.del('b');
    expect(barriers).toBe(1);
    expect(await db.get('a')).toBeUndefined();
    await db.close();
  });
});
