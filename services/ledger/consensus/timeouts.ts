// Round timeouts, from the slot length (LUCID_SLOT_MS). The paper's timeoutX(r) = initX + r·Δ:
// a proposer gets half a slot (DESIGN §2: 5 s of a 10 s slot) before the next one takes over;
// prevote and precommit wait a tenth of a slot; Δ = slot/20.
//
// They keep growing with the round, up to TIMEOUT_CAP_MS. The liveness argument of the paper
// (and of DLS partial synchrony) needs that: after the network stabilises, messages take up to
// some unknown bound, and only timeouts that eventually exceed it let a round finish. A cap at
// round 8 (what this file did before) made the proposer's wait 0.9 slot at most: a link slower
// than that — a congested Wi-Fi hop, a Pi with its SD card stalling — would prevote nil forever
// (tests/sim/ledger-timeouts.test.ts shows both). The cap is minutes, not a slot: any delay
// below it is outgrown, and a round never waits longer than that after a long partition.
// Rounds restart at 0 every height, so the growth costs nothing once a block is decided.
import type { Timeouts } from './height-machine.js';

/** No single step waits longer than this (5 minutes), whatever the round. */
export const TIMEOUT_CAP_MS = 5 * 60_000;

export function timeoutsFor(slotMs: number): Timeouts {
  const delta = slotMs / 20;
  const grow = (base: number, r: number): number => Math.round(Math.min(TIMEOUT_CAP_MS, base + Math.max(0, r) * delta));
  return {
    propose: (r) => grow(slotMs / 2, r),
    prevote: (r) => grow(slotMs / 10, r),
    precommit: (r) => grow(slotMs / 10, r),
  };
}
