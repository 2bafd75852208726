// Deterministic consensus simulation, shard 2 of 2 (see ledger/suite.ts and ledger/world.ts).
import { describe } from 'vitest';
import { simulationShard } from './ledger/suite.js';

describe('ledger simulation', () => {
  simulationShard(1, 2);
});
