// The harness must catch a credit bug: with the test flag that makes honest validators say "ok"
// to every storage answer without fetching the object, the cheater's answers for chunks it does
// not hold get paid — some seed must report a false credit, and the same seeds without the flag
// must not.
import { describe, expect, it } from 'vitest';
import { makeScenario } from './ledger/scenario.js';
import { runSeed } from './ledger/world.js';
import { lowPriority } from './ledger/suite.js';

describe('ledger simulation catches a verifier that trusts storage answers', () => {
  lowPriority();
  it('finds a false credit within a few dozen seeds', () => {
    let caught: { seed: number; violation: string } | null = null;
    for (let seed = 1; seed <= 200 && !caught; seed++) {
      const r = runSeed(makeScenario(seed, { trustBug: true }));
      const v = r.violations.find((x) => x.includes('false credit'));
      if (v) caught = { seed, violation: v };
    }
    expect(caught, 'trusting verifiers went unnoticed').not.toBeNull();
    console.log(`trust bug caught at seed ${caught!.seed}: ${caught!.violation}`);
    // Same schedule, verifiers that fetch and check: clean.
    expect(runSeed(makeScenario(caught!.seed)).violations).toEqual([]);
  }, 5 * 60_000);
});
