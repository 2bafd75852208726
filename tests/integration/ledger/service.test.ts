// The ledger service with its real parts: LevelDB, Ed25519 keys, WebSocket over TLS 1.3 on
// loopback, four validators in one process. Anchors from completed sessions become final within
// two slots, with a proof an independent check (node:crypto only) accepts; a restart
// mid-anchoring loses nothing; a follower syncs and joins. (The 1 MiB block: full-block.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { Cluster } from './cluster.js';
import { checkAnchorProof, type ProofJson } from '../../helpers/anchor-check.js';

const SLOT = 1000;
let c: Cluster;

beforeAll(async () => {
  // Four validators, and a fifth node that is not in the genesis (it starts as a follower).
  c = await Cluster.create(5, { slotMs: SLOT, validators: 4 });
  await c.startAll(4);
}, 60_000);
afterAll(async () => { await c?.destroy(); });

const completed = () => ({ sessionId: randomUUID(), manifestHash: randomBytes(32).toString('hex'), merkleRoot: randomBytes(32).toString('hex'), completedAt: Date.now(), chunkCount: 1, chunkSize: 65_536, totalBytes: 1000 });
const proofOf = async (i: number, manifestHash: string) => {
  const r = await c.nodes[i]!.app!.inject({ method: 'GET', url: `/api/v1/anchors/${manifestHash}` });
  return r.statusCode === 200 ? (r.json() as ProofJson) : undefined;
};
const trusted = () => c.genesis.validators.map((v) => ({ publicKey: v.publicKey, power: v.power }));

describe('ledger service (4 validators, real transport)', () => {
  it('produces blocks on every node, all agreeing', async () => {
    const validators = c.nodes.slice(0, 4);
    await c.waitFor('height 3 everywhere', () => validators.every((_, i) => c.height(i) >= 3));
    const hashes = await Promise.all(validators.map(async (n) => (await n.ledger!.chain.commit(3))!.blockHash.toString('hex')));
    expect(new Set(hashes).size).toBe(1);
    const status = await c.nodes[0]!.app!.inject({ method: 'GET', url: '/api/v1/ledger/status' });
    expect(status.json()).toMatchObject({ chainId: 'cluster-test', validators: 4, multiNode: true });
    expect(status.json().peers.length).toBeGreaterThanOrEqual(3);
    // Credits per node and epoch, as payouts will read them: every validator signed commits.
    const credits = (await c.nodes[1]!.app!.inject({ url: '/api/v1/ledger/credits' })).json() as { blocks: number; nodes: Array<{ node: string; validation: number; total: number }> };
    expect(credits.blocks).toBeGreaterThan(0);
    expect(credits.nodes.filter((n) => n.validation > 0).length).toBeGreaterThanOrEqual(3);
    const vals = (await c.nodes[1]!.app!.inject({ url: '/api/v1/ledger/validators' })).json() as { cooldown: number; validators: Array<{ rank: number }> };
    expect(vals.cooldown).toBe(3);
    expect(vals.validators.map((v) => v.rank)).toEqual([1, 2, 3, 4]);
  }, 60_000);

  it('a completed session is anchored and final within 2 slots, with a proof an independent check accepts', async () => {
    const item = completed();
    expect((await c.nodes[2]!.app!.inject({ method: 'GET', url: `/api/v1/anchors/${item.manifestHash}` })).statusCode).toBe(404);
    const t0 = Date.now();
    c.nodes[2]!.source.complete(item);
    const proof = await c.waitFor('anchor final', () => proofOf(1, item.manifestHash), 10 * SLOT);
    const ms = Date.now() - t0;
    console.log(`anchor final after ${ms} ms (slot ${SLOT} ms): height ${proof.height}, ${proof.txCount} txs`);
    expect(ms).toBeLessThanOrEqual(2 * SLOT + 300); // 300 ms of slack for a loaded 2-core CI box
    expect(checkAnchorProof(proof, item, trusted())).toBeNull();
    // Tampering is caught by the same independent check.
    expect(checkAnchorProof({ ...proof, path: proof.path.length ? [randomBytes(32).toString('hex'), ...proof.path.slice(1)] : [randomBytes(32).toString('hex')] }, item, trusted())).not.toBeNull();
    expect(checkAnchorProof(proof, { ...item, merkleRoot: randomBytes(32).toString('hex') }, trusted())).toMatch(/Merkle root/);
    expect(checkAnchorProof({ ...proof, commit: { ...proof.commit, signatures: proof.commit.signatures.slice(0, 2) } }, item, trusted())).toMatch(/not more than 2\/3/);
    // Every node answers the same final position.
    for (let i = 0; i < 4; i++) {
      const p = await c.waitFor(`anchor on node ${i}`, () => proofOf(i, item.manifestHash));
      expect([p.height, p.txIndex]).toEqual([proof.height, proof.txIndex]);
    }
  }, 60_000);

  it('a node restarted after queuing anchors still gets them final (pending anchors survive)', async () => {
    const item = completed();
    c.nodes[1]!.source.complete(item);
    await c.stop(1); // whatever was in flight
    await c.start(1);
    const proof = await c.waitFor('anchor after restart', () => proofOf(1, item.manifestHash), 30_000);
    expect(checkAnchorProof(proof, item, trusted())).toBeNull();
    const evidence = await c.nodes[0]!.app!.inject({ method: 'GET', url: '/api/v1/ledger/evidence' });
    expect(evidence.json().evidence).toEqual([]);
  }, 60_000);
  it('a follower syncs the chain, then joins once validators holding more than 2/3 of the power approved it', async () => {
    await c.start(4);
    const follower = c.nodes[4]!;
    await c.waitFor('follower synced', () => c.height(4) >= c.height(0) - 1 && c.height(4) >= 3, 30_000);
    const before = (await follower.app!.inject({ url: '/api/v1/ledger/status' })).json();
    expect(before.node).toMatchObject({ validator: false, role: 'follower' });
    expect((await follower.app!.inject({ method: 'POST', url: '/api/v1/ledger/validators/leave', payload: {} })).json().code).toBe('LEDGER_ERR_NOT_VALIDATOR');
    // A self-signed join alone is refused: nobody approved it.
    const alone = await follower.app!.inject({ method: 'POST', url: '/api/v1/ledger/validators/join', payload: { power: 1 } });
    expect([alone.statusCode, alone.json().code]).toEqual([409, 'LEDGER_ERR_JOIN_NOT_APPROVED']);
    // A follower cannot approve anyone; validators approve by the joiner's key.
    const key = follower.identity.publicKeyHex;
    expect((await follower.app!.inject({ method: 'POST', url: '/api/v1/ledger/validators/approve', payload: { publicKey: key } })).json().code).toBe('LEDGER_ERR_NOT_VALIDATOR');
    const approve = (i: number) => c.nodes[i]!.app!.inject({ method: 'POST', url: '/api/v1/ledger/validators/approve', payload: { publicKey: key, power: 1 } });
    for (const i of [0, 1]) expect((await approve(i)).statusCode).toBe(202);
    const approvedPower = async () => ((await follower.app!.inject({ url: '/api/v1/ledger/admission' })).json().pending as Array<{ joiner: string; approvedPower: number; enough: boolean }>).find((p) => p.joiner === key);
    await c.waitFor('two approvals on chain', async () => (await approvedPower())?.approvedPower === 2, 20 * SLOT);
    // 2 of 4 is not more than 2/3.
    const half = await follower.app!.inject({ method: 'POST', url: '/api/v1/ledger/validators/join', payload: {} });
    expect([half.statusCode, half.json().code, half.json().message]).toEqual([409, 'LEDGER_ERR_JOIN_NOT_APPROVED', expect.stringMatching(/holding 2 of 4 power/)]);
    expect((await approve(2)).statusCode).toBe(202);
    await c.waitFor('three approvals on chain', async () => (await approvedPower())?.enough === true, 20 * SLOT);
    const join = await follower.app!.inject({ method: 'POST', url: '/api/v1/ledger/validators/join', payload: { power: 1 } });
    expect(join.statusCode).toBe(202);
    await c.waitFor('five validators', () => c.nodes.every((n, i) => i > 4 || n.ledger!.state().validators.length === 5), 20 * SLOT);
    expect((await follower.app!.inject({ url: '/api/v1/ledger/status' })).json().node.validator).toBe(true);
    expect((await follower.app!.inject({ method: 'POST', url: '/api/v1/ledger/validators/join', payload: {} })).json().code).toBe('LEDGER_ERR_ALREADY_VALIDATOR');
    // The chain keeps going with five (quorum now 4 of 5), and the new validator signs commits.
    const h = c.height(0);
    await c.waitFor('blocks with five validators', () => c.height(0) >= h + 3, 20 * SLOT);
    const commit = await c.nodes[0]!.ledger!.chain.commit(c.height(0));
    const validators = (await follower.app!.inject({ url: '/api/v1/ledger/validators' })).json().validators as Array<{ publicKey: string; self: boolean }>;
    expect(validators.some((v) => v.self)).toBe(true);
    expect(commit!.signatures.length).toBeGreaterThanOrEqual(4);
  }, 90_000);
});
