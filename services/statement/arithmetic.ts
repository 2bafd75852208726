// What each operator is owed for one epoch, from the chain's work credits: pure integer
// arithmetic on micro-USDT (6 decimals, bigint), no floats anywhere, the same result on every
// node. Every unit of the pool and of the amounts carried in ends up in exactly one place:
//
//   pool + Σ carriedIn  =  Σ payable + Σ carriedOut + commission
//
// 1. gross: the pool split in proportion to credits — floor(pool × c / C) each, and the units the
//    floors leave go one each to the largest remainders (ties: lower operator id first). No
//    credits at all (C = 0): nobody earns, the whole pool is commission.
// 2. commission: 5 % of each gross, rounded in the network's favour (share = floor(95 % gross)).
// 3. bonus: +2 % of gross (floor) for an operator whose uptime share reached the threshold,
//    paid out of the commission (5 % ≥ 2 %, so the commission never goes negative).
// 4. due = carriedIn + share + bonus. Payable when due ≥ the 10 USDT minimum, at most the
//    10,000 USDT per-payout limit; everything not payable is carried to the next epoch.
export const MICRO = 1_000_000n;

export interface StatementParams {
  readonly commissionBps: number;
  readonly bonusBps: number;
  /** Uptime share (basis points) from which the performance bonus is paid. */
  readonly bonusUptimeBps: number;
  readonly minPayout: bigint;
  readonly maxPayout: bigint;
}

export const DEFAULT_STATEMENT_PARAMS: StatementParams = {
  commissionBps: 500,
  bonusBps: 200,
  bonusUptimeBps: 9900,
  minPayout: 10n * MICRO,
  maxPayout: 10_000n * MICRO,
};

/** One operator's verified work in the epoch (from the chain). */
export interface OperatorCredits {
  /** The node's Ed25519 public key, 64 hex. */
  readonly operator: string;
  readonly credits: number;
  /** Uptime share as a fraction uptime / window (both integers, e.g. milliseconds). */
  readonly uptime: number;
  readonly window: number;
}

export interface StatementLine {
  readonly operator: string;
  readonly credits: number;
  readonly bonusEligible: boolean;
  readonly gross: bigint;
  readonly commission: bigint;
  readonly bonus: bigint;
  readonly carriedIn: bigint;
  readonly payable: bigint;
  readonly carriedOut: bigint;
}

export interface StatementTotals {
  readonly pool: bigint;
  readonly carriedIn: bigint;
  readonly payable: bigint;
  readonly carriedOut: bigint;
  /** Commission after the bonuses it paid. */
  readonly commission: bigint;
}

export interface ComputedStatement {
  readonly epoch: number;
  readonly params: StatementParams;
  readonly lines: readonly StatementLine[];
  readonly totals: StatementTotals;
}

const OPERATOR = /^[0-9a-f]{64}$/;

function check(input: { pool: bigint; operators: readonly OperatorCredits[]; carriedIn: ReadonlyMap<string, bigint> }, p: StatementParams): void {
  const bps = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 10_000;
  if (!bps(p.commissionBps) || !bps(p.bonusBps) || !bps(p.bonusUptimeBps) || p.bonusBps > p.commissionBps) throw new RangeError('statement parameters out of range');
  if (p.minPayout < 0n || p.maxPayout < p.minPayout) throw new RangeError('payout limits out of range');
  if (input.pool < 0n) throw new RangeError('negative pool');
  const seen = new Set<string>();
  for (const o of input.operators) {
    if (!OPERATOR.test(o.operator) || seen.has(o.operator)) throw new RangeError(`bad or repeated operator ${o.operator}`);
    seen.add(o.operator);
    for (const n of [o.credits, o.uptime, o.window]) if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`bad credit numbers for ${o.operator}`);
  }
  for (const [op, v] of input.carriedIn) if (!OPERATOR.test(op) || v < 0n) throw new RangeError(`bad carried amount for ${op}`);
}

/** Largest-remainder apportionment of `pool` by weight; exact (Σ = pool when Σ weights > 0). */
export function apportion(pool: bigint, weights: ReadonlyArray<{ id: string; weight: bigint }>): Map<string, bigint> {
  const total = weights.reduce((a, w) => a + w.weight, 0n);
  const out = new Map<string, bigint>();
  if (total === 0n) {
    for (const w of weights) out.set(w.id, 0n);
    return out;
  }
  let given = 0n;
  const rems: Array<{ id: string; rem: bigint }> = [];
  for (const w of weights) {
    const q = (pool * w.weight) / total;
    out.set(w.id, q);
    given += q;
    rems.push({ id: w.id, rem: (pool * w.weight) % total });
  }
  rems.sort((a, b) => (a.rem === b.rem ? (a.id < b.id ? -1 : 1) : a.rem > b.rem ? -1 : 1));
  for (let left = pool - given, i = 0; left > 0n; left--, i++) {
    const r = rems[i]!;
    out.set(r.id, out.get(r.id)! + 1n);
  }
  return out;
}

export function computeStatement(
  input: { epoch: number; pool: bigint; operators: readonly OperatorCredits[]; carriedIn: ReadonlyMap<string, bigint> },
  params: StatementParams = DEFAULT_STATEMENT_PARAMS,
): ComputedStatement {
  check(input, params);
  const byId = new Map(input.operators.map((o) => [o.operator, o]));
  // Operators with credits this epoch or an amount carried in; sorted, so the order is canonical.
  const ids = [...new Set([...byId.keys(), ...input.carriedIn.keys()])].sort();
  const gross = apportion(input.pool, ids.map((id) => ({ id, weight: BigInt(byId.get(id)?.credits ?? 0) })));
  const anyCredits = ids.some((id) => (byId.get(id)?.credits ?? 0) > 0);
  const keep = BigInt(10_000 - params.commissionBps);
  const lines: StatementLine[] = [];
  let commission = anyCredits ? 0n : input.pool;
  const totals = { carriedIn: 0n, payable: 0n, carriedOut: 0n };
  for (const id of ids) {
    const o = byId.get(id);
    const g = gross.get(id)!;
    const share = (g * keep) / 10_000n;
    const eligible = !!o && o.window > 0 && BigInt(o.uptime) * 10_000n >= BigInt(params.bonusUptimeBps) * BigInt(o.window);
    const bonus = eligible ? (g * BigInt(params.bonusBps)) / 10_000n : 0n;
    const carriedIn = input.carriedIn.get(id) ?? 0n;
    const due = carriedIn + share + bonus;
    const payable = due >= params.minPayout && due > 0n ? (due > params.maxPayout ? params.maxPayout : due) : 0n;
    commission += g - share - bonus;
    totals.carriedIn += carriedIn;
    totals.payable += payable;
    totals.carriedOut += due - payable;
    lines.push({ operator: id, credits: o?.credits ?? 0, bonusEligible: eligible, gross: g, commission: g - share, bonus, carriedIn, payable, carriedOut: due - payable });
  }
  return { epoch: input.epoch, params, lines, totals: { pool: input.pool, ...totals, commission } };
}
