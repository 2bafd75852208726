// kill -9 at random points of uploads and finalize, on the real process tree: after every
// restart the acknowledged length never went back, the newest acknowledged bytes are still the
// ones sent (a resend over them is accepted byte for byte), verify finds every committed chunk
// whole, nothing past the committed chunks is served, and the session resumes. At the end the
// download equals everything sent. Seeded: LUCID_CRASH_SEED=<n> replays a run.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { isRunning, startAppliance, treePids, type RunningAppliance } from '../../helpers/appliance.js';
import { corpus, prng } from '../../helpers/corpora.js';
import { api, hashDownload, putData } from '../../helpers/upload.js';
import * as ind from '../../helpers/independent-verify.js';

const MiB = 1024 * 1024;
const POINTS = Number(process.env['LUCID_CRASH_POINTS'] ?? 22);
const SEED = Number(process.env['LUCID_CRASH_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const TOTAL = 26 * MiB + 54321;
const dataDir = mkdtempSync(join(tmpdir(), 'lucid-crash-'));
let app: RunningAppliance | null = null;

afterAll(async () => {
  if (app) await killTree(app);
  rmSync(dataDir, { recursive: true, force: true });
});

/** SIGKILL core first (the crash under test), then the supervisor so that nothing restarts it. */
async function killTree(a: RunningAppliance, corePid?: number): Promise<void> {
  if (corePid) {
    try { process.kill(corePid, 'SIGKILL'); } catch { /* already gone */ }
  }
  for (const pid of treePids(a.pid)) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
  // A process killed in the middle of an fsync dies when the I/O returns: wait for it.
  const until = Date.now() + 30_000;
  while ((isRunning(a.pid) || (corePid !== undefined && isRunning(corePid))) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
}

describe(`kill -9 during upload and finalize (seed ${SEED})`, () => {
  it(`keeps every acknowledged byte over ${POINTS} random kill points`, async () => {
    console.log(`crash test seed=${SEED} — replay: LUCID_CRASH_SEED=${SEED} ./build.sh test tests/integration/sessions/crash.test.ts`);
    const rnd = prng(SEED);
    const data = corpus('mixed', TOTAL, SEED % 1000);
    let id: string | null = null;
    let lastAck = 0;
    const phases: string[] = [];

    for (let point = 0; point <= POINTS; point++) {
      app = await startAppliance({ dataDir, env: { LUCID_LOG_LEVEL: 'warn' } });
      try {
        await app.waitHealthy(90_000);
      } catch (err) {
        // Say why: the core's own errors (a recovery failure would show here), not just a timeout.
        const errors = app.output().split('\n').filter((l) => /"level":(50|60)/.test(l));
        throw new Error(`restart ${point} (seed ${SEED}, phases ${phases.join(',')}) did not come up:\n${errors.slice(-10).join('\n')}\n${(err as Error).message}`);
      }
      if (id === null) {
        const c = await api(app, 'POST', '/api/v1/sessions', { chunkSize: 256 * 1024, labels: { test: 'crash' } });
        id = c.json.id as string;
        await api(app, 'POST', `/api/v1/sessions/${id}/start`);
      }
      // ---- invariants after the restart ----
      const s = (await api(app, 'GET', `/api/v1/sessions/${id}`)).json;
      const ctx = `point ${point} (seed ${SEED}, phases ${phases.join(',')})`;
      expect(s.received, ctx).toBeGreaterThanOrEqual(lastAck);
      expect(['recording', 'stopped', 'completed'], ctx).toContain(s.state);
      const verify = await api(app, 'POST', `/api/v1/sessions/${id}/verify`);
      expect(verify.json, ctx).toMatchObject({ ok: true, bad: [] });
      expect((await app.get(`/api/v1/sessions/${id}/chunks/${s.chunkCount}`)).status, ctx).toBe(404);
      if (s.chunkCount > 0) {
        const last = new Uint8Array(await (await app.get(`/api/v1/sessions/${id}/chunks/${s.chunkCount - 1}`)).arrayBuffer());
        expect(ind.parseObject(last).index, ctx).toBe(s.chunkCount - 1);
      }
      if (s.state === 'recording' && s.received > 0) {
        // The newest acknowledged bytes: a resend over them must be accepted unchanged.
        const from = Math.max(0, s.received - Math.floor(rnd() * 3 * MiB));
        const again = await putData(app, id, from, data.subarray(from, s.received));
        expect(again, ctx).toEqual({ status: 200, body: { received: s.received, chunkCount: s.chunkCount, state: 'recording' } });
      }
      lastAck = s.received;
      if (point === POINTS) break;

      // ---- run until the kill: uploads, or stop + finalize once everything is sent ----
      const corePid = (await api(app, 'GET', '/api/v1/status')).json.children.find((c: { name: string }) => c.name === 'core').pid as number;
      // Kill at a random point of this boot's work: mid-body (by bytes sent), after the body
      // (server committing, fsyncing, answering) or during stop/finalize.
      const fraction = rnd() * 1.25;
      const extraMs = Math.floor(rnd() * 60);
      let phase = 'idle';
      let fire!: () => void;
      const killNow = new Promise<void>((r) => { fire = r; });
      const work = (async () => {
        const state = s.state as string;
        const at = s.received as number;
        if (state === 'recording' && point >= POINTS - 2) {
          // The last points: send the rest, then kill during stop/finalize.
          if (at < TOTAL) {
            const r = await putData(app, id!, at, data.subarray(at));
            if (r !== 'cut' && r.status === 200) lastAck = Math.max(lastAck, r.body.received);
          }
          phase = 'finalize';
          setTimeout(fire, Math.floor(extraMs / 3));
          await api(app, 'POST', `/api/v1/sessions/${id}/stop`);
          await api(app, 'POST', `/api/v1/sessions/${id}/finalize`);
        } else if (state === 'recording' && at < TOTAL) {
          phase = 'upload';
          // Sometimes resume from an older offset than the acknowledged one (a lost answer).
          const from = rnd() < 0.3 ? Math.max(0, at - Math.floor(rnd() * MiB)) : at;
          const to = Math.min(TOTAL, at + 1 + Math.floor(rnd() * 4 * MiB));
          const trigger = Math.floor((to - from) * fraction);
          // Once the trigger byte is sent, the kill follows within ~10 ms: the pipeline takes a
          // few MiB in that time, and a longer delay turned most mid-body kills into after-ack ones.
          const bodyMs = Math.floor(extraMs / 6);
          if (trigger === 0) setTimeout(fire, bodyMs);
          const r = await putData(app, id!, from, data.subarray(from, to), { onSent: (n) => { if (n >= trigger) setTimeout(fire, bodyMs); } });
          if (r !== 'cut' && r.status === 200) {
            lastAck = Math.max(lastAck, r.body.received);
            phase = 'after-ack';
          }
          setTimeout(fire, extraMs);
        } else if (state === 'recording' || state === 'stopped') {
          phase = 'finalize';
          setTimeout(fire, extraMs);
          if (state === 'recording') await api(app, 'POST', `/api/v1/sessions/${id}/stop`);
          await api(app, 'POST', `/api/v1/sessions/${id}/finalize`);
        } else {
          setTimeout(fire, extraMs);
        }
      })().catch(() => { /* the kill broke the connection */ });
      await killNow;
      phases.push(`${phase}+${extraMs}ms`);
      await killTree(app, corePid);
      await work;
      app = null;
    }

    // ---- the end: finish, download, compare ----
    const last = app!;
    let s = (await api(last, 'GET', `/api/v1/sessions/${id}`)).json;
    if (s.state === 'recording') {
      if (s.received < TOTAL) expect(await putData(last, id!, s.received, data.subarray(s.received))).toMatchObject({ status: 200, body: { received: TOTAL } });
      await api(last, 'POST', `/api/v1/sessions/${id}/stop`);
      s = (await api(last, 'GET', `/api/v1/sessions/${id}`)).json;
    }
    if (s.state === 'stopped') s = (await api(last, 'POST', `/api/v1/sessions/${id}/finalize`)).json;
    expect(s).toMatchObject({ state: 'completed', received: TOTAL });
    const down = await hashDownload(last, `/api/v1/sessions/${id}/content`);
    expect(down).toMatchObject({ status: 200, bytes: TOTAL, error: null, sha256: createHash('sha256').update(data).digest('hex') });
    console.log(JSON.stringify({ test: 'crash', seed: SEED, points: POINTS, phases }));
    expect(phases.filter((p) => p.startsWith('upload')).length).toBeGreaterThanOrEqual(POINTS / 2);
  }, 600_000);
});
