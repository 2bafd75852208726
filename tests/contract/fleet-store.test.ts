// The fleet store contract on both implementations: LevelDB in a temp dir, and a real PostgreSQL
// (initdb/pg_ctl in a temp dir, as an unprivileged user; a fresh database per test).
import { afterAll, beforeAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LevelFleetStore } from '../../ota/server/store/level-store.js';
import { PgFleetStore } from '../../ota/server/store/pg-store.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { fleetStoreContract } from './fleet-store.js';

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
