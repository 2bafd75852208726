// POST /api/v1/ledger/validators/leave never empties the validator set: on a one-validator chain,
// or when the other validators' leaves are already waiting in this node's mempool, it answers a
// coded 409 (LEDGER_ERR_LAST_VALIDATOR) — to N parallel requests as to one — and nothing is
// submitted. (Before: a 202 for a transaction the chain then dropped, or a generic code.)
import { afterEach, describe, expect, it } from 'vitest';
import { signTx } from '../../../services/ledger/codec/tx.js';
import { Cluster } from './cluster.js';

let cluster: Cluster | null = null;
afterEach(async () => { await cluster?.destroy(); cluster = null; });

const leave = (c: Cluster, i: number) => c.nodes[i]!.app!.inject({ method: 'POST', url: '/api/v1/ledger/validators/leave', payload: {} });

describe('leaving the validator set', () => {
  it('the only validator of a chain gets 409 LEDGER_ERR_LAST_VALIDATOR, to 6 parallel requests alike, and stays', async () => {
    cluster = await Cluster.create(1, { slotMs: 300 });
    await cluster.startAll();
    await cluster.waitFor('a block', () => cluster!.height(0) >= 1);
    const answers = await Promise.all(Array.from({ length: 6 }, () => leave(cluster!, 0)));
    for (const r of answers) {
      expect(r.statusCode).toBe(409);
      expect(r.json()).toMatchObject({ code: 'LEDGER_ERR_LAST_VALIDATOR', message: expect.stringMatching(/no validator to decide/) });
    }
    expect(cluster.nodes[0]!.ledger!.mempoolEntries().filter((e) => e.tx.type === 'leave')).toEqual([]);
    const h = cluster.height(0);
    await cluster.waitFor('two more blocks', () => cluster!.height(0) >= h + 2);
    expect(cluster.nodes[0]!.ledger!.state().validators).toHaveLength(1);
  });

  it('with the other validators\' leaves waiting, the last one to ask gets 409; while one stays, leaving is accepted (202)', async () => {
    // Three validators, only node 2 running: nothing is decided (1/3 of the power), so the
    // leaves that reach node 2 (as gossip would bring them) stay waiting in its mempool.
    cluster = await Cluster.create(3, { slotMs: 300 });
    await cluster.start(2);
    const ledger = cluster.nodes[2]!.ledger!;
    const chainId = ledger.state().chainId;
    const leaveOf = (i: number): Buffer => {
      const id = cluster!.nodes[i]!.identity;
      return signTx(chainId, { type: 'leave', node: Buffer.from(id.publicKeyHex, 'hex'), nonce: 1 }, (m) => id.sign(m));
    };
    expect(ledger.submit(leaveOf(0))).toBe('added');
    // Node 1 stays: node 2 may leave; identical parallel requests make one transaction.
    const ok = await Promise.all(Array.from({ length: 4 }, () => leave(cluster!, 2)));
    expect(ok.map((r) => r.statusCode)).toEqual([202, 202, 202, 202]);
    expect(new Set(ok.map((r) => r.json().txId)).size).toBe(1);

    // Now node 1's leave arrives too: node 2 asking again would empty the set.
    expect(ledger.submit(leaveOf(1))).toBe('added');
    const refused = await Promise.all(Array.from({ length: 4 }, () => leave(cluster!, 2)));
    for (const r of refused) expect(r.json()).toMatchObject({ code: 'LEDGER_ERR_LAST_VALIDATOR', message: expect.stringMatching(/no validator to decide/) });
    expect(refused.map((r) => r.statusCode)).toEqual([409, 409, 409, 409]);
  });
});
