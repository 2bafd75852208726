// What idle heights (issue 24) must keep, checked at the end of an idle seed's run:
//   - a transaction arriving while the chain is idle is final within 2 slots of its arrival
//     (4 when twins are about: a byzantine round-0 proposer costs a round, as it does without idling);
//   - the quiet tail decides no empty height before the heartbeat is due, except at most one per
//     height that carried a transaction (a node that started on work whose transaction the
//     proposer had not yet received proposes an empty block), and the heartbeat keeps it alive:
//     no gap between blocks longer than the interval and 3 slots, up to the end of the run.
import type { Invariants } from './invariants.js';
import type { Scenario } from './scenario.js';

export interface IdleFigures { readonly quietBlocks: number; readonly quietEmpty: number; readonly earlyEmpty: number; readonly probeMs: number[] }

export function checkIdle(
  inv: Invariants, s: Scenario, probes: ReadonlyMap<string, { submitted: number; final: number | null }>,
  blocks: ReadonlyMap<number, { time: number; txs: number }>, end: number, offset: number,
): IdleFigures {
  const interval = s.emptyBlockIntervalMs!;
  const probeMs: number[] = [];
  const limit = (s.twins.length > 0 ? 4 : 2) * s.slotMs;
  for (const [m, p] of probes) {
    if (p.final === null) inv.fail(`idle: probe anchor ${m.slice(0, 8)} submitted at t=${p.submitted} never became final`);
    else {
      probeMs.push(p.final - p.submitted);
      if (p.final - p.submitted > limit) inv.fail(`idle: probe anchor ${m.slice(0, 8)} final ${p.final - p.submitted} ms after it arrived (> ${limit / s.slotMs} slots)`);
    }
  }
  const quietFrom = s.quietFrom! + offset;
  const heights = [...blocks.keys()].sort((a, b) => a - b);
  let quietBlocks = 0;
  let quietEmpty = 0;
  let earlyEmpty = 0;
  let withTxs = 0;
  let lastTime = -1;
  for (const h of heights) {
    const b = blocks.get(h)!;
    const prev = blocks.get(h - 1);
    if (b.time <= quietFrom) { lastTime = b.time; continue; }
    quietBlocks++;
    if (b.txs > 0) withTxs++;
    else {
      quietEmpty++;
      if (prev && b.time < prev.time + interval) earlyEmpty++;
    }
    if (lastTime >= 0 && b.time - Math.max(lastTime, quietFrom) > interval + 3 * s.slotMs) inv.fail(`idle: no block for ${b.time - lastTime} ms before h${h} (heartbeat ${interval} ms)`);
    lastTime = b.time;
  }
  if (lastTime >= 0 && end - Math.max(lastTime, quietFrom) > interval + 3 * s.slotMs) inv.fail(`idle: no block for the last ${end - lastTime} ms of the run (heartbeat ${interval} ms)`);
  if (earlyEmpty > withTxs) inv.fail(`idle: ${earlyEmpty} empty heights before the heartbeat was due in the quiet tail, with only ${withTxs} heights carrying transactions`);
  return { quietBlocks, quietEmpty, earlyEmpty, probeMs };
}
