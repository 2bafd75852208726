// A fault schedule drawn from a seed: validator set (4 or 7 equal, or 5/6 weighted), network
// behaviour (delay, jitter → reordering, drops, duplicates), partitions and heals, crashes and
// restarts, Twins (two instances of one validator key) and anchors submitted along the way.
// After `healAt` the network is good again, every crashed node is back and only the twins stay
// byzantine: from then on a block must follow within 3 slots. On top, validator admission
// (admission-plan.ts): Sybil floods, half-approved and byzantine-approved joins, a legit join.
import { Rng } from './rng.js';
import { makeAdmissionPlan, type AdmissionPlan } from './admission-plan.js';

export type SetKind = 'n4' | 'n7' | 'w5' | 'w6';

export type FaultEvent =
  | { readonly at: number; readonly kind: 'partition'; readonly groups: ReadonlyArray<ReadonlyArray<string>> }
  | { readonly at: number; readonly kind: 'heal' }
  | { readonly at: number; readonly kind: 'crash'; readonly node: string }
  | { readonly at: number; readonly kind: 'restart'; readonly node: string }
  | { readonly at: number; readonly kind: 'anchor'; readonly node: string };

export interface Scenario {
  readonly seed: number;
  readonly set: SetKind;
  readonly slotMs: number;
  /** Validator names and powers; instance names are the validator name, twins get a/b suffixes. */
  readonly validators: ReadonlyArray<{ readonly name: string; readonly power: number }>;
  readonly twins: readonly string[];
  readonly instances: readonly string[];
  readonly delay: { readonly min: number; readonly max: number };
  readonly drop: number;
  readonly duplicate: number;
  readonly persistDelayMax: number;
  readonly events: readonly FaultEvent[];
  readonly healAt: number;
  readonly endAt: number;
  readonly lockBug: boolean;
  /** No partitions, drops, duplicates, crashes or twins: every settled session must earn its credit. */
  readonly clean: boolean;
  /** The false-credit scenario: this validator lies about its work (tests/sim/ledger/cheater.ts). */
  readonly cheater: string | null;
  /** Test-only: honest validators say "ok" to answers without fetching the object (the harness must notice). */
  readonly trustBug: boolean;
  readonly admission: AdmissionPlan | null;
  /** 'after-heal' (default): a block within 3 slots of the heal; 'none': the test checks progress itself. */
  readonly liveness?: 'after-heal' | 'none';
  /**
   * Idle heights (issue 24): the engines' LUCID_EMPTY_BLOCK_INTERVAL_S (null: a block every slot).
   * Idle seeds end with a quiet tail of two heartbeats and more in which only `idleProbes` arrive.
   */
  readonly emptyBlockIntervalMs: number | null;
  /** Payout statements (issue 23): the genesis has a pool and validators state closed epochs. */
  readonly statements: boolean;
  /** A dishonest proposer (< 1/3 of the power, not a twin) putting false statements in its blocks. */
  readonly statementLiar: string | null;
  /** Anchors submitted to an honest node while the chain is idle: each final ≤ 2 slots after it. */
  readonly idleProbes: ReadonlyArray<{ readonly at: number; readonly node: string }>;
  /** Start of the quiet tail (null: no idle seed). */
  readonly quietFrom: number | null;
}

export function makeScenario(seed: number, options: { lockBug?: boolean; admission?: boolean; trustBug?: boolean; idle?: boolean } = {}): Scenario {
  const rng = new Rng(seed);
  const slotMs = 1000;
  const set = rng.pick<SetKind>(['n4', 'n4', 'n7', 'w5', 'w6']);
  const count = set === 'n4' ? 4 : set === 'n7' ? 7 : set === 'w5' ? 5 : 6;
  const weighted = set === 'w5' || set === 'w6';
  // Unequal weights expose a > 2/3 vs ≥ 2/3 slip: e.g. 1,1,1,3 or 2,2,3,3,4.
  const validators = Array.from({ length: count }, (_, i) => ({ name: `v${i}`, power: weighted ? rng.int(1, 6) : 1 }));
  const total = validators.reduce((a, v) => a + v.power, 0);

  const twins: string[] = [];
  if (rng.chance(0.3)) {
    const candidates = rng.shuffle(validators.filter((v) => 3 * v.power < total).map((v) => v));
    let twinPower = 0;
    for (const c of candidates) {
      if (3 * (twinPower + c.power) < total && (twins.length === 0 || (count === 7 && rng.chance(0.5)))) {
        twins.push(c.name);
        twinPower += c.power;
      }
    }
  }
  const instances = validators.flatMap((v) => (twins.includes(v.name) ? [`${v.name}a`, `${v.name}b`] : [v.name]));

  const faulty = rng.chance(0.9);
  const healAt = slotMs * rng.int(3, 9);
  const endAt = healAt + 4 * slotMs;
  const heavy = rng.chance(0.25);
  const delay = heavy ? { min: 1, max: rng.int(50, 400) } : { min: 1, max: rng.int(2, 30) };
  const drop = faulty && rng.chance(0.5) ? rng.next() * 0.3 : 0;
  const duplicate = faulty && rng.chance(0.4) ? rng.next() * 0.15 : 0;
  const events: FaultEvent[] = [];
  const honest = instances.filter((i) => !twins.some((t) => i.startsWith(t) && i.length === t.length + 1));

  if (faulty) {
    // Partitions: 0–3 splits during the fault window; twins go to different sides.
    const partitions = rng.int(0, 3);
    for (let i = 0; i < partitions; i++) {
      const at = rng.int(0, healAt - 200);
      const shuffled = rng.shuffle([...instances]);
      const cut = rng.int(1, shuffled.length - 1);
      const a = shuffled.slice(0, cut);
      const b = shuffled.slice(cut);
      for (const t of twins) {
        const ia = `${t}a`;
        const ib = `${t}b`;
        const inA = a.includes(ia) && a.includes(ib);
        if (inA) { a.splice(a.indexOf(ib), 1); b.push(ib); }
        const inB = b.includes(ia) && b.includes(ib);
        if (inB) { b.splice(b.indexOf(ia), 1); a.push(ia); }
      }
      events.push({ at, kind: 'partition', groups: [a, b] });
      events.push({ at: Math.min(healAt, at + rng.int(100, 3 * slotMs)), kind: 'heal' });
    }
    // Crashes of honest nodes, each restarted from its persisted state before the heal.
    const crashes = rng.int(0, 2);
    for (let i = 0; i < crashes; i++) {
      const node = rng.pick(honest);
      const at = rng.int(0, healAt - 300);
      events.push({ at, kind: 'crash', node });
      events.push({ at: rng.int(at + 1, healAt - 1), kind: 'restart', node });
    }
  }
  events.push({ at: healAt, kind: 'heal' });
  // Anchors: completed sessions arriving at random nodes (twins' anchors may be lost; fine).
  const anchors = rng.int(2, 12);
  for (let i = 0; i < anchors; i++) events.push({ at: rng.int(0, endAt - 2 * slotMs), kind: 'anchor', node: rng.pick(instances) });
  const persistDelayMax = rng.int(0, 40);
  // Half the schedules have a cheater: a validator outside the twins with less than 1/3 of the
  // power (its "ok" to its own answers must never be enough), which anchors more often.
  const liars = validators.filter((v) => !twins.includes(v.name) && 3 * v.power < total);
  const cheater = liars.length > 0 && rng.chance(0.5) ? rng.pick(liars).name : null;
  if (cheater) for (let i = rng.int(2, 5); i > 0; i--) events.push({ at: rng.int(0, endAt - 2 * slotMs), kind: 'anchor', node: cheater });
  events.sort((a, b) => a.at - b.at);

  const admission = options.admission === false ? null
    : makeAdmissionPlan(seed, { validators, twins, instances, partitions: events.filter((e) => e.kind === 'partition').length, healAt, endAt });
  // J (the joiner) is on one side of every partition, chosen by the admission generator.
  let side = 0;
  const placeJoiner = (e: FaultEvent): FaultEvent => {
    if (e.kind !== 'partition' || !admission?.joiner) return e;
    const at = admission.joinerSides[side++] ?? 0;
    return { ...e, groups: e.groups.map((g, i) => (i === at ? [...g, 'j'] : g)) };
  };
  const busyEnd = admission?.joiner ? healAt + 6 * slotMs : endAt;
  // Half the seeds run with idle heights (drawn from their own generator: the other draws, and
  // so the schedules of the every-slot seeds, stay as they were). After the busy part a quiet
  // tail of 2–3 heartbeats: nothing arrives but 1–3 probe anchors at honest, non-cheating nodes.
  const idleRng = new Rng(seed ^ 0x1d1e);
  const idle = options.idle ?? idleRng.chance(0.5);
  const emptyBlockIntervalMs = idle ? slotMs * idleRng.int(4, 8) : null;
  const quietFrom = idle ? busyEnd : null;
  const idleProbes: Array<{ at: number; node: string }> = [];
  let end = busyEnd;
  if (emptyBlockIntervalMs !== null) {
    end = busyEnd + idleRng.int(2, 3) * emptyBlockIntervalMs + 3 * slotMs;
    const probeNodes = honest.filter((n) => n !== cheater);
    for (let i = idleRng.int(1, 3); i > 0; i--) idleProbes.push({ at: idleRng.int(busyEnd + 2 * slotMs, end - 3 * slotMs), node: idleRng.pick(probeNodes) });
    idleProbes.sort((a, b) => a.at - b.at);
  }
  // Statements in ~3/4 of the seeds, with a liar wherever a validator can be one (own generator:
  // the other draws, and so the schedules of the other seeds, stay as they were).
  const stRng = new Rng(seed ^ 0x57a7);
  const statements = stRng.chance(0.75);
  const statementLiar = statements && liars.length > 0 ? stRng.pick(liars).name : null;
  return {
    statements, statementLiar,
    seed, set, slotMs, validators, twins, instances, delay, drop, duplicate,
    persistDelayMax, events: events.map(placeJoiner), healAt, endAt: end, lockBug: options.lockBug ?? false, admission,
    clean: !faulty && twins.length === 0, cheater, trustBug: options.trustBug ?? false,
    emptyBlockIntervalMs, idleProbes, quietFrom,
  };
}
