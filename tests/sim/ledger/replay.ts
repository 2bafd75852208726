// npx tsx tests/sim/ledger/replay.ts <seed> [--lock-bug]: one schedule with a full trace.
import { makeScenario } from './scenario.js';
import { runSeed } from './world.js';

const seed = Number(process.argv[2]);
if (!Number.isInteger(seed)) {
  console.error('usage: npx tsx tests/sim/ledger/replay.ts <seed> [--lock-bug]');
  process.exit(2);
}
const scenario = makeScenario(seed, { lockBug: process.argv.includes('--lock-bug') });
console.log(JSON.stringify({ ...scenario, events: scenario.events.filter((e) => e.kind !== 'anchor') }));
const r = runSeed(scenario, (line) => console.log(line));
console.log(JSON.stringify(r, null, 2));
process.exit(r.violations.length > 0 ? 1 : 0);
