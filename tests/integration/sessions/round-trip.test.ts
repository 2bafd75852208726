// The real appliance (supervisor + core, real HTTP on loopback):
// - 256 MiB of mixed data uploaded in several pieces, one of them cut off mid-way and resumed
//   (with an overlapping resend), finalized, downloaded byte-identical, verified clean; the root
//   recomputed from the raw chunk objects by the independent checker equals the manifest's; the
//   manifest's signature checks with the node's key; core's peak RSS stays under 200 MB.
// - One flipped byte in a stored chunk: verify names that chunk; the download stops before it
//   and never hands out a byte of it; a range starting in it is a coded error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { corpus } from '../../helpers/corpora.js';
import { api, hashDownload, peakRssMB, putData } from '../../helpers/upload.js';
import * as ind from '../../helpers/independent-verify.js';

const MiB = 1024 * 1024;
let app: RunningAppliance;

beforeAll(async () => {
  app = await startAppliance({ env: { LUCID_LOG_LEVEL: 'warn' } });
  await app.waitHealthy(60_000);
}, 90_000);
afterAll(async () => { await app?.cleanup(); });

async function newRecording(body: object = {}): Promise<string> {
  const c = await api(app, 'POST', '/api/v1/sessions', body);
  expect(c.status).toBe(201);
  expect((await api(app, 'POST', `/api/v1/sessions/${c.json.id}/start`)).json.state).toBe('recording');
  return c.json.id as string;
}

describe('a 256 MiB session over HTTP', () => {
  it('round-trips byte-identical through resumed uploads, verifies clean, and the independent root matches', async () => {
    const TOTAL = 256 * MiB;
    const data = corpus('mixed', TOTAL, 42);
    const id = await newRecording({ labels: { test: 'round-trip' } });
    const t0 = performance.now();
    // Pieces of uneven sizes; the third is cut off after 20 MiB as if the network dropped. The
    // first is 150 MiB in one request: memory must not grow with a request's size.
    const bounds = [0, 150 * MiB + 12345, 200 * MiB + 1, 233 * MiB - 7, TOTAL];
    for (let p = 0; p + 1 < bounds.length; p++) {
      const [from, to] = [bounds[p]!, bounds[p + 1]!];
      if (p === 2) {
        expect(await putData(app, id, from, data.subarray(from, to), { cutAfter: 20 * MiB })).toBe('cut');
        const after = await app.waitFor('the cut upload to settle', async () => {
          const s = await api(app, 'GET', `/api/v1/sessions/${id}`);
          return s.json.received > from ? s.json.received as number : undefined;
        }, 60_000);
        expect(after).toBeGreaterThanOrEqual(from);
        expect(after).toBeLessThanOrEqual(from + 20 * MiB);
        // Resume with an overlap of 3 MiB before the acknowledged end (idempotent resend).
        const resume = Math.max(from, after - 3 * MiB);
        const r = await putData(app, id, resume, data.subarray(resume, to));
        expect(r).toEqual({ status: 200, body: { received: to, chunkCount: Math.floor(to / MiB), state: 'recording' } });
      } else {
        const r = await putData(app, id, from, data.subarray(from, to));
        expect(r).toMatchObject({ status: 200, body: { received: to } });
      }
    }
    const uploadSeconds = (performance.now() - t0) / 1000;
    expect((await api(app, 'POST', `/api/v1/sessions/${id}/stop`)).json.state).toBe('stopped');
    const fin = await api(app, 'POST', `/api/v1/sessions/${id}/finalize`);
    expect(fin.json).toMatchObject({ state: 'completed', received: TOTAL, chunkCount: 256 });
    expect(fin.json.compressionRatio).toBeGreaterThan(1.5);

    const down = await hashDownload(app, `/api/v1/sessions/${id}/content`);
    expect(down).toMatchObject({ status: 200, bytes: TOTAL, error: null, sha256: createHash('sha256').update(data).digest('hex') });

    const verify = await api(app, 'POST', `/api/v1/sessions/${id}/verify`);
    expect(verify.json).toMatchObject({ ok: true, bad: [], chunkCount: 256, rootMatches: true });

    // Independent: leaves from the raw objects as served, the root, the signed manifest.
    const leaves: Uint8Array[] = [];
    for (let i = 0; i < 256; i++) {
      const res = await app.get(`/api/v1/sessions/${id}/chunks/${i}`);
      expect(res.status).toBe(200);
      const obj = new Uint8Array(await res.arrayBuffer());
      expect(ind.parseObject(obj).index).toBe(i);
      leaves.push(ind.leafHash(obj));
    }
    const manifestText = await (await app.get(`/api/v1/sessions/${id}/manifest`)).text();
    const node = await api(app, 'GET', '/api/v1/node');
    const m = ind.checkManifest(manifestText, node.json.publicKey);
    expect(m).toMatchObject({ signatureValid: true, canonical: true, hash: fin.json.manifestHash });
    expect(ind.merkleRoot(leaves)).toBe(m.body['merkle'].root);
    expect(m.body['merkle'].root).toBe(fin.json.merkleRoot);
    expect(m.body).toMatchObject({ totalBytes: TOTAL, chunkCount: 256, sessionId: id, node: { id: node.json.id, publicKey: node.json.publicKey } });
    const proof = await api(app, 'GET', `/api/v1/sessions/${id}/chunks/77/proof`);
    expect(ind.verifyInclusion(leaves[77]!, 77, 256, proof.json.path, m.body['merkle'].root)).toBe(true);

    // Memory: the whole tree never held the session; core's high-water mark stays small.
    const status = await api(app, 'GET', '/api/v1/status');
    const corePid = status.json.children.find((c: { name: string }) => c.name === 'core').pid as number;
    const peak = await peakRssMB(corePid);
    console.log(JSON.stringify({ test: 'round-trip-256MiB', uploadMBps: Math.round(TOTAL / 1e6 / uploadSeconds), corePeakRssMB: Math.round(peak), ratio: fin.json.compressionRatio }));
    expect(peak).toBeLessThan(200);
  }, 600_000);
});

describe('a flipped byte in a stored chunk', () => {
  it('is named by verify; the download stops before it and a range into it is a coded error', async () => {
    const data = corpus('mixed', 5 * MiB + 1000, 9);
    const id = await newRecording();
    expect((await putData(app, id, 0, data)) as object).toMatchObject({ status: 200 });
    await api(app, 'POST', `/api/v1/sessions/${id}/stop`);
    const fin = await api(app, 'POST', `/api/v1/sessions/${id}/finalize`);
    expect(fin.json.chunkCount).toBe(6);
    const file = join(app.dataDir, 'chunks', id, '0000000002.lck');
    const bytes = readFileSync(file);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    writeFileSync(file, bytes);

    const verify = await api(app, 'POST', `/api/v1/sessions/${id}/verify`);
    expect(verify.json).toMatchObject({ ok: false, bad: [{ index: 2, reason: 'hash-mismatch' }], rootMatches: false });
    expect(verify.json.session.lastVerify.bad).toEqual([{ index: 2, reason: 'hash-mismatch' }]);

    const full = await hashDownload(app, `/api/v1/sessions/${id}/content`);
    expect(full.status).toBe(200);
    expect(full.error).not.toBeNull();
    expect(full.bytes).toBe(2 * MiB); // chunks 0 and 1, nothing of chunk 2
    expect(full.sha256).toBe(createHash('sha256').update(data.subarray(0, 2 * MiB)).digest('hex'));

    const into = await app.get(`/api/v1/sessions/${id}/content`, { headers: { range: `bytes=${2 * MiB + 10}-` } });
    expect(into.status).toBe(500);
    expect(await into.json()).toMatchObject({ code: 'CHUNK_ERR_CORRUPT', details: { index: 2, reason: 'authentication' } });
    const before = await hashDownload(app, `/api/v1/sessions/${id}/content`, { range: `bytes=0-${2 * MiB - 1}` });
    expect(before).toMatchObject({ status: 206, bytes: 2 * MiB, error: null });
    const after = await hashDownload(app, `/api/v1/sessions/${id}/content`, { range: `bytes=${3 * MiB}-` });
    expect(after).toMatchObject({ status: 206, bytes: data.length - 3 * MiB, error: null, sha256: createHash('sha256').update(data.subarray(3 * MiB)).digest('hex') });
    // The raw object is served as stored (it is evidence), and its leaf no longer matches.
    const raw = new Uint8Array(await (await app.get(`/api/v1/sessions/${id}/chunks/2`)).arrayBuffer());
    const proof = await api(app, 'GET', `/api/v1/sessions/${id}/chunks/2/proof`);
    expect(ind.verifyInclusion(ind.leafHash(raw), 2, 6, proof.json.path, fin.json.merkleRoot)).toBe(false);
  }, 120_000);
});
