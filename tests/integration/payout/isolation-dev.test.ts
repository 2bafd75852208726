// What holds in development, where everything runs as one user: the payout child runs under
// Node's permission model as the supervisor starts it, and cannot read core's keys, store or
// sessions, write elsewhere, or start processes or workers. (The OS walls — own user, network
// allow-list — are the device unit's and are tested in the VM bed.) Core's bundle holds no TRON
// code at all.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startAppliance, treePids, type RunningAppliance } from '../../helpers/appliance.js';
import { startTronNodeDouble, type TronNodeDouble } from '../../helpers/tron-node/index.js';
import { payoutNodeArgs } from '../../../appliance/supervisor/children.js';

let node: TronNodeDouble;
let app: RunningAppliance;

beforeAll(async () => {
  node = await startTronNodeDouble();
  app = await startAppliance({ env: { LUCID_TRON_URL: node.url } });
  await app.waitHealthy(30_000);
}, 60_000);
afterAll(async () => {
  await app?.cleanup();
  await node?.close();
});

const PROBE = `
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
const [data, own] = process.argv.slice(2);
const out = {};
const tryIt = (name, f) => { try { f(); out[name] = 'allowed'; } catch (e) { out[name] = e.code ?? e.message; } };
tryIt('readMasterKey', () => readFileSync(data + '/keys/master.key'));
tryIt('readNodeKey', () => readFileSync(data + '/keys/node-ed25519.pem'));
tryIt('listStore', () => readdirSync(data + '/store'));
tryIt('listChunks', () => readdirSync(data + '/chunks'));
tryIt('writeData', () => writeFileSync(data + '/planted', 'x'));
tryIt('spawn', () => execFileSync('/bin/true'));
tryIt('worker', () => new Worker('0', { eval: true }).terminate());
tryIt('readOwn', () => readdirSync(own));
tryIt('writeOwn', () => writeFileSync(own + '/probe-wrote', 'x'));
console.log(JSON.stringify(out));
`;

describe('payout isolation in development (Node permission model)', () => {
  it('the supervisor starts the payout child with --permission, granting only its own directories for writing', () => {
    const pids = treePids(app.pid);
    const payout = pids.map((p) => { try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0'); } catch { return []; } })
      .find((cmd) => cmd.some((a) => a.endsWith('entries/payout.mjs')));
    expect(payout).toBeDefined();
    expect(payout).toContain('--permission');
    const writes = payout!.filter((a) => a.startsWith('--allow-fs-write=')).map((a) => a.slice('--allow-fs-write='.length));
    expect(writes.sort()).toEqual([join(app.dataDir, 'payout'), join(app.dataDir, 'sockets')].sort());
    const reads = payout!.filter((a) => a.startsWith('--allow-fs-read=')).map((a) => a.slice('--allow-fs-read='.length));
    for (const r of reads) expect(r === app.dataDir || join(app.dataDir, 'keys').startsWith(r) || join(app.dataDir, 'store').startsWith(r)).toBe(false);
  });

  it('code running with the payout child\'s permissions cannot read core\'s keys, store or chunks, write elsewhere, spawn or start workers', () => {
    const own = join(app.dataDir, 'payout');
    const probe = join(own, 'probe.mjs');
    writeFileSync(probe, PROBE);
    const args = payoutNodeArgs(join(ROOT, 'dist/entries'), { dir: own, socketDir: join(app.dataDir, 'sockets'), alsoRead: [], addons: false });
    const result = JSON.parse(execFileSync(process.execPath, [...args, probe, app.dataDir, own], { encoding: 'utf8' }).trim().split('\n').at(-1)!) as Record<string, string>;
    expect(result).toEqual({
      readMasterKey: 'ERR_ACCESS_DENIED', readNodeKey: 'ERR_ACCESS_DENIED', listStore: 'ERR_ACCESS_DENIED', listChunks: 'ERR_ACCESS_DENIED',
      writeData: 'ERR_ACCESS_DENIED', spawn: 'ERR_ACCESS_DENIED', worker: 'ERR_ACCESS_DENIED', readOwn: 'allowed', writeOwn: 'allowed',
    });
    // The same probe without the flags reads them: the denials come from the wall, not from absent files.
    const open = JSON.parse(execFileSync(process.execPath, [probe, app.dataDir, own], { encoding: 'utf8' }).trim()) as Record<string, string>;
    expect(open.readMasterKey).toBe('allowed');
    expect(open.listStore).toBe('allowed');
  });

  it('core\'s and the supervisor\'s bundles carry no TRON code; the payout bundle loads tronweb from its own file', () => {
    for (const e of ['core', 'supervisor']) expect(readFileSync(join(ROOT, `dist/entries/${e}.mjs`), 'utf8')).not.toMatch(/tronweb|TronWeb/);
    const payout = readFileSync(join(ROOT, 'dist/entries/payout.mjs'), 'utf8');
    expect(payout).toContain('../lib/tronweb.mjs');
    expect(payout).not.toContain('class TronWeb');
  });
});
