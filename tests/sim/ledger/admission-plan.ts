// Validator admission in the simulator, drawn from the seed with its own generator (the base
// fault schedule of a seed stays what it was):
//   sybil waves     fresh keys send self-signed joins, approvals of each other, approvals forged
//                   in a validator's name, votes of their own and votes forged in a validator's
//                   name, to a random node, several times during the run;
//   half approvals  honest validators holding at most 2/3 of the power approve key K, which keeps
//                   asking to join;
//   twins           byzantine validators approve Sybils, and (when `tamper`) put the Sybils' and
//                   K's joins into the blocks they propose;
//   a legit join    (when `joiner`) node J, running from the start as a follower, is approved by
//                   every honest validator (more than 2/3 of the power: twins hold less than 1/3),
//                   whose admins re-approve every slot until their approval is on chain; J asks
//                   to join once its own chain shows enough approvals.
// The set may change only by J joining, at one height for every honest node, and J must have
// joined before the end (world.ts, invariants.ts).
import { Rng } from './rng.js';

export interface SybilWave {
  readonly at: number;
  readonly node: string;
  readonly sybils: number;
}

export interface AdmissionPlan {
  readonly joiner: { readonly name: 'j'; readonly power: number } | null;
  /** From then on the approving admins check every slot. */
  readonly approveFrom: number;
  readonly approveJ: readonly string[];
  readonly approveK: readonly string[];
  /** Twin instances that approve Sybils. */
  readonly twinApprovers: readonly string[];
  readonly waves: readonly SybilWave[];
  readonly tamper: boolean;
  /** The side of each partition J is on (index into the partition's groups), in event order. */
  readonly joinerSides: readonly number[];
}

export interface BaseFacts {
  readonly validators: ReadonlyArray<{ readonly name: string; readonly power: number }>;
  readonly twins: readonly string[];
  readonly instances: readonly string[];
  readonly partitions: number;
  readonly healAt: number;
  readonly endAt: number;
}

export const SIM_MAX_JOIN_POWER = 2;

export function makeAdmissionPlan(seed: number, b: BaseFacts): AdmissionPlan {
  const rng = new Rng(seed ^ 0xad315);
  const total = b.validators.reduce((a, v) => a + v.power, 0);
  const honest = b.validators.filter((v) => !b.twins.includes(v.name));
  // K: honest approvers, greedily, while their power stays ≤ 2/3 (the boundary itself in some sets).
  const approveK: string[] = [];
  let kPower = 0;
  for (const v of rng.shuffle([...honest])) {
    if (3 * (kPower + v.power) <= 2 * total) {
      approveK.push(v.name);
      kPower += v.power;
    }
  }
  const twinApprovers = b.twins.flatMap((t) => (rng.chance(0.7) ? [`${t}${rng.pick(['a', 'b'])}`] : []));
  const waves = Array.from({ length: rng.int(1, 4) }, () => ({ at: rng.int(0, b.endAt - 500), node: rng.pick(b.instances), sybils: rng.int(3, 25) }))
    .sort((x, y) => x.at - y.at);
  const joins = rng.chance(0.8);
  return {
    joiner: joins ? { name: 'j', power: rng.int(1, SIM_MAX_JOIN_POWER) } : null,
    approveFrom: rng.int(0, b.healAt),
    approveJ: honest.map((v) => v.name),
    approveK,
    twinApprovers,
    waves,
    tamper: b.twins.length > 0 && rng.chance(0.6),
    joinerSides: Array.from({ length: b.partitions }, () => rng.int(0, 1)),
  };
}
