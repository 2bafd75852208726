// Round timeouts, from the slot length (LUCID_SLOT_MS). The paper's timeoutX(r) = initX + r·Δ:
// a proposer gets half a slot (DESIGN §2: 5 s of a 10 s slot) before the next one takes over;
// prevote and precommit wait a tenth of a slot. Δ = slot/20, and the growth stops after 8
// rounds so that a long partition does not leave timeouts longer than the slot itself when the
// network heals (liveness only needs them to outgrow the real delay, which a LAN bounds).
import type { Timeouts } from './height-machine.js';

export const MAX_TIMEOUT_GROWTH_ROUNDS = 8;

export function timeoutsFor(slotMs: number): Timeouts {
  const delta = slotMs / 20;
  const grow = (r: number): number => Math.min(r, MAX_TIMEOUT_GROWTH_ROUNDS) * delta;
  return {
    propose: (r) => Math.round(slotMs / 2 + grow(r)),
    prevote: (r) => Math.round(slotMs / 10 + grow(r)),
    precommit: (r) => Math.round(slotMs / 10 + grow(r)),
  };
}
