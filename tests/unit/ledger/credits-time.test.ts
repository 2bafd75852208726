// Validation and uptime credits from the commit signatures blocks carry, uptime in time (not in
// blocks), epoch boundaries and the per-epoch caps (README "Work credits").
import { describe, expect, it } from 'vitest';
import { checkAndApply, InvalidBlock } from '../../../services/ledger/chain/apply.js';
import { RecentAnchorIndex } from '../../../services/ledger/chain/recent-anchors.js';
import { decodeTx } from '../../../services/ledger/codec/tx.js';
import { credits, epochOf, scoreOf } from '../../../services/ledger/chain/state.js';
import { commitFor, verifier } from './chain-kit.js';
import { CreditChain, hex, session } from './credits-kit.js';

const T0 = 1_000_000_000_000; // the kit's genesis time

describe('work credits: validation and uptime', () => {
  it('validation credits come only from commit signatures in blocks; there is nothing to claim them with', () => {
    const c = new CreditChain();
    const [a, b, cc, d] = c.ks as [typeof c.ks[0], typeof c.ks[0], typeof c.ks[0], typeof c.ks[0]];
    c.block();
    c.block([], { signers: [a, b, cc] }); // block 2 carries all four precommits of block 1; d does not sign block 2
    c.block();
    const commits = (k: typeof a) => c.totals(k).validation;
    expect([commits(a), commits(d)]).toEqual([2, 1]);
    // A commit with a signature d never made makes the block invalid; so does a stranger's.
    const built = c.build();
    const forged = { ...c.lastCommit!, signatures: c.lastCommit!.signatures.map((s) => (s.validator.equals(d.publicKey) ? { ...s, signature: Buffer.from(s.signature).fill(7, 0, 8) } : s)) };
    c.lastCommit = forged;
    expect(() => c.build()).toThrow(InvalidBlock);
    c.lastCommit = commitFor(c.state.chainId, c.state.height, 0, Buffer.from(c.state.headHash, 'hex'), [a, b, cc, new CreditChain(5).ks[4]!]);
    expect(() => c.build()).toThrow(/not a validator/);
    expect(built.applied.state.height).toBe(4);
    // No work transaction kind claims validation or uptime: kinds other than answer/verdicts do not decode.
    const claim = Buffer.concat([Buffer.of(2, 2), d.publicKey, Buffer.of(5), Buffer.alloc(8), Buffer.alloc(64)]);
    expect(() => decodeTx(claim)).toThrow(/work kind/);
  });

  it('uptime is the time each commit signature vouches for, capped per gap, split at epoch boundaries; an epoch closes for good', () => {
    // Epochs of one minute: genesis T0 lies 40 s into its epoch, the next starts at T0 + 20 s.
    const c = new CreditChain(4, { epochMs: 60_000, windowMs: 600_000, uptimeMaxGapMs: 30_000 });
    const [a, , , d] = c.ks;
    const E0 = epochOf(c.state.params, T0);
    expect((E0 + 1) * 60_000).toBe(T0 + 20_000);
    const times = [T0 + 10_000, T0 + 15_000, T0 + 25_000, T0 + 35_000, T0 + 135_000, T0 + 139_000];
    c.block([], { time: times[0] }); // h1
    c.block([], { time: times[1], signers: c.ks.filter((k) => k !== d) }); // h2 carries h1's commit (all) — d does not sign h2
    c.block([], { time: times[2] }); // h3: carries h2's commit (without d), the first block of E0 + 1
    expect(c.state.epochs[String(E0)]!.closedBy).toBeNull(); // h4 may still add to E0
    c.block([], { time: times[3] }); // h4: carries h3's commit, (T0+15, T0+25] = 5 s in E0, 5 s in E0+1
    expect(c.state.epochs[String(E0)]!.closedBy).toBe(4);
    c.block([], { time: times[4] }); // h5: carries h4's commit: (T0+25, T0+35]
    c.block([], { time: times[5] }); // h6: carries h5's commit: 100 s since h4, capped to 30 s: (T0+105, T0+135]
    const ep = (e: number) => c.state.epochs[String(e)]!;
    // a signed every commit: E0 gets (T0, T0+10] + (T0+10, T0+15] + (T0+15, T0+20] = 20 s.
    expect(ep(E0).nodes[hex(a!)]!.uptimeMs).toBe(20_000);
    expect(ep(E0).nodes[hex(d!)]!.uptimeMs).toBe(15_000); // not h2's 5 s
    expect(ep(E0).chainMs).toBe(20_000);
    // E0 + 1 = [T0+20, T0+80): (T0+20, T0+25] + (T0+25, T0+35] = 15 s; E0 + 2: (T0+105, T0+135] = 30 s.
    expect(ep(E0 + 1).nodes[hex(a!)]!.uptimeMs).toBe(15_000);
    expect(ep(E0 + 2).nodes[hex(a!)]!.uptimeMs).toBe(30_000);
    expect(ep(E0 + 1).closedBy).toBe(6);
    // Validation is counted in the epoch of the block that carries the commit.
    expect(ep(E0).nodes[hex(a!)]!.validation).toBe(1); // h1 carries no commit
    expect(ep(E0 + 1).nodes[hex(a!)]!.validation).toBe(2);
    expect(ep(E0 + 2).nodes[hex(a!)]!.validation).toBe(2);
  });

  it('uptime does not grow with the number of blocks: an idle hour in two blocks counts as much as 360 blocks', () => {
    const busy = new CreditChain(4);
    busy.block();
    for (let i = 0; i < 361; i++) busy.block();
    const idle = new CreditChain(4);
    idle.block();
    idle.block([], { time: idle.state.headTime + 3_600_000 });
    idle.block([], { time: idle.state.headTime + 3_600_000 });
    const k = busy.ks[0]!;
    // busy: the commits of blocks 1..361 vouch for (T0, T0 + 3610 s]; idle: (T0, T0 + 10 s] + one capped hour.
    expect(busy.totals(k).uptimeMs).toBe(3_610_000);
    expect(idle.totals(idle.ks[0]!).uptimeMs).toBe(3_610_000);
    expect(busy.totals(k).validation).toBe(361);
    expect(idle.totals(idle.ks[0]!).validation).toBe(2);
    // The score weighs credits by uptime (ms), an exact integer.
    const s = scoreOf(idle.state, hex(idle.ks[0]!));
    expect(s.weight).toBe(s.credits * 3_610_000);
  });

  it('per-epoch caps: counts keep the truth, credits stop at relayCap, storageCap and validationCap', () => {
    const c = new CreditChain(4, { relayCap: 3, storageCap: 2, validationCap: 5, challengePeriodMs: 10_000 });
    c.block();
    const storer = c.notProposer();
    const ss = Array.from({ length: 5 }, (_, i) => session(i + 1, 1000));
    c.block(ss.map((s) => c.anchor(storer, s)));
    for (let i = 0; i < 30; i++) {
      const txs: Buffer[] = [];
      for (const ch of c.challenges(storer)) {
        if (!ch.answer) txs.push(c.answer(storer, ch, ss.find((s) => s.manifestHash === ch.manifest)!));
        else txs.push(...c.judge(ch, c.ks.filter((k) => k !== storer)));
      }
      c.block(txs);
    }
    const t = c.totals(storer);
    expect(t.relaySessions).toBe(5);
    expect(t.storage).toBeGreaterThan(2);
    expect(t.validation).toBeGreaterThan(5);
    expect(credits(t, c.state.params)).toEqual({ relay: 3, storage: 2, validation: 5, total: 10 });
  });

  it('a block that applies on one state gives the same epoch records everywhere (a pure function of state and block)', () => {
    const c = new CreditChain();
    c.block();
    const storer = c.notProposer();
    c.block([c.anchor(storer, session(1, 5000))]);
    const b = c.build();
    const again = checkAndApply(c.state, b.bytes, { verifier, recentAnchors: c.anchors });
    expect(JSON.stringify(again.state)).toBe(JSON.stringify(b.applied.state));
  });

  it('the state does not depend on anchors older than the window that one node\'s index still holds and another\'s pruned', () => {
    const c = new CreditChain(4, { epochMs: 60_000, windowMs: 120_000, challengePeriodMs: 3_600_000 });
    c.block();
    const storer = c.notProposer();
    c.block([c.anchor(storer, session(1, 1000))]);
    for (let i = 0; i < 3 && c.challenges(storer, 'audit').length === 0; i++) c.block();
    expect(c.state.nextAuditAt[hex(storer)]).toBeGreaterThan(c.state.headTime);
    // Four minutes later the anchor is out of the window; the next audit is still an hour away.
    c.block([], { time: c.state.headTime + 240_000 });
    const lingering = new RecentAnchorIndex();
    lingering.add([c.anchors.get(session(1, 1000).manifestHash)!]);
    const pruned = new RecentAnchorIndex();
    const b = c.build();
    const a1 = checkAndApply(c.state, b.bytes, { verifier, recentAnchors: lingering });
    const a2 = checkAndApply(c.state, b.bytes, { verifier, recentAnchors: pruned });
    expect(JSON.stringify(a1.state)).toBe(JSON.stringify(a2.state));
    expect(a1.state.nextAuditAt[hex(storer)]).toBe(c.state.nextAuditAt[hex(storer)]);
  });
});
