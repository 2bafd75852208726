// Deterministic consensus simulation, shard 1 of 2 (see ledger/suite.ts and ledger/world.ts).
import { describe } from 'vitest';
import { simulationShard } from './ledger/suite.js';

describe('ledger simulation', () => {
  simulationShard(0, 2);
});
