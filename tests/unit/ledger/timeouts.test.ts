// Round timeouts keep growing with the round (the paper's liveness argument needs them to outgrow
// any delay the network settles at), linearly by slot/20, up to a cap of minutes. They used to
// stop growing after round 8 (0.9 slot for the proposer): tests/sim/ledger-timeouts.test.ts
// shows a chain that never decides under a steady delay above that, and decides with growth.
import { describe, expect, it } from 'vitest';
import { TIMEOUT_CAP_MS, timeoutsFor } from '../../../services/ledger/consensus/timeouts.js';

describe('round timeouts', () => {
  it('grow by slot/20 per round past round 8, every step', () => {
    for (const slot of [1000, 10_000]) {
      const t = timeoutsFor(slot);
      for (const step of ['propose', 'prevote', 'precommit'] as const) {
        const base = step === 'propose' ? slot / 2 : slot / 10;
        for (const r of [0, 1, 8, 9, 20, 100, 500]) expect(t[step](r), `${step}(${r}) at slot ${slot}`).toBe(Math.round(base + (r * slot) / 20));
        expect(t[step](9)).toBeGreaterThan(t[step](8));
      }
    }
  });

  it('are capped at minutes, never more, and never shrink', () => {
    expect(TIMEOUT_CAP_MS).toBe(300_000);
    const t = timeoutsFor(10_000);
    let prev = 0;
    for (let r = 0; r < 1000; r++) {
      const v = t.propose(r);
      expect(v).toBeGreaterThanOrEqual(prev);
      expect(v).toBeLessThanOrEqual(TIMEOUT_CAP_MS);
      prev = v;
    }
    // 10 s slot: the proposer's wait reaches the cap at round (300 − 5) / 0.5 = 590.
    expect([t.propose(589), t.propose(590), t.propose(10_000)]).toEqual([299_500, 300_000, 300_000]);
    expect(t.prevote(1_000_000)).toBe(TIMEOUT_CAP_MS);
  });
});
