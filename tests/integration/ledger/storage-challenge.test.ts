// Storage challenges on four in-process validators with their real parts: LevelDB, Ed25519 keys,
// the WebSocket/TLS transport, and the real sessions service (chunk pipeline, encrypted chunk
// files, signed manifests) as each node's anchor feed and chunk source. A session recorded on one
// node is anchored with its manifest's sizes; its intake challenge is answered from the stored
// chunk object; the other validators fetch that object over P2P, check it and give verdicts; the
// node earns exactly the documented relay credit, then storage credits from audits. A session the
// node deleted before it could answer earns nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Cluster } from './cluster.js';
import { leafHash, verifyInclusion } from '../../../services/common/merkle.js';
import { decodeTx } from '../../../services/ledger/codec/tx.js';
import type { SessionService } from '../../../services/sessions/index.js';

const SLOT = 1000;
let c: Cluster;

beforeAll(async () => {
  c = await Cluster.create(4, { slotMs: SLOT, sessions: true, params: { answerMs: 8_000, verifyMs: 10_000, challengePeriodMs: 4_000 } });
  await c.startAll();
  await c.waitFor('height 2 everywhere', () => c.nodes.every((_, i) => c.height(i) >= 2), 30_000);
}, 60_000);
afterAll(async () => { await c?.destroy(); });

async function record(s: SessionService, data: Buffer): Promise<{ id: string; manifestHash: string; merkleRoot: string; chunkCount: number }> {
  const rec = await s.create({ owner: null, chunkSize: 64 * 1024 });
  await s.act(rec.id, 'start');
  await s.append(rec.id, 0, (async function* () { yield data; })(), data.length);
  await s.act(rec.id, 'stop');
  const done = await s.finalize(rec.id);
  expect(done.state).toBe('completed');
  return { id: done.id, manifestHash: done.manifestHash!, merkleRoot: done.merkleRoot!, chunkCount: done.chunkCount };
}

type CreditsJson = { nodes: Array<{ node: string; relay: number; relaySessions: number; relayBytes: number; storage: number; audits: number; anchors: number }> };
const creditsOf = async (viewer: number, node: string) => {
  const r = await c.nodes[viewer]!.app!.inject({ url: '/api/v1/ledger/credits' });
  return (r.json() as CreditsJson).nodes.find((n) => n.node === node);
};

describe('storage challenges answered from real sessions (4 validators, real transport)', () => {
  it('an intake challenge is answered from the stored chunk object, checked by the others; the relay credit is exactly max(1, ceil(bytes / 5 MB))', async () => {
    const storer = c.nodes[1]!;
    const key = storer.identity.publicKeyHex;
    const data = randomBytes(300 * 1024 + 123); // 5 chunks of 64 KiB; random: stored raw
    const s = await record(storer.sessions!, data);
    // Anchored with the manifest's sizes.
    const anchor = await c.waitFor('anchor final', async () => (await storer.ledger!.chain.anchor(s.manifestHash)) ?? undefined, 20_000);
    expect([anchor.chunkCount, anchor.chunkSize, anchor.totalBytes]).toEqual([5, 65_536, data.length]);
    const manifest = JSON.parse(await storer.sessions!.manifest(s.id)) as { chunkCount: number; chunkSize: number; totalBytes: number; merkle: { root: string } };
    expect([manifest.chunkCount, manifest.chunkSize, manifest.totalBytes, manifest.merkle.root]).toEqual([5, 65_536, data.length, s.merkleRoot]);

    // Every validator (not just the storer) reports the credit, from the chain alone.
    const credit = await c.waitFor('relay credited', async () => {
      const row = await creditsOf(2, key);
      return row && row.relaySessions === 1 ? row : undefined;
    }, 30_000);
    expect(credit).toMatchObject({ relaySessions: 1, relayBytes: data.length, relay: 1, anchors: 1 });
    for (const viewer of [0, 3]) expect(await creditsOf(viewer, key)).toMatchObject({ relaySessions: 1, relayBytes: data.length });

    // The answer on chain is the real chunk object's leaf, with its path to the anchored root.
    let found: { leaf: Buffer; index: number; path: Buffer[] } | null = null;
    for (let h = anchor.height; h <= c.height(1) && !found; h++) {
      for (const t of (await storer.ledger!.chain.block(h))!.txs) {
        const tx = decodeTx(t);
        if (tx.type === 'work' && tx.kind === 'answer' && tx.node.toString('hex') === key) {
          const idx = [0, 1, 2, 3, 4].find((i) => verifyInclusion(tx.leafHash, i, 5, tx.path, Buffer.from(s.merkleRoot, 'hex')));
          if (idx !== undefined) found = { leaf: tx.leafHash, index: idx, path: [...tx.path] };
        }
      }
    }
    expect(found).not.toBeNull();
    const stored = await storer.sessions!.storedChunk({ sessionId: s.id, manifestHash: s.manifestHash, index: found!.index });
    expect(leafHash(stored!.object).equals(found!.leaf)).toBe(true);
    expect(stored!.object.subarray(0, 4).toString('latin1')).toBe('LCK1');
  }, 90_000);

  it('audits keep paying while the node keeps the session; a session deleted before its answer earns nothing', async () => {
    const storer = c.nodes[1]!;
    const key = storer.identity.publicKeyHex;
    await c.waitFor('an audit passed', async () => ((await creditsOf(0, key))?.storage ?? 0) >= 1 || undefined, 40_000);

    // Node 3 records a session and deletes it (crypto-shredding removes the chunk files) before
    // its intake challenge can be answered: nothing on disk, no answer, no relay credit.
    const other = c.nodes[3]!;
    const okey = other.identity.publicKeyHex;
    const s = await record(other.sessions!, randomBytes(100 * 1024));
    await other.sessions!.delete(s.id);
    const anchor = await c.waitFor('anchor final', async () => (await other.ledger!.chain.anchor(s.manifestHash)) ?? undefined, 20_000);
    const open = () => other.ledger!.state().challenges.filter((x) => x.node === okey && x.kind === 'intake');
    await c.waitFor('intake issued', () => (open().length > 0 || other.ledger!.state().height > anchor.height + 1 ? true : undefined), 20_000);
    await c.waitFor('intake expired', () => (open().length === 0 ? true : undefined), 30_000);
    const row = await creditsOf(0, okey);
    expect(row?.anchors).toBe(1);
    expect(row?.relaySessions ?? 0).toBe(0);
    expect(row?.relayBytes ?? 0).toBe(0);
  }, 120_000);
});
