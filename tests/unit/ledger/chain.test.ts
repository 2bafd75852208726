// Block validity, the state transition, PoOT credits and the proposer ranking.
import { describe, expect, it } from 'vitest';
import { checkAndApply, InvalidBlock, verifyCommit } from '../../../services/ledger/chain/apply.js';
import { proposerRanking, proposerOrder, cooldownOf } from '../../../services/ledger/chain/ranking.js';
import { parseGenesis, genesisHash, makeGenesis, canonicalJson } from '../../../services/ledger/chain/genesis.js';
import { decodeBlock, encodeBlock, MAX_BLOCK_BYTES } from '../../../services/ledger/codec/block.js';
import { signTx, type TxBody } from '../../../services/ledger/codec/tx.js';
import { leafHash, rootFromLeafHashes, sha256 } from '../../../services/common/merkle.js';
import { isLucidError } from '../../../services/common/errors.js';
import { TestChain, anchorTx, commitFor, keys, sessionUuid, verifier, type Key } from './chain-kit.js';

const tx = (c: TestChain, k: Key, body: TxBody): Buffer => signTx(c.state.chainId, body, k.sign);
const expectInvalid = (fn: () => unknown, pattern: RegExp): void => {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(InvalidBlock);
  expect((err as Error).message).toMatch(pattern);
};

describe('ledger chain', () => {
  it('builds and applies a chain; each block carries a > 2/3 commit of the previous one', () => {
    const c = new TestChain(keys(4));
    for (let i = 0; i < 5; i++) {
      const b = c.build([anchorTx(c.state.chainId, c.ks[i % 4]!, i)]);
      c.accept(b.applied);
    }
    expect(c.state.height).toBe(5);
    expect(c.anchors.size).toBe(5);
    // A block whose last commit has only 2 of 4 signatures is refused…
    const b = c.build();
    const weak = { ...c.lastCommit!, signatures: c.lastCommit!.signatures.slice(0, 2) };
    expect(verifyCommit(c.state.chainId, weak, 5, Buffer.from(c.state.headHash, 'hex'), c.state.lastValidators, verifier)).toMatch(/not more than 2\/3/);
    c.lastCommit = weak;
    expect(() => c.build()).toThrow(InvalidBlock);
    expect(b.applied.state.height).toBe(6);
  });

  it('weighted commit: exactly 2/3 of the power is refused, more is accepted', () => {
    const ks = keys(4);
    const c = new TestChain(ks, [1, 1, 1, 3]);
    const b = c.build();
    const hash = b.applied.hash;
    const vals = c.state.validators;
    expect(verifyCommit('test-chain', commitFor('test-chain', 1, 0, hash, [ks[3]!, ks[0]!]), 1, hash, vals, verifier)).toMatch(/4 of 6/);
    expect(verifyCommit('test-chain', commitFor('test-chain', 1, 0, hash, [ks[3]!, ks[0]!, ks[1]!]), 1, hash, vals, verifier)).toBeNull();
    const bad = commitFor('test-chain', 1, 0, hash, [ks[3]!, ks[0]!, ks[1]!]);
    bad.signatures[0]!.signature[0]! ^= 1;
    expect(verifyCommit('test-chain', bad, 1, hash, vals, verifier)).toMatch(/bad commit signature/);
    expect(verifyCommit('test-chain', commitFor('test-chain', 1, 0, hash, keys(5).slice(4)), 1, hash, vals, verifier)).toMatch(/not a validator/);
  });

  it('rejects wrong proposer, non-increasing time, bad tx root, bad signatures, duplicate anchors and oversize blocks', () => {
    const c = new TestChain(keys(4));
    c.accept(c.build([anchorTx('test-chain', c.ks[0]!, 1)]).applied);
    const good = c.build();
    const block = decodeBlock(good.bytes);
    const reencode = (patch: Partial<typeof block.header>, txs = block.txs) => encodeBlock({ ...block, header: { ...block.header, ...patch, txCount: txs.length }, txs });
    const ctx = { verifier, recentAnchors: c.anchors };
    const other = c.ks.find((k) => !k.publicKey.equals(block.header.proposer))!;
    expectInvalid(() => checkAndApply(c.state, reencode({ proposer: other.publicKey }), ctx), /proposer/);
    expectInvalid(() => checkAndApply(c.state, reencode({ time: c.state.headTime }), ctx), /time/);
    expectInvalid(() => checkAndApply(c.state, reencode({}, [anchorTx('test-chain', c.ks[1]!, 2)]), ctx), /transaction root/);
    const forged = anchorTx('test-chain', c.ks[1]!, 3);
    forged[forged.length - 1]! ^= 1;
    expectInvalid(() => c.build([forged]).applied && checkAndApply(c.state, encodeBlock({ ...block, header: { ...block.header, txCount: 1, txRoot: rootFromLeafHashes([leafHash(forged)]) }, txs: [forged] }), ctx), /bad signature/);
    // The builder drops what the state refuses: a manifest anchored already, and a bad signature.
    const built = c.build([anchorTx('test-chain', c.ks[0]!, 1), forged, anchorTx('test-chain', c.ks[2]!, 4)]);
    expect(built.applied.block.txs).toHaveLength(1);
    expect(built.applied.anchors[0]!.sessionId).toBe(sessionUuid(4));
    // 1 MiB: the builder stops adding transactions at the limit.
    const many = Array.from({ length: 6000 }, (_, i) => anchorTx('test-chain', c.ks[i % 4]!, 100 + i));
    const full = c.build(many);
    expect(full.bytes.length).toBeLessThanOrEqual(MAX_BLOCK_BYTES);
    expect(full.applied.block.txs.length).toBeGreaterThan(5000);
  }, 60_000);

  it('validators join with approvals of the validators and leave with their own signed transaction (effective from the next height)', () => {
    const ks = keys(5);
    const c = new TestChain(ks.slice(0, 4));
    c.ks.push(ks[4]!);
    const joiner = ks[4]!;
    const approve = (k: Key) => tx(c, k, { type: 'approve', node: k.publicKey, joiner: joiner.publicKey, power: 1, joinerNonce: 0, validUntil: c.state.height + 100 });
    c.accept(c.build([approve(ks[0]!), approve(ks[1]!), approve(ks[2]!)]).applied);
    c.accept(c.build([tx(c, joiner, { type: 'join', node: joiner.publicKey, power: 1, nonce: 1 })]).applied);
    expect(c.state.validators).toHaveLength(5);
    expect(c.state.lastValidators).toHaveLength(4);
    expect(c.build([tx(c, joiner, { type: 'join', node: joiner.publicKey, power: 1, nonce: 2 })]).applied.block.txs).toHaveLength(0);
    c.accept(c.build([tx(c, joiner, { type: 'leave', node: joiner.publicKey, nonce: 1 })]).applied); // stale nonce
    expect(c.state.validators).toHaveLength(5);
    c.accept(c.build([tx(c, joiner, { type: 'leave', node: joiner.publicKey, nonce: 3 })]).applied);
    expect(c.state.validators).toHaveLength(4);
  });

  it('ranking: cooldown min(16, n − 1), fallbacks cover everyone, ties break on the previous hash', () => {
    const c = new TestChain(keys(4));
    expect(cooldownOf(c.state)).toBe(3);
    const seen: string[] = [];
    for (let i = 0; i < 8; i++) {
      const order = proposerOrder(c.state);
      expect(new Set(order).size).toBe(4);
      seen.push(order[0]!);
      c.accept(c.build().applied);
    }
    // With a cooldown of n − 1 every validator proposes once every 4 blocks.
    expect(new Set(seen.slice(0, 4)).size).toBe(4);
    expect(seen.slice(4)).toEqual(seen.slice(0, 4));
    const ranking = proposerRanking(c.state);
    expect(ranking.filter((r) => r.inCooldown)).toHaveLength(3);
    expect(ranking[0]!.inCooldown).toBe(false);
  });

  it('genesis: validated, canonical, hashed', () => {
    const g = makeGenesis({ chainId: 'lan-1', genesisTime: 5, validators: [{ publicKey: 'ab'.repeat(32), power: 2 }] });
    expect(canonicalJson(g)).toBe('{"chainId":"lan-1","genesisTime":5,"params":{"answerMs":300000,"challengePeriodMs":3600000,"epochMs":86400000,"maxCooldown":16,"maxJoinPower":1,'
      + '"relayCap":20000,"storageCap":24,"uptimeMaxGapMs":3600000,"validationCap":8640,"verifyMs":600000,"windowMs":604800000},"validators":[{"power":2,"publicKey":"' + 'ab'.repeat(32) + '"}]}');
    expect(genesisHash(g).length).toBe(32);
    for (const bad of [{ ...g, chainId: 'has space' }, { ...g, validators: [] }, { ...g, validators: [{ publicKey: 'xyz', power: 1 }] }, { ...g, params: { nope: 1 } }, { ...g, params: { epochMs: 10, windowMs: 15 } }]) {
      let err: unknown;
      try { parseGenesis(bad); } catch (e) { err = e; }
      expect(isLucidError(err, 'LEDGER_ERR_GENESIS_INVALID')).toBe(true);
    }
  });
});
