// A full disk for real: the appliance's data dir on a small tmpfs (mounted here as root, removed
// in afterAll). (1) The free-space reserve stops an upload before the disk is full; (2) with no
// reserve, writes meet real ENOSPC. Either way: 507 SESS_ERR_STORAGE_FULL with the acknowledged
// length, the session paused, nothing acknowledged lost, verify clean; after space is freed the
// session resumes, completes and downloads byte-identical.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, unlinkSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { corpus } from '../../helpers/corpora.js';
import { api, hashDownload, putData } from '../../helpers/upload.js';

const MiB = 1024 * 1024;
const mounts: string[] = [];
const apps: RunningAppliance[] = [];

function mountTmpfs(sizeMiB: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'lucid-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(`this test mounts a small tmpfs to fill a disk for real and needs root (mount -t tmpfs): ${(err as Error).message}`);
  }
  mounts.push(dir);
  return dir;
}

afterAll(async () => {
  for (const a of apps) await a.cleanup().catch(() => {});
  for (const m of mounts) {
    try { execFileSync('umount', [m], { stdio: 'pipe' }); } catch { execFileSync('umount', ['-l', m], { stdio: 'pipe' }); }
    rmSync(m, { recursive: true, force: true });
  }
});

async function fillAndRecover(reserveBytes: number): Promise<Record<string, unknown>> {
  const mount = mountTmpfs(48);
  const dataDir = join(mount, 'data');
  mkdirSync(dataDir);
  const filler = join(mount, 'filler');
  writeFileSync(filler, Buffer.alloc(16 * MiB, 1));
  const app = await startAppliance({ dataDir, env: { LUCID_DISK_RESERVE_BYTES: String(reserveBytes), LUCID_LOG_LEVEL: 'warn' } });
  apps.push(app);
  await app.waitHealthy(60_000);
  const data = corpus('random', 30 * MiB, 4);
  const id = (await api(app, 'POST', '/api/v1/sessions', {})).json.id as string;
  await api(app, 'POST', `/api/v1/sessions/${id}/start`);
  expect(await putData(app, id, 0, data.subarray(0, 3 * MiB + 100))).toMatchObject({ status: 200, body: { received: 3 * MiB + 100 } });

  const full = await putData(app, id, 3 * MiB + 100, data.subarray(3 * MiB + 100));
  expect(full).toMatchObject({ status: 507, body: { code: 'SESS_ERR_STORAGE_FULL' } });
  const received = (full as { body: { details: { received: number } } }).body.details.received;
  expect(received).toBeGreaterThanOrEqual(3 * MiB + 100);
  expect(received).toBeLessThan(data.length);
  // Which wall it hit: the reserve (no ENOSPC at all) or the real full disk.
  await app.waitFor('the pause in the log', async () => app.output().includes('disk full: session paused'));
  expect(/"code":"ENOSPC"/.test(app.output())).toBe(reserveBytes === 0);
  const paused = (await api(app, 'GET', `/api/v1/sessions/${id}`)).json;
  expect(paused).toMatchObject({ state: 'paused', pausedReason: 'storage-full', received });
  expect((await api(app, 'POST', `/api/v1/sessions/${id}/verify`)).json).toMatchObject({ ok: true, bad: [] });
  // While full: more data is refused (paused), resume is refused with 507, the rest of the API works.
  expect((await putData(app, id, received, data.subarray(received, received + MiB))) as object).toMatchObject({ status: 409, body: { code: 'SESS_ERR_INVALID_STATE' } });
  // Eat whatever the pause freed (the ballast, the dropped uncommitted chunks): still full.
  const crumbs = join(mount, 'crumbs');
  try { writeFileSync(crumbs, Buffer.alloc(16 * MiB)); } catch { /* ENOSPC: the disk is full, as wanted */ }
  const stillFull = await api(app, 'POST', `/api/v1/sessions/${id}/resume`);
  expect(stillFull.json).toMatchObject({ statusCode: 507, code: 'SESS_ERR_STORAGE_FULL' });
  expect((await api(app, 'GET', '/api/v1/sessions')).status).toBe(200);

  // Free the space; resume; continue from the acknowledged length.
  unlinkSync(filler);
  unlinkSync(crumbs);
  const resumed = await api(app, 'POST', `/api/v1/sessions/${id}/resume`);
  expect(resumed.json).toMatchObject({ state: 'recording', pausedReason: null, received });
  expect(await putData(app, id, received, data.subarray(received))).toMatchObject({ status: 200, body: { received: data.length } });
  await api(app, 'POST', `/api/v1/sessions/${id}/stop`);
  expect((await api(app, 'POST', `/api/v1/sessions/${id}/finalize`)).json).toMatchObject({ state: 'completed', received: data.length });
  const down = await hashDownload(app, `/api/v1/sessions/${id}/content`);
  expect(down).toMatchObject({ status: 200, bytes: data.length, error: null, sha256: createHash('sha256').update(data).digest('hex') });
  const s = statfsSync(mount);
  return { reserveBytes, stoppedAt: received, freeAfterMiB: Math.round((s.bavail * s.bsize) / MiB) };
}

describe('a full disk during ingest', () => {
  it('stops at the free-space reserve with 507, pauses, keeps everything, resumes after space is freed', async () => {
    console.log(JSON.stringify({ test: 'disk-reserve', ...(await fillAndRecover(8 * MiB)) }));
  }, 240_000);

  it('survives real ENOSPC (no reserve): 507, paused, the store still writable, resumes after space is freed', async () => {
    console.log(JSON.stringify({ test: 'disk-enospc', ...(await fillAndRecover(0)) }));
  }, 240_000);
});
