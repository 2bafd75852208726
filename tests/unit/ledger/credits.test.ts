// Work credits that other validators can check (README "Work credits", "Storage challenges"):
// relay credits from the anchored manifests' sizes once the session's intake challenge passes,
// storage credits from audits, both decided by > 2/3 of the validators' verdicts on the object
// the node serves. A node that did the work earns exactly the documented amount; one that claims
// what it did not do earns nothing.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { inclusionPath, sha256 } from '../../../services/common/merkle.js';
import { decodeTx, signTx } from '../../../services/ledger/codec/tx.js';
import { checkObject } from '../../../services/ledger/credits/answer.js';
import { challengeSeed, pick } from '../../../services/ledger/credits/book.js';
import { credits } from '../../../services/ledger/chain/state.js';
import { CreditChain, hex, session, type TestSession } from './credits-kit.js';
import type { Key } from './chain-kit.js';

const MiB = 1_048_576;

/** Anchors `sessions` for `storer` and takes each intake challenge through an honest answer and 3 of 4 "ok" verdicts. */
function relayHonestly(c: CreditChain, storer: Key, sessions: TestSession[]): void {
  c.block(sessions.map((s) => c.anchor(storer, s)));
  const intakes = c.challenges(storer, 'intake');
  expect(intakes).toHaveLength(sessions.length);
  c.block(intakes.map((ch) => c.answer(storer, ch, sessions.find((s) => s.manifestHash === ch.manifest)!)));
  const answered = c.challenges(storer, 'intake');
  // What each validator does with the object it fetched from the storer: it checks out.
  for (const ch of answered) {
    const s = sessions.find((x) => x.manifestHash === ch.manifest)!;
    expect(checkObject(ch, c.anchors.get(ch.manifest)!, s.objects[ch.index]!)).toBeNull();
  }
  c.block(c.ks.slice(0, 3).map((j) => c.verdicts(j, answered.map((ch) => ({ height: ch.height, seq: ch.seq, ok: true })))));
}

describe('work credits: relay', () => {
  it('a node that relayed earns exactly max(sessions, ceil(bytes / 5 MB)) from the anchors\' sizes, once the intake challenges pass', () => {
    const c = new CreditChain();
    c.block();
    const storer = c.notProposer();
    const big = session(1, 23_000_000, MiB); // 22 chunks of 1 MiB
    const small = session(2, 1000);
    relayHonestly(c, storer, [big, small]);
    const t = c.totals(storer);
    expect([t.anchors, t.relaySessions, t.relayBytes]).toEqual([2, 2, 23_001_000]);
    expect(credits(t, c.state.params).relay).toBe(5); // max(2, ceil(23.001 / 5))
    expect(c.state.challenges.filter((x) => x.kind === 'intake')).toEqual([]);

    // Many small sessions: the session count wins.
    const d = new CreditChain();
    d.block();
    const other = d.notProposer();
    relayHonestly(d, other, Array.from({ length: 7 }, (_, i) => session(10 + i, 1000)));
    expect(credits(d.totals(other), d.state.params).relay).toBe(7);
  });

  it('an inflated relay claim earns nothing: first-format relay proofs, impossible sizes, a tree that is not there', () => {
    const c = new CreditChain();
    c.block();
    const liar = c.notProposer();
    // The first format's relay proof (self-reported 48 GB) no longer decodes, so no block carries it.
    const relayV1Body = Buffer.concat([Buffer.of(1, 2), liar.publicKey, Buffer.of(1), Buffer.from('00004e20', 'hex'), Buffer.from('0000000c', 'hex'), Buffer.from('0000000b2d05e000', 'hex')]);
    const relayV1 = Buffer.concat([relayV1Body, liar.sign(relayV1Body)]);
    expect(() => decodeTx(relayV1)).toThrow();
    expect(c.kept([relayV1])).toBe(0);
    // Sizes no manifest can have: more bytes than the chunks hold, a last chunk that is empty, a chunk size outside 64 KiB..16 MiB.
    const s = session(1, 200_000);
    for (const sizes of [
      { chunkCount: 4, chunkSize: 65_536, totalBytes: 4 * 65_536 + 1 },
      { chunkCount: 4, chunkSize: 65_536, totalBytes: 3 * 65_536 },
      { chunkCount: 1, chunkSize: 1000, totalBytes: 1000 },
    ]) expect(c.kept([c.anchor(liar, s, sizes)])).toBe(0);
    // A thousand 16 MiB chunks claimed over a one-chunk tree: the intake challenge names a leaf of
    // a 1000-leaf tree, and nothing the liar holds has a path to the root for it.
    const one = session(2, 1000);
    c.block([c.anchor(liar, one, { chunkCount: 1000, chunkSize: 16 * MiB, totalBytes: 1000 * 16 * MiB })]);
    const [ch] = c.challenges(liar, 'intake');
    expect(ch).toBeDefined();
    expect(c.kept([c.answer(liar, ch!, one, one.objects[0]!, [])])).toBe(0);
    const forged = Array.from({ length: 10 }, () => randomBytes(32));
    expect(c.kept([c.answer(liar, ch!, one, one.objects[0]!, forged)])).toBe(0);
    // Its own "ok" is not a verdict on an answer that is not there; after the deadline the challenge is gone.
    c.block([c.verdicts(liar, [{ height: ch!.height, seq: ch!.seq, ok: true }])], { time: ch!.issuedAt + c.state.params.answerMs + 1 });
    expect(c.challenges(liar, 'intake')).toEqual([]);
    const t = c.totals(liar);
    expect([t.anchors, t.relaySessions, t.relayBytes, credits(t, c.state.params).relay]).toEqual([1, 0, 0, 0]);
  });

  it('the storer\'s own "ok", or half of the power, does not credit an answer: more than 2/3 must say ok', () => {
    const c = new CreditChain();
    c.block();
    const storer = c.notProposer();
    const s = session(1, 150_000);
    c.block([c.anchor(storer, s)]);
    const [ch] = c.challenges(storer, 'intake');
    c.block([c.answer(storer, ch!, s)]);
    const others = c.ks.filter((k) => k !== storer);
    c.block(c.judge(ch!, [storer, others[0]!]));
    expect(c.totals(storer).relaySessions).toBe(0);
    expect(c.challenges(storer, 'intake')).toHaveLength(1);
    // Past verifyMs a third "ok" no longer counts: the challenge expires unpaid.
    c.block(c.judge(ch!, [others[1]!]), { time: c.challenges(storer, 'intake')[0]!.answer!.at + c.state.params.verifyMs + 1 });
    expect(c.challenges(storer, 'intake')).toEqual([]);
    expect(c.totals(storer).relaySessions).toBe(0);
  });
});

describe('work credits: storage challenges', () => {
  it('a challenge is derived from the block hash, names a leaf of the anchored tree size, and never goes to the block\'s proposer', () => {
    const c = new CreditChain();
    c.block();
    const proposer = c.proposer();
    const storer = c.notProposer();
    const s = session(1, 10 * 65_536);
    const b = c.build([c.anchor(proposer, s), c.anchor(storer, session(2, 1000))]);
    c.accept(b.applied);
    // The proposer could have ground the hash: its session waits for a block it does not propose.
    expect(c.challenges(proposer)).toEqual([]);
    expect(c.state.intakeQueue).toEqual([s.manifestHash]);
    const [ch] = c.challenges(storer, 'intake');
    const seed = challengeSeed(b.applied.hash, 0, hex(storer));
    expect(ch).toMatchObject({ seed: seed.toString('hex'), index: pick(seed, 8, 1), issuedAt: b.applied.block.header.time });
    c.block();
    const [later] = c.challenges(proposer, 'intake');
    expect(later?.manifest).toBe(s.manifestHash);
    expect(later!.index).toBeLessThan(10);
    expect(c.state.intakeQueue).toEqual([]);
    // A chain with one validator has nobody else: its own blocks challenge it.
    const solo = new CreditChain(1);
    solo.block();
    solo.block([solo.anchor(solo.ks[0]!, session(3, 1000))]);
    expect(solo.challenges(solo.ks[0]!, 'intake')).toHaveLength(1);
  });

  it('a node that keeps its sessions earns exactly one storage credit per passed audit, one audit per challengePeriodMs', () => {
    const c = new CreditChain(4, { challengePeriodMs: 60_000 });
    c.block();
    const storer = c.notProposer();
    const s = session(1, 5 * 65_536);
    c.block([c.anchor(storer, s)]);
    let passed = 0;
    for (let i = 0; i < 40 && passed < 3; i++) {
      const audits = c.challenges(storer, 'audit');
      const open = audits.find((a) => a.answer === null);
      const answered = audits.find((a) => a.answer !== null);
      const txs = [...(open ? [c.answer(storer, open, s)] : []), ...(answered ? c.judge(answered, c.ks.filter((k) => k !== storer)) : [])];
      if (answered) passed++;
      c.block(txs);
    }
    const t = c.totals(storer);
    expect(t.storage).toBe(3);
    expect(credits(t, c.state.params).storage).toBe(3);
    // Blocks 10 s apart, an audit at most every 60 s: at most one open audit per node, ever.
    expect(t.audits).toBeGreaterThanOrEqual(3);
    expect(c.state.challenges.filter((x) => x.node === hex(storer) && x.kind === 'audit').length).toBeLessThanOrEqual(1);
  });

  it('answering for a chunk it does not hold earns nothing: the digest cannot be made without the object, and a wrong object is judged wrong', () => {
    const c = new CreditChain();
    c.block();
    const lazy = c.notProposer();
    const s = session(1, 8 * 65_536);
    c.block([c.anchor(lazy, s)]);
    const [ch] = c.challenges(lazy, 'intake');
    // It kept the tree's leaves and paths (a few hundred bytes), not the objects: the leaf and path
    // pass the chain's check, the digest is a guess.
    const guess = signTx(c.state.chainId, {
      type: 'work', kind: 'answer', node: lazy.publicKey, challenge: { height: ch!.height, seq: ch!.seq },
      leafHash: s.leaves[ch!.index]!, digest: sha256(Buffer.from('guess')), path: inclusionPath(s.leaves, ch!.index),
    }, lazy.sign);
    c.block([guess]);
    const answered = c.challenges(lazy, 'intake')[0]!;
    const anchor = c.anchors.get(answered.manifest)!;
    // Whatever it serves when a validator asks: another chunk it still has, garbage, or — fetched
    // back later from somewhere — the real object, which does not match the digest it committed to.
    expect(checkObject(answered, anchor, s.objects[(ch!.index + 1) % 8]!)).toMatch(/not the answered leaf/);
    expect(checkObject(answered, anchor, randomBytes(100))).toMatch(/not the answered leaf/);
    expect(checkObject(answered, anchor, s.objects[ch!.index]!)).toMatch(/digest/);
    // Two "wrong" verdicts are more than 1/3: the challenge fails at once; nothing is credited.
    c.block(c.judge(answered, c.ks.filter((k) => k !== lazy).slice(0, 2), false));
    expect(c.challenges(lazy, 'intake')).toEqual([]);
    expect(c.totals(lazy).relaySessions).toBe(0);
  });

  it('a replayed answer earns nothing: the same transaction again, or its leaf, digest and path re-signed for a new challenge', () => {
    const c = new CreditChain(4, { challengePeriodMs: 20_000 });
    c.block();
    const storer = c.notProposer();
    const s = session(1, 1000); // one chunk: every challenge names the same leaf
    c.block([c.anchor(storer, s)]);
    const [first] = c.challenges(storer, 'intake');
    const tx = c.answer(storer, first!, s);
    c.block([tx]);
    expect(c.kept([tx])).toBe(0); // already answered
    c.block(c.judge(first!, c.ks.slice(0, 3)));
    expect(c.totals(storer).relaySessions).toBe(1);
    expect(c.kept([tx])).toBe(0); // no such open challenge any more
    // An audit of the same chunk: the old answer's parts, signed for it.
    let audit = c.challenges(storer, 'audit')[0];
    for (let i = 0; !audit && i < 10; i++) { c.block(); audit = c.challenges(storer, 'audit')[0]; }
    const old = decodeTx(tx);
    if (old.type !== 'work' || old.kind !== 'answer') throw new Error('not an answer');
    const replay = signTx(c.state.chainId, { ...old, challenge: { height: audit!.height, seq: audit!.seq } }, storer.sign);
    c.block([replay]);
    const answered = c.challenges(storer, 'audit').find((a) => a.height === audit!.height)!;
    // The path still fits (same leaf); the digest is the old challenge's, not this one's.
    expect(checkObject(answered, c.anchors.get(s.manifestHash)!, s.objects[0]!)).toMatch(/digest/);
    c.block(c.judge(answered, c.ks.filter((k) => k !== storer), false));
    expect(c.totals(storer).storage).toBe(0);
  });

  it('an answer after the deadline earns nothing (block time > issued + answerMs), one at the deadline counts', () => {
    const c = new CreditChain();
    c.block();
    const storer = c.notProposer();
    const s = session(1, 3 * 65_536);
    c.block([c.anchor(storer, s)]);
    const [ch] = c.challenges(storer, 'intake');
    const late = c.answer(storer, ch!, s);
    const deadline = ch!.issuedAt + c.state.params.answerMs;
    expect(c.kept([late], deadline + 1)).toBe(0);
    expect(c.kept([late], deadline)).toBe(1);
    c.block([], { time: deadline + 1 });
    expect(c.challenges(storer, 'intake')).toEqual([]);
    expect(c.kept([late])).toBe(0);
    expect(c.totals(storer).relaySessions).toBe(0);
  });

  it('verdicts come from validators only, on answers of earlier blocks, once each', () => {
    const c = new CreditChain(4);
    const outsider = new CreditChain(5).ks[4]!;
    c.block();
    const storer = c.notProposer();
    const s = session(1, 1000);
    c.block([c.anchor(storer, s)]);
    const [ch] = c.challenges(storer, 'intake');
    expect(c.kept([c.verdicts(outsider, [{ height: ch!.height, seq: ch!.seq, ok: true }])])).toBe(0);
    // A verdict in the answer's own block is not counted (nobody can have fetched the object yet).
    c.block([c.answer(storer, ch!, s), ...c.judge(ch!, c.ks.slice(0, 3))]);
    expect(c.challenges(storer, 'intake')[0]!.ok).toEqual([]);
    // The same validator twice counts once; a repeated entry in one transaction is refused.
    const v = c.ks.find((k) => k !== storer)!;
    expect(c.kept([c.verdicts(v, [{ height: ch!.height, seq: ch!.seq, ok: true }, { height: ch!.height, seq: ch!.seq, ok: true }])])).toBe(0);
    c.block([...c.judge(ch!, [v]), c.verdicts(v, [{ height: ch!.height, seq: ch!.seq, ok: true }, { height: 999, seq: 0, ok: true }])]);
    expect(c.challenges(storer, 'intake')[0]!.ok).toEqual([hex(v)]);
    expect(c.totals(storer).relaySessions).toBe(0);
  });
});
