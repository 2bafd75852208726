// The harness must catch a lock bug: with the test flag that makes honest nodes prevote against
// their lock (lines 23/29 of Algorithm 1 without the lock condition), some seed must report a
// lock-discipline violation — and the same seeds without the flag must not.
import { describe, expect, it } from 'vitest';
import { makeScenario } from './ledger/scenario.js';
import { runSeed } from './ledger/world.js';
import { lowPriority, replayCommand } from './ledger/suite.js';

describe('ledger simulation catches an injected lock bug', () => {
  lowPriority();
  it('finds a lock-discipline violation within a few hundred seeds', () => {
    let caught: { seed: number; violation: string } | null = null;
    for (let seed = 1; seed <= 600 && !caught; seed++) {
      const r = runSeed(makeScenario(seed, { lockBug: true }));
      const v = r.violations.find((x) => x.includes('lock discipline'));
      if (v) caught = { seed, violation: v };
    }
    expect(caught, 'the injected lock bug went unnoticed').not.toBeNull();
    console.log(`lock bug caught at seed ${caught!.seed}: ${caught!.violation}\n  replay: ${replayCommand(caught!.seed, true)}`);
    // Same schedule, correct code: clean.
    expect(runSeed(makeScenario(caught!.seed)).violations).toEqual([]);
  }, 10 * 60_000);
});
