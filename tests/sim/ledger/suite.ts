// The simulation suite, split in shards so vitest runs them on both cores. Default: 1,000 seeds
// in total (N = 4, 7 and weighted 5/6; partitions, drops, duplicates, reordering, crashes and
// restarts, Twins; in every seed validator admission: Sybil floods of joins, forged and
// insufficient approvals, byzantine proposals carrying unapproved joins, and in ~80 % a legit
// join approved by the honest validators; storage challenges everywhere and, in half the seeds,
// a validator claiming work it did not do; in half the seeds idle heights with a quiet tail; in
// ~3/4 payout statements of closed epochs and, in most of those, a proposer putting false ones
// in its blocks). LEDGER_SIM_SEEDS=100000 for the long run;
// LEDGER_SIM_SEED=<n> replays one.
import { expect, it } from 'vitest';
import { lowPriority } from '../../helpers/priority.js';
import { makeScenario } from './scenario.js';
import { runSeed, type SeedResult } from './world.js';

export const TOTAL_SEEDS = Number(process.env['LEDGER_SIM_SEEDS'] ?? 1000);
const FIRST_SEED = Number(process.env['LEDGER_SIM_FIRST'] ?? 1);

export function replayCommand(seed: number, lockBug = false): string {
  return `LEDGER_SIM_SEED=${seed}${lockBug ? ' LEDGER_SIM_LOCK_BUG=1' : ''} ./build.sh test tests/sim/ledger-replay.test.ts   # or: npx tsx tests/sim/ledger/replay.ts ${seed}${lockBug ? ' --lock-bug' : ''}`;
}

export function shardSeeds(shard: number, shards: number): number[] {
  const seeds: number[] = [];
  for (let s = FIRST_SEED + shard; s < FIRST_SEED + TOTAL_SEEDS; s += shards) seeds.push(s);
  return seeds;
}

export function simulationShard(shard: number, shards: number): void {
  lowPriority();
  const seeds = shardSeeds(shard, shards);
  it(`${seeds.length} seeded fault schedules keep every invariant (shard ${shard + 1}/${shards})`, () => {
    const failures: string[] = [];
    const mix = {
      n4: 0, n7: 0, w5: 0, w6: 0, twins: 0, crashes: 0, anchors: 0, heights: 0, sybilFloods: 0, sybilMessages: 0, joins: 0,
      relayCredited: 0, storageCredited: 0, cheaters: 0, clean: 0, idle: 0, probes: 0, probeMaxMs: 0,
      statementSeeds: 0, statementsFinal: 0, liarSeeds: 0, falseStatements: 0,
    };
    const cheats: Record<string, number> = { forge: 0, leaf: 0, replay: 0, late: 0, vote: 0 };
    const started = performance.now();
    for (const seed of seeds) {
      let r: SeedResult;
      try {
        const scenario = makeScenario(seed);
        if (scenario.clean) mix.clean++;
        r = runSeed(scenario);
      } catch (err) {
        failures.push(`seed ${seed} threw ${(err as Error).stack}\n  replay: ${replayCommand(seed)}`);
        continue;
      }
      mix[r.set as 'n4']++;
      if (r.twins > 0) mix.twins++;
      if (r.crashes > 0) mix.crashes++;
      mix.anchors += r.anchorsFinal;
      mix.heights += r.height;
      if (r.sybilMessages > 0) mix.sybilFloods++;
      mix.sybilMessages += r.sybilMessages;
      if (r.joinedAt !== null) mix.joins++;
      mix.relayCredited += r.credited.relay;
      mix.storageCredited += r.credited.storage;
      if (r.cheats) {
        mix.cheaters++;
        for (const [k, v] of Object.entries(r.cheats)) cheats[k] = (cheats[k] ?? 0) + v;
      }
      if (r.idle) {
        mix.idle++;
        mix.probes += r.idle.probeMs.length;
        mix.probeMaxMs = Math.max(mix.probeMaxMs, ...r.idle.probeMs);
      }
      if (r.statements) {
        mix.statementSeeds++;
        mix.statementsFinal += r.statements.final;
        if (r.statements.lies > 0) mix.liarSeeds++;
        mix.falseStatements += r.statements.lies;
      }
      if (r.violations.length > 0) failures.push(`seed ${seed} (${r.set}): ${r.violations.join('; ')}\n  replay: ${replayCommand(seed)}`);
    }
    const ms = Math.round(performance.now() - started);
    console.log(`ledger simulation shard ${shard + 1}/${shards}: ${seeds.length} seeds in ${ms} ms, ${failures.length} failing; mix ${JSON.stringify(mix)}; cheats ${JSON.stringify(cheats)}`);
    for (const f of failures.slice(0, 20)) console.error(f);
    expect(failures, failures.slice(0, 5).join('\n')).toEqual([]);
    // The mix really contains every kind of schedule the issue asks for.
    if (seeds.length >= 200) {
      expect(mix.n4 > 0 && mix.n7 > 0 && mix.w5 > 0 && mix.w6 > 0).toBe(true);
      expect(mix.twins).toBeGreaterThan(seeds.length / 10);
      expect(mix.crashes).toBeGreaterThan(seeds.length / 10);
      expect(mix.anchors).toBeGreaterThan(seeds.length);
      // Every seed floods Sybil joins; most also admit a joiner (each one checked in runSeed).
      expect(mix.sybilFloods).toBe(seeds.length);
      expect(mix.joins).toBeGreaterThan(seeds.length / 2);
      // Credits were really earned, and the cheater really tried every trick (none paid: 0 violations).
      expect(mix.relayCredited).toBeGreaterThan(seeds.length);
      expect(mix.storageCredited).toBeGreaterThan(seeds.length / 2);
      expect(mix.cheaters).toBeGreaterThan(seeds.length / 4);
      expect(mix.clean).toBeGreaterThan(seeds.length / 25); // schedules where every settled session must have earned its credit
      for (const k of Object.keys(cheats)) expect(cheats[k], `cheat ${k}`).toBeGreaterThan(seeds.length / 20);
      // Idle heights (issue 24): about half the seeds, each with probe anchors arriving while idle.
      expect(mix.idle).toBeGreaterThan(seeds.length / 4);
      expect(mix.probes).toBeGreaterThanOrEqual(mix.idle);
      // Payout statements (issue 23): final in most statement seeds, and a dishonest proposer
      // really proposed false ones (none final: 0 violations).
      expect(mix.statementsFinal).toBeGreaterThan(mix.statementSeeds);
      // (A lie needs the liar to propose while a statement is due, or to restate: ~1/4 of the seeds.)
      expect(mix.liarSeeds).toBeGreaterThan(seeds.length / 8);
    }
  }, 30 * 60_000);
}

export { lowPriority };
