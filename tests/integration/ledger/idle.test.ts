// Idle heights (issue 24) on four real ledger services (LevelDB, keys, TLS transport): with an
// empty mempool the chain decides nothing until the heartbeat is due; a session completed while
// idle is anchored and final within 2 slots, with a proof an independent check accepts; the
// heartbeat keeps the chain alive at its interval, and every validator's precommit (the late
// ones too) reaches the next block's commit, so uptime (in time) is credited to all four.
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { Cluster } from './cluster.js';
import { checkAnchorProof, type ProofJson } from '../../helpers/anchor-check.js';

let c: Cluster | null = null;
afterEach(async () => { await c?.destroy(); c = null; });

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const completed = () => ({ sessionId: randomUUID(), manifestHash: randomBytes(32).toString('hex'), merkleRoot: randomBytes(32).toString('hex'), completedAt: Date.now(), chunkCount: 1, chunkSize: 65_536, totalBytes: 1000 });
const status = async (i: number) => (await c!.nodes[i]!.app!.inject({ url: '/api/v1/ledger/status' })).json();

describe('idle heights', () => {
  it('an idle chain decides nothing; a session completed while idle is final within 2 slots; then it is idle again', async () => {
    const SLOT = 1000;
    c = await Cluster.create(4, { slotMs: SLOT, emptyBlockIntervalMs: 3_600_000 });
    await c.startAll();
    await c.waitFor('peers connected', async () => (await status(0)).peers.length >= 3);
    await sleep(3 * SLOT);
    expect([0, 1, 2, 3].map((i) => c!.height(i))).toEqual([0, 0, 0, 0]);
    const s = await status(0);
    expect(s.consensus).toMatchObject({ height: 1, step: 'waiting', startedBy: null, heartbeatDueAt: c.genesis.genesisTime + 3_600_000 });
    expect(s.emptyBlockIntervalMs).toBe(3_600_000);

    for (const round of [1, 2]) {
      const item = completed();
      const t0 = Date.now();
      c.nodes[round]!.source.complete(item);
      const proof = await c.waitFor('anchor final', async () => {
        const r = await c!.nodes[3]!.app!.inject({ url: `/api/v1/anchors/${item.manifestHash}` });
        return r.statusCode === 200 ? (r.json() as ProofJson) : undefined;
      }, 10 * SLOT);
      const ms = Date.now() - t0;
      console.log(`idle chain: anchor final after ${ms} ms (slot ${SLOT} ms) at height ${proof.height}`);
      expect(ms).toBeLessThanOrEqual(2 * SLOT + 300);
      expect(checkAnchorProof(proof, item, c.genesis.validators)).toBeNull();
      // Back to idle: whatever the anchor brought along (its intake challenge) settles, then nothing.
      await sleep(3 * SLOT);
      const h = c.height(0);
      await sleep(4 * SLOT);
      expect(c.height(0)).toBe(h);
      expect((await status(0)).consensus.step).toBe('waiting');
    }
  }, 90_000);

  it('the heartbeat makes an empty block every interval, and credits every validator\'s uptime', async () => {
    const SLOT = 300;
    const BEAT = 2000;
    c = await Cluster.create(4, { slotMs: SLOT, emptyBlockIntervalMs: BEAT });
    await c.startAll();
    await c.waitFor('height 4', () => c!.height(0) >= 4, 30_000);
    const chain = c.nodes[0]!.ledger!.chain;
    const times: number[] = [];
    for (let h = 1; h <= 4; h++) times.push(Number((await chain.block(h))!.header.time));
    for (let h = 1; h < 4; h++) {
      expect(times[h]! - times[h - 1]!).toBeGreaterThanOrEqual(BEAT);
      expect(times[h]! - times[h - 1]!).toBeLessThan(2 * BEAT); // the next heartbeat, not one later (a loaded machine can cost a round)
      expect((await chain.block(h + 1))!.txs.length).toBe(0);
    }
    // The commits the blocks carry hold all four precommits (late ones included).
    for (let h = 3; h <= 4; h++) expect((await chain.block(h))!.lastCommit?.signatures.length, `signatures in block ${h}'s commit`).toBe(4);
    const vals = (await c.nodes[1]!.app!.inject({ url: '/api/v1/ledger/validators' })).json() as { validators: Array<{ uptimeMs: number }> };
    expect(vals.validators.filter((v) => v.uptimeMs >= BEAT).length).toBe(4);
  }, 60_000);
});
