// Replays one seed with a trace: LEDGER_SIM_SEED=<n> [LEDGER_SIM_LOCK_BUG=1] ./build.sh test tests/sim/ledger-replay.test.ts
// Without LEDGER_SIM_SEED it replays seed 1 quietly (so the file is always a passing test).
import { describe, expect, it } from 'vitest';
import { makeScenario } from './ledger/scenario.js';
import { runSeed } from './ledger/world.js';

describe('ledger simulation replay', () => {
  it('replays one seed', () => {
    const seed = Number(process.env['LEDGER_SIM_SEED'] ?? 1);
    const verbose = process.env['LEDGER_SIM_SEED'] !== undefined;
    const scenario = makeScenario(seed, { lockBug: process.env['LEDGER_SIM_LOCK_BUG'] === '1' });
    if (verbose) console.log(JSON.stringify({ ...scenario, events: scenario.events.filter((e) => e.kind !== 'anchor') }));
    const r = runSeed(scenario, verbose ? (l) => console.log(l) : undefined);
    if (verbose) console.log(r);
    // Replaying twice gives the same run (the simulation is deterministic).
    expect(runSeed(makeScenario(seed, { lockBug: scenario.lockBug }))).toEqual(r);
    expect(r.violations).toEqual([]);
  }, 120_000);
});
