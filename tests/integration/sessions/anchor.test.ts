// A session recorded through the real appliance (standalone chain, 1 s slots, idle until then:
// no block without something to record) is anchored on the chain by itself: final within 2
// slots of its finalize, shown on the session, and
// GET /api/v1/anchors/:manifestHash answers a proof that an independent check (node:crypto only,
// trusting nothing but this node's public key from /api/v1/node) accepts. A download token opens
// the session's content for exactly its own path, for its owner, for 60 s.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { api, putData } from '../../helpers/upload.js';
import { checkAnchorProof, type ProofJson } from '../../helpers/anchor-check.js';

const SLOT = 1000;
let app: RunningAppliance;

beforeAll(async () => {
  app = await startAppliance({ env: { LUCID_SLOT_MS: String(SLOT), LUCID_LOG_LEVEL: 'warn' } });
  await app.waitHealthy(60_000);
  // The standalone chain runs with the default heartbeat (LUCID_EMPTY_BLOCK_INTERVAL_S=3600):
  // with nothing to record it decides nothing, so every session below is finalized while the
  // chain is idle (issue 24) and must still be final within 2 slots.
  await app.waitFor('the chain idle', async () => {
    const st = (await api(app, 'GET', '/api/v1/ledger/status')).json;
    return st?.consensus?.step === 'waiting' && st.emptyBlockIntervalMs === 3_600_000;
  }, 30_000);
}, 90_000);
afterAll(async () => { await app?.cleanup(); });

async function completedSession(data: Buffer): Promise<Record<string, any>> {
  const c = await api(app, 'POST', '/api/v1/sessions', { chunkSize: 64 * 1024, labels: { test: 'anchor' } });
  expect(c.status).toBe(201);
  await api(app, 'POST', `/api/v1/sessions/${c.json.id}/start`);
  expect(await putData(app, c.json.id, 0, data)).toMatchObject({ status: 200, body: { received: data.length } });
  await api(app, 'POST', `/api/v1/sessions/${c.json.id}/stop`);
  const fin = await api(app, 'POST', `/api/v1/sessions/${c.json.id}/finalize`);
  expect(fin.json.state).toBe('completed');
  return fin.json;
}

describe('sessions anchored on the chain (standalone appliance)', () => {
  it('a completed session is final on the chain within 2 slots; the session shows it; the proof checks independently', async () => {
    const s = await completedSession(randomBytes(200 * 1024));
    const t0 = Date.now();
    expect(s.anchor).toBeNull();
    const proof = await app.waitFor('anchor final', async () => {
      const r = await app.raw(`/api/v1/anchors/${s.manifestHash}`); // public: anyone may check an anchor
      return r.status === 200 ? ((await r.json()) as ProofJson) : undefined;
    }, 10 * SLOT);
    const ms = Date.now() - t0;
    console.log(JSON.stringify({ test: 'session-anchor', ms, slotMs: SLOT, height: proof.height, txIndex: proof.txIndex, txCount: proof.txCount }));
    expect(ms).toBeLessThanOrEqual(2 * SLOT + 300); // 300 ms of slack for a loaded 2-core CI box
    const node = (await api(app, 'GET', '/api/v1/node')).json;
    expect(checkAnchorProof(proof, { manifestHash: s.manifestHash, merkleRoot: s.merkleRoot, sessionId: s.id }, [{ publicKey: node.publicKey, power: 1 }])).toBeNull();
    // The session detail carries the same position.
    const view = (await api(app, 'GET', `/api/v1/sessions/${s.id}`)).json;
    expect(view.anchor).toMatchObject({ height: proof.height, txIndex: proof.txIndex, txCount: proof.txCount, blockHash: proof.header.hash, manifestHash: s.manifestHash });
    // Core hands the ledger its sessions (appliance/entries/core.ts): the node answers the
    // session's intake challenge from the chunk file on disk and, the only validator, checks it
    // itself — the relay credit of exactly these 200 KiB follows.
    const mine = await app.waitFor('relay credit', async () => {
      const c = (await api(app, 'GET', '/api/v1/ledger/credits')).json as { nodes: Array<{ node: string; relaySessions: number; relayBytes: number; relay: number }> };
      const row = c.nodes.find((n) => n.node === node.publicKey);
      return row && row.relaySessions >= 1 ? row : undefined;
    }, 20 * SLOT);
    expect(mine).toMatchObject({ relaySessions: 1, relayBytes: 200 * 1024, relay: 1 });
  }, 60_000);

  it('a download token opens one path of its owner, for 60 s, and nothing else', async () => {
    const data = randomBytes(150 * 1024);
    const s = await completedSession(data);
    const path = `/api/v1/sessions/${s.id}/content`;
    const issued = await api(app, 'POST', '/api/v1/auth/download-token', { path });
    expect(issued.status).toBe(200);
    expect(issued.json).toMatchObject({ expiresIn: 60, url: `${path}?token=${encodeURIComponent(issued.json.token)}` });
    // No header, just the link, as a browser download sends it.
    const down = await app.raw(issued.json.url);
    expect(down.status).toBe(200);
    expect(Buffer.from(await down.arrayBuffer()).equals(data)).toBe(true);
    // Another path, even of the same session: refused.
    const other = await app.raw(`/api/v1/sessions/${s.id}/manifest?token=${issued.json.token}`);
    expect(other.status).toBe(401);
    // A route that does not take download tokens: the token is not even looked at.
    expect((await app.raw(`/api/v1/sessions/${s.id}?token=${issued.json.token}`)).status).toBe(401);
    // Not a bearer token either.
    expect((await app.raw(path, { headers: { authorization: `Bearer ${issued.json.token}` } })).status).toBe(401);
    // Tampered, or presented from another user agent: refused.
    expect((await app.raw(`${path}?token=${issued.json.token.slice(0, -4)}AAAA`)).status).toBe(401);
    expect((await app.raw(issued.json.url, { headers: { 'user-agent': 'someone-else' } })).status).toBe(401);
    // Bad requests for tokens are coded 400s.
    for (const bad of [{ path: 'relative' }, { path: `${path}?x=1` }, { path: '/etc/passwd' }, {}]) {
      const r = await api(app, 'POST', '/api/v1/auth/download-token', bad);
      expect({ bad, status: r.status, code: r.json.code }).toEqual({ bad, status: 400, code: 'API_ERR_VALIDATION' });
    }
    // Anonymous callers get no token.
    expect((await app.raw('/api/v1/auth/download-token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path }) })).status).toBe(401);
  }, 60_000);
});
