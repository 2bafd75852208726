// Validator admission (chain/admission.ts): a join takes effect only with approvals by validators
// holding more than 2/3 of the current power; approvals name the key and power, count for the
// joiner's next join only, expire, come only from validators, and are bounded per validator.
// Every refusal is checked twice: the builder leaves the transaction out, and a block that
// carries it anyway is invalid (what an honest node decides about a byzantine proposal).
import { describe, expect, it } from 'vitest';
import { checkAndApply, InvalidBlock } from '../../../services/ledger/chain/apply.js';
import { APPROVAL_TTL_HEIGHTS, MAX_OPEN_APPROVALS, membershipPrecheck } from '../../../services/ledger/chain/admission.js';
import { decodeBlock, encodeBlock } from '../../../services/ledger/codec/block.js';
import { decodeTx, signTx, type TxBody } from '../../../services/ledger/codec/tx.js';
import { merkleRoot } from '../../../services/common/merkle.js';
import { TestChain, keys, verifier, type Key } from './chain-kit.js';

const sign = (c: TestChain, k: Key, body: TxBody): Buffer => signTx(c.state.chainId, body, k.sign);
const approve = (c: TestChain, by: Key, joiner: Key, o: { power?: number; nonce?: number; until?: number } = {}): Buffer =>
  sign(c, by, { type: 'approve', node: by.publicKey, joiner: joiner.publicKey, power: o.power ?? 1, joinerNonce: o.nonce ?? 0, validUntil: o.until ?? c.state.height + 50 });
const join = (c: TestChain, k: Key, nonce = 1, power = 1): Buffer => sign(c, k, { type: 'join', node: k.publicKey, power, nonce });
const hex = (k: Key): string => k.publicKey.toString('hex');

/** A block carrying `txs` whether or not they are valid (a byzantine proposer's block). */
function forced(c: TestChain, txs: Buffer[]): Buffer {
  const b = decodeBlock(c.build().bytes);
  return encodeBlock({ ...b, header: { ...b.header, txRoot: merkleRoot(txs), txCount: txs.length }, txs });
}

function refused(c: TestChain, txs: Buffer[], why: RegExp): void {
  expect(c.build(txs).applied.block.txs.length, 'the builder leaves a refused transaction out').toBeLessThan(txs.length);
  let err: unknown;
  try { checkAndApply(c.state, forced(c, txs), { verifier, recentAnchors: c.anchors }); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(InvalidBlock);
  expect((err as Error).message).toMatch(why);
}

/** n validators (equal power unless given) plus `extra` keys that are not validators. */
function chain(n: number, extra: number, powers?: number[], maxJoinPower = 1): { c: TestChain; vals: Key[]; others: Key[] } {
  const ks = keys(n + extra);
  const c = new TestChain(ks.slice(0, n), powers, { maxJoinPower });
  c.ks.push(...ks.slice(n));
  return { c, vals: ks.slice(0, n), others: ks.slice(n) };
}

describe('validator admission', () => {
  it('a self-signed join without approvals changes nothing', () => {
    const { c, others: [s] } = chain(4, 1);
    refused(c, [join(c, s!)], /approved by validators holding 0 of 4 power/);
    expect(membershipPrecheck(c.state, decodeTx(join(c, s!)))?.fault).toBe('not-approved');
  });

  it('approvals of exactly 2/3 of the power are not enough; more than 2/3 admit the joiner from the next height', () => {
    // Weighted 1,1,1,3 (total 6): 1+3 = 4 is exactly 2/3; 1+1+3 = 5 is more.
    const { c, vals, others: [j] } = chain(4, 1, [1, 1, 1, 3]);
    const [a, b, , d] = vals as [Key, Key, Key, Key];
    c.accept(c.build([approve(c, a, j!), approve(c, d, j!)]).applied);
    expect(c.state.approvals?.[hex(j!)]).toBeDefined();
    refused(c, [join(c, j!)], /holding 4 of 6 power/);
    c.accept(c.build([approve(c, b, j!)]).applied);
    const applied = c.build([join(c, j!)]).applied;
    expect(applied.block.txs).toHaveLength(1);
    c.accept(applied);
    expect(c.state.validators.map((v) => v.publicKey)).toContain(hex(j!));
    expect(c.state.lastValidators.map((v) => v.publicKey)).not.toContain(hex(j!)); // votes from the next height
    expect(c.state.approvals?.[hex(j!)]).toBeUndefined(); // consumed
    // The new validator signs the next commit like everyone else.
    c.accept(c.build().applied);
    expect(c.lastCommit!.signatures.map((s) => s.validator.toString('hex'))).toContain(hex(j!));
  });

  it('approvals and the join may share one block (in that order)', () => {
    const { c, vals, others: [j] } = chain(4, 1);
    const txs = [approve(c, vals[0]!, j!), approve(c, vals[1]!, j!), approve(c, vals[2]!, j!), join(c, j!)];
    c.accept(c.build(txs).applied);
    expect(c.state.validators).toHaveLength(5);
  });

  it('an approval counts only for the power it names, and that power is bounded by params.maxJoinPower', () => {
    const { c, vals, others: [j] } = chain(4, 1, undefined, 3);
    c.accept(c.build(vals.slice(0, 3).map((v) => approve(c, v, j!, { power: 2 }))).applied);
    refused(c, [join(c, j!, 1, 3)], /holding 0 of 4/); // asks for more than was approved
    refused(c, [approve(c, vals[3]!, j!, { power: 4 })], /join power 4 outside 1\.\.3/);
    refused(c, [join(c, j!, 1, 4)], /join power 4 outside 1\.\.3/);
    c.accept(c.build([join(c, j!, 1, 2)]).applied);
    expect(c.state.validators.find((v) => v.publicKey === hex(j!))?.power).toBe(2);
  });

  it('approvals from strangers, forged approvals and approvals by a joiner for itself are refused', () => {
    const { c, vals, others: [j, s1, s2] } = chain(4, 3);
    refused(c, [approve(c, s1!, j!)], /approver is not a validator/);
    const forged = approve(c, s1!, j!);
    vals[0]!.publicKey.copy(forged, 2); // claims to be validator 0, signed by s1
    refused(c, [forged], /bad signature/);
    refused(c, [approve(c, s2!, s2!)], /approver is not a validator/);
    refused(c, [approve(c, vals[0]!, vals[1]!)], /already a validator/);
    expect(membershipPrecheck(c.state, decodeTx(approve(c, s1!, j!)))?.fault).toBe('not-a-validator');
  });

  it('approvals expire: validUntil is bounded by the TTL and an expired approval does not count', () => {
    const { c, vals, others: [j] } = chain(4, 1);
    refused(c, [approve(c, vals[0]!, j!, { until: c.state.height + 1 + APPROVAL_TTL_HEIGHTS + 1 })], /valid until/);
    refused(c, [approve(c, vals[0]!, j!, { until: c.state.height })], /valid until/); // already past
    const until = c.state.height + 2; // counts in blocks up to height `until`
    c.accept(c.build(vals.slice(0, 3).map((v) => approve(c, v, j!, { until }))).applied);
    expect(c.build([join(c, j!)]).applied.block.txs).toHaveLength(1); // block `until`: still counts
    c.accept(c.build().applied); // …but not one block later
    refused(c, [join(c, j!)], /holding 0 of 4/);
    expect(c.state.approvals?.[hex(j!)]).toBeUndefined(); // pruned
  });

  it('replayed approvals do not re-admit a node that left (they name its previous nonce)', () => {
    const { c, vals, others: [j] } = chain(4, 1);
    const old = vals.slice(0, 3).map((v) => approve(c, v, j!));
    c.accept(c.build([...old, join(c, j!, 5)]).applied);
    c.accept(c.build([sign(c, j!, { type: 'leave', node: j!.publicKey, nonce: 6 })]).applied);
    expect(c.state.validators).toHaveLength(4);
    refused(c, [old[0]!], /approval names join nonce 0, the joiner's last is 6/);
    refused(c, [join(c, j!, 7)], /holding 0 of 4/);
    // Fresh approvals for the next join (nonce 6) admit it again.
    c.accept(c.build([...vals.slice(0, 3).map((v) => approve(c, v, j!, { nonce: 6 })), join(c, j!, 7)]).applied);
    expect(c.state.validators).toHaveLength(5);
  });

  it('a validator holds at most MAX_OPEN_APPROVALS approvals; replacing one is fine', () => {
    const { c, vals, others } = chain(4, MAX_OPEN_APPROVALS + 1);
    const v = vals[0]!;
    c.accept(c.build(others.slice(0, MAX_OPEN_APPROVALS).map((o) => approve(c, v, o))).applied);
    refused(c, [approve(c, v, others[MAX_OPEN_APPROVALS]!)], /open approvals/);
    expect(c.build([approve(c, v, others[0]!, { until: c.state.height + 60 })]).applied.block.txs).toHaveLength(1);
    expect(c.build([approve(c, vals[1]!, others[MAX_OPEN_APPROVALS]!)]).applied.block.txs).toHaveLength(1);
  });

  it('the approvals of a validator that left no longer count', () => {
    const { c, vals, others: [j] } = chain(4, 1);
    c.accept(c.build(vals.slice(0, 3).map((v) => approve(c, v, j!))).applied);
    c.accept(c.build([sign(c, vals[2]!, { type: 'leave', node: vals[2]!.publicKey, nonce: 1 })]).applied);
    expect(Object.keys(c.state.approvals?.[hex(j!)] ?? {})).toHaveLength(2);
    // 2 of the remaining 3 is not more than 2/3.
    c.ks.splice(2, 1);
    refused(c, [join(c, j!)], /holding 2 of 3/);
  });

  it('snapshots made before admission existed (no approvals field) still apply', () => {
    const { c, vals, others: [j] } = chain(4, 1);
    const { approvals: _gone, ...old } = c.state;
    c.state = old;
    c.accept(c.build(vals.slice(0, 3).map((v) => approve(c, v, j!))).applied);
    expect(Object.keys(c.state.approvals?.[hex(j!)] ?? {})).toHaveLength(3);
  });
});

describe('leaving: never below a set that can decide', () => {
  const leave = (c: TestChain, k: Key, nonce = 1): Buffer => sign(c, k, { type: 'leave', node: k.publicKey, nonce });

  it('the last validator cannot leave: refused at the door and by the chain', () => {
    const { c, vals } = chain(1, 0);
    expect(membershipPrecheck(c.state, decodeTx(leave(c, vals[0]!)))?.fault).toBe('last-validator');
    refused(c, [leave(c, vals[0]!)], /last validator/);
  });

  it('a leave is refused when the other validators\' leaves are already waiting; accepted when someone stays', () => {
    const { c, vals } = chain(3, 0, [1, 3, 2]);
    const [a, b, d] = vals.map(hex) as [string, string, string];
    const tx = decodeTx(leave(c, vals[2]!));
    expect(membershipPrecheck(c.state, tx)).toBeNull();
    expect(membershipPrecheck(c.state, tx, new Set([a]))).toBeNull();
    expect(membershipPrecheck(c.state, tx, new Set([a, d]))).toBeNull(); // its own pending leave changes nothing
    const r = membershipPrecheck(c.state, tx, new Set([a, b]));
    expect(r?.fault).toBe('last-validator');
    expect(r?.details).toEqual({ validators: 3, leaving: 3 });
    // Two leaves in one block that would empty a two-validator set: the chain takes only the first.
    const two = chain(2, 0);
    refused(two.c, [leave(two.c, two.vals[0]!), leave(two.c, two.vals[1]!)], /last validator/);
  });
});
