// Algorithm 1, rule by rule, on the pure height machine (values are strings; valid unless they
// start with "bad"). Powers are weighted where the > 2/3 boundary matters.
import { describe, expect, it } from 'vitest';
import { HeightMachine, type MachineOutput } from '../../../services/ledger/consensus/height-machine.js';
import { timeoutsFor } from '../../../services/ledger/consensus/timeouts.js';

type Out = MachineOutput<string>;

function machine(opts: { self?: string | null; powers?: Record<string, number>; proposers?: string[]; lockBug?: boolean; restore?: ConstructorParameters<typeof HeightMachine<string>>[1] } = {}) {
  const powers = opts.powers ?? { a: 1, b: 1, c: 1, d: 1 };
  const proposers = opts.proposers ?? ['a', 'b', 'c', 'd'];
  let fresh = 0;
  return new HeightMachine<string>({
    height: 5,
    self: opts.self === undefined ? 'a' : opts.self,
    power: (id) => powers[id] ?? 0,
    totalPower: Object.values(powers).reduce((x, y) => x + y, 0),
    proposer: (r) => proposers[r % proposers.length]!,
    id: (v) => v,
    valid: (v) => !v.startsWith('bad'),
    getValue: () => `fresh${fresh++}`,
    timeouts: timeoutsFor(1000),
    injectLockBug: opts.lockBug ?? false,
  }, opts.restore);
}

const votes = (outs: Out[]) => outs.filter((o) => o.kind === 'vote').map((o) => (o.kind === 'vote' ? `${o.type}:${o.round}:${o.valueId ?? 'nil'}` : ''));
const prevote = (from: string, round: number, v: string | null) => ({ type: 'prevote' as const, round, valueId: v, from });
const precommit = (from: string, round: number, v: string | null) => ({ type: 'precommit' as const, round, valueId: v, from });

describe('height machine (Algorithm 1)', () => {
  it('proposer proposes getValue() on start (lines 14–19); others schedule timeoutPropose (21)', () => {
    const m = machine({ self: 'a' });
    const outs = m.start();
    expect(outs).toContainEqual({ kind: 'propose', round: 0, value: 'fresh0', validRound: -1 });
    const n = machine({ self: 'b' });
    expect(n.start()).toContainEqual({ kind: 'schedule', step: 'propose', round: 0, delayMs: 500 });
  });

  it('happy path: prevote (22), lock and precommit (36), decide (49) with the precommits', () => {
    const m = machine({ self: 'b' });
    m.start();
    expect(votes(m.onProposal({ round: 0, value: 'v', validRound: -1, from: 'a' }))).toEqual(['prevote:0:v']);
    m.onVote(prevote('a', 0, 'v'));
    m.onVote(prevote('b', 0, 'v'));
    expect(votes(m.onVote(prevote('c', 0, 'v')))).toEqual(['precommit:0:v']);
    expect(m.lockedRound).toBe(0);
    expect(m.validValue).toBe('v');
    m.onVote(precommit('a', 0, 'v'));
    m.onVote(precommit('b', 0, 'v'));
    const outs = m.onVote(precommit('d', 0, 'v'));
    const d = outs.find((o) => o.kind === 'decide');
    expect(d && d.kind === 'decide' && d.value).toBe('v');
    expect(d && d.kind === 'decide' && d.precommits.map((p) => p.from).sort()).toEqual(['a', 'b', 'd']);
    expect(m.onVote(precommit('c', 0, 'v'))).toEqual([]); // decided: nothing more
  });

  it('ignores proposals not from proposer(h, r) and prevotes nil for invalid values', () => {
    const m = machine({ self: 'b' });
    m.start();
    expect(m.onProposal({ round: 0, value: 'v', validRound: -1, from: 'c' })).toEqual([]);
    expect(votes(m.onProposal({ round: 0, value: 'bad', validRound: -1, from: 'a' }))).toEqual(['prevote:0:nil']);
  });

  it('a quorum is more than 2/3 of the power, not 2/3: 4 of 6 is not enough, 5 is', () => {
    const m = machine({ self: 'a', powers: { a: 1, b: 1, c: 1, d: 3 }, proposers: ['d'] });
    m.start();
    m.onProposal({ round: 0, value: 'v', validRound: -1, from: 'd' });
    m.onVote(prevote('a', 0, 'v'));
    expect(votes(m.onVote(prevote('d', 0, 'v')))).toEqual([]); // 1 + 3 = 4 = exactly 2/3
    expect(votes(m.onVote(prevote('b', 0, 'v')))).toEqual(['precommit:0:v']); // 5 > 4
  });

  it('prevote timeout after 2f+1 prevotes of any kind (34), precommit nil on its expiry (61); nil quorum precommits nil (44)', () => {
    const m = machine({ self: 'b' });
    m.start();
    m.onProposal({ round: 0, value: 'v', validRound: -1, from: 'a' });
    m.onVote(prevote('a', 0, 'v'));
    const outs = m.onVote(prevote('c', 0, null)).concat(m.onVote(prevote('b', 0, 'v')));
    expect(outs).toContainEqual({ kind: 'schedule', step: 'prevote', round: 0, delayMs: 100 });
    expect(votes(m.onTimeout('prevote', 0))).toEqual(['precommit:0:nil']);
    const n = machine({ self: 'b' });
    n.start();
    n.onTimeout('propose', 0);
    n.onVote(prevote('a', 0, null));
    n.onVote(prevote('c', 0, null));
    expect(votes(n.onVote(prevote('b', 0, null)))).toEqual(['precommit:0:nil']);
  });

  it('precommit timeout after 2f+1 precommits of any kind (47) starts the next round (65); timeouts grow per round', () => {
    const m = machine({ self: 'c' });
    m.start();
    m.onVote(precommit('a', 0, null));
    m.onVote(precommit('b', 0, 'x'));
    const outs = m.onVote(precommit('d', 0, null));
    expect(outs).toContainEqual({ kind: 'schedule', step: 'precommit', round: 0, delayMs: 100 });
    const next = m.onTimeout('precommit', 0);
    expect(m.round).toBe(1);
    expect(next).toContainEqual({ kind: 'schedule', step: 'propose', round: 1, delayMs: 550 });
    const t = timeoutsFor(1000);
    expect([t.propose(0), t.propose(1), t.propose(4), t.propose(8), t.propose(50)]).toEqual([500, 550, 700, 900, 3000]);
  });

  it('f+1 messages of a higher round make it skip there (55); exactly 1/3 does not', () => {
    const m = machine({ self: 'a', powers: { a: 1, b: 1, c: 1, d: 3 } });
    m.start();
    m.onVote(prevote('b', 7, null));
    m.onVote(prevote('c', 7, null));
    expect(m.round).toBe(0); // 2 of 6 = exactly 1/3
    m.onVote(precommit('d', 7, null));
    expect(m.round).toBe(7);
  });

  it('a locked process prevotes nil for another value without a newer proof-of-lock (23, 29)', () => {
    const m = machine({ self: 'b' });
    m.start();
    m.onProposal({ round: 0, value: 'v', validRound: -1, from: 'a' });
    for (const f of ['a', 'b', 'c']) m.onVote(prevote(f, 0, 'v'));
    expect(m.lockedRound).toBe(0);
    for (const f of ['a', 'c', 'd']) m.onVote(precommit(f, 0, null));
    m.onTimeout('precommit', 0);
    expect(m.round).toBe(1);
    // Round 1: b proposes; its validValue is v, so it re-proposes v with validRound 0.
    // Round 2 (proposer c) proposes w fresh: locked on v → nil.
    for (const f of ['a', 'c', 'd']) m.onVote(precommit(f, 1, null));
    m.onTimeout('precommit', 1);
    expect(votes(m.onProposal({ round: 2, value: 'w', validRound: -1, from: 'c' }))).toEqual(['prevote:2:nil']);
  });

  it('a newer proof-of-lock (lockedRound ≤ vr < round) lets a locked process prevote the new value (28–29)', () => {
    const m = machine({ self: 'b' });
    m.start();
    m.onProposal({ round: 0, value: 'v', validRound: -1, from: 'a' });
    for (const f of ['a', 'b', 'c']) m.onVote(prevote(f, 0, 'v'));
    for (const f of ['a', 'c', 'd']) m.onVote(precommit(f, 0, null));
    m.onTimeout('precommit', 0);
    // Round 1: w gathers 2f+1 prevotes (b missed the proposal and prevoted nil).
    m.onTimeout('propose', 1);
    for (const f of ['a', 'c', 'd']) m.onVote(prevote(f, 1, 'w'));
    for (const f of ['a', 'c', 'd']) m.onVote(precommit(f, 1, null));
    m.onTimeout('precommit', 1);
    // Round 2: c re-proposes w with validRound 1 ≥ lockedRound 0.
    expect(votes(m.onProposal({ round: 2, value: 'w', validRound: 1, from: 'c' }))).toEqual(['prevote:2:w']);
    // Without the POL the same re-proposal would have been refused: check on a fresh machine.
    const n = machine({ self: 'b', restore: { round: 2, step: 'propose', lockedRound: 1, lockedId: 'v', lockedValue: 'v' } });
    n.start();
    for (const f of ['a', 'c', 'd']) n.onVote(prevote(f, 0, 'w'));
    expect(votes(n.onProposal({ round: 2, value: 'w', validRound: 0, from: 'c' }))).toEqual(['prevote:2:nil']); // vr 0 < lockedRound 1
  });

  it('the injected lock bug prevotes against the lock (the simulator must catch this)', () => {
    const m = machine({ self: 'b', lockBug: true, restore: { round: 2, step: 'propose', lockedRound: 0, lockedId: 'v', lockedValue: 'v' } });
    m.start();
    expect(votes(m.onProposal({ round: 2, value: 'w', validRound: -1, from: 'c' }))).toEqual(['prevote:2:w']);
  });

  it('after a restart: resumes the round and step, keeps the lock, re-proposes the locked value as its valid value', () => {
    const m = machine({ self: 'c', restore: { round: 2, step: 'propose', lockedRound: 1, lockedId: 'v', lockedValue: 'v' } });
    const outs = m.start();
    expect(outs).toContainEqual({ kind: 'propose', round: 2, value: 'v', validRound: 1 });
    const n = machine({ self: 'b', restore: { round: 3, step: 'precommit', lockedRound: 3, lockedId: 'v', lockedValue: null } });
    expect(votes(n.start())).toEqual([]);
    expect(n.step).toBe('precommit');
  });

  it('an equivocating validator counts for both values (the paper counts signed messages)', () => {
    const m = machine({ self: 'b' });
    m.start();
    m.onProposal({ round: 0, value: 'v', validRound: -1, from: 'a' });
    m.onVote(prevote('d', 0, 'x')); // d equivocates: first x…
    m.onVote(prevote('a', 0, 'v'));
    m.onVote(prevote('b', 0, 'v'));
    expect(votes(m.onVote(prevote('d', 0, 'v')))).toEqual(['precommit:0:v']); // …then v: a, b, d sign v
  });

  it('followers (self = null) never propose or vote but still decide', () => {
    const m = machine({ self: null });
    expect(votes(m.start())).toEqual([]);
    m.onProposal({ round: 0, value: 'v', validRound: -1, from: 'a' });
    for (const f of ['a', 'b', 'c']) m.onVote(precommit(f, 0, 'v'));
    expect(m.decision?.value).toBe('v');
  });
});
