// Point 10 of issue 18: round timeouts must keep growing. Partial synchrony promises only that
// after some moment messages take at most an unknown Δ; Tendermint decides once its timeouts
// outgrow Δ. Here every message takes 1.3–1.7 slots, for ever (no heal): with the timeouts that
// stopped growing after round 8 (the proposer's wait capped at 0.9 slot) every round prevotes nil
// before the proposal arrives and nothing is ever decided; with growing timeouts (capped only at
// minutes, consensus/timeouts.ts) blocks are decided, safely, on the same deterministic network.
import { describe, expect, it } from 'vitest';
import { runSeed } from './ledger/world.js';
import type { Scenario } from './ledger/scenario.js';
import { lowPriority } from './ledger/suite.js';
import type { Timeouts } from '../../services/ledger/consensus/height-machine.js';

const SLOT = 1000;
const END_SLOTS = 200;
const steadyDelay = (seed: number): Scenario => ({
  seed, set: 'n4', slotMs: SLOT, validators: ['v0', 'v1', 'v2', 'v3'].map((name) => ({ name, power: 1 })), twins: [], instances: ['v0', 'v1', 'v2', 'v3'],
  delay: { min: 1.3 * SLOT, max: 1.7 * SLOT }, drop: 0, duplicate: 0, persistDelayMax: 0, events: [], healAt: 1e9, endAt: END_SLOTS * SLOT,
  lockBug: false, admission: null, liveness: 'none', clean: false, cheater: null, trustBug: false,
  emptyBlockIntervalMs: null, idleProbes: [], quietFrom: null, statements: false, statementLiar: null,
});

/** The schedule before this change: slot/20 per round, for 8 rounds, then flat. */
const cappedAtRound8: Timeouts = {
  propose: (r) => Math.round(SLOT / 2 + Math.min(r, 8) * SLOT / 20),
  prevote: (r) => Math.round(SLOT / 10 + Math.min(r, 8) * SLOT / 20),
  precommit: (r) => Math.round(SLOT / 10 + Math.min(r, 8) * SLOT / 20),
};

describe('round timeouts under a steady delay longer than a capped timeout', () => {
  lowPriority();
  it('growing timeouts decide blocks; timeouts capped at round 8 never do', () => {
    for (const seed of [1, 2]) {
      const grown = runSeed(steadyDelay(seed));
      expect(grown.violations).toEqual([]);
      expect(grown.firstBlockAt, `seed ${seed}: a block with growing timeouts`).not.toBeNull();
      console.log(`delay 1.3–1.7 slots, seed ${seed}: first block after ${(grown.firstBlockAt! / SLOT).toFixed(1)} slots, height ${grown.height} after ${END_SLOTS} slots`);
      const capped = runSeed(steadyDelay(seed), undefined, { timeouts: cappedAtRound8 });
      expect(capped.violations).toEqual([]);
      expect(capped.height, `seed ${seed}: capped timeouts decide nothing`).toBe(0);
    }
  }, 10 * 60_000);
});
