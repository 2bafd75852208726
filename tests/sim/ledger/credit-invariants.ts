// The simulator's credit invariants, on the reference chain (every block honest nodes decided):
//   recomputed   validation and uptime of every node and epoch equal what an independent
//                recount from the decided blocks' commits gives (README "Work credits")
//   no false     the cheater (tests/sim/ledger/cheater.ts) never earns a relay or storage credit
//   sound        an honest node's relay credits never exceed the sessions it really stored and
//                anchored, its storage credits never exceed its audits
//   earned       on a schedule without faults, every session anchored early enough to settle
//                earned its relay credit
import type { Applied } from '../../../services/ledger/chain/apply.js';
import type { ChainParams } from '../../../services/ledger/chain/genesis.js';
import type { ChainState, WorkCounts } from '../../../services/ledger/chain/state.js';

export class CreditOracle {
  private readonly times = new Map<number, number>();
  private readonly validation = new Map<string, number>(); // `${epoch}/${node}`
  private readonly uptime = new Map<string, number>();
  private readonly chainMs = new Map<number, number>();

  constructor(private readonly params: ChainParams, private readonly genesisTime: number) {}

  private add(m: Map<string, number>, k: string, v: number): void {
    m.set(k, (m.get(k) ?? 0) + v);
  }

  /** A block of the reference chain, in height order. */
  onApplied(a: Applied): void {
    const { height, time } = a.block.header;
    this.times.set(height, time);
    const signers = (a.block.lastCommit?.signatures ?? []).map((s) => s.validator.toString('hex'));
    const epoch = Math.floor(time / this.params.epochMs);
    for (const s of signers) this.add(this.validation, `${epoch}/${s}`, 1);
    if (height < 2 || signers.length === 0) return;
    // The commit of block h−1 vouches for (t(h−2), t(h−1)], at most uptimeMaxGapMs of it.
    const end = this.times.get(height - 1)!;
    let from = Math.max(height >= 3 ? this.times.get(height - 2)! : this.genesisTime, end - this.params.uptimeMaxGapMs);
    while (from < end) {
      const e = Math.floor(from / this.params.epochMs);
      const to = Math.min(end, (e + 1) * this.params.epochMs);
      this.chainMs.set(e, (this.chainMs.get(e) ?? 0) + (to - from));
      for (const s of signers) this.add(this.uptime, `${e}/${s}`, to - from);
      from = to;
    }
  }

  /** Differences between the chain's records and the recount, for the epochs the state keeps. */
  check(state: ChainState): string[] {
    const out: string[] = [];
    const kept = Object.keys(state.epochs).map(Number);
    for (const e of this.chainMs.keys()) if (e >= Math.min(...kept) && !(String(e) in state.epochs)) out.push(`credits: epoch ${e} has no record`);
    for (const [k, ep] of Object.entries(state.epochs)) {
      const e = Number(k);
      if ((this.chainMs.get(e) ?? 0) !== ep.chainMs) out.push(`credits: epoch ${e} chainMs ${ep.chainMs}, recount ${this.chainMs.get(e) ?? 0}`);
      const nodes = new Set([...Object.keys(ep.nodes), ...[...this.validation.keys(), ...this.uptime.keys()].filter((x) => x.startsWith(`${e}/`)).map((x) => x.slice(k.length + 1))]);
      for (const n of nodes) {
        const w = ep.nodes[n];
        const v = this.validation.get(`${e}/${n}`) ?? 0;
        const u = this.uptime.get(`${e}/${n}`) ?? 0;
        if ((w?.validation ?? 0) !== v) out.push(`credits: ${n.slice(0, 8)} validation ${w?.validation ?? 0} in epoch ${e}, recount ${v}`);
        if ((w?.uptimeMs ?? 0) !== u) out.push(`credits: ${n.slice(0, 8)} uptime ${w?.uptimeMs ?? 0} ms in epoch ${e}, recount ${u}`);
      }
    }
    return out;
  }
}

export function totals(state: ChainState, node: string): WorkCounts {
  const t: WorkCounts = { anchors: 0, relaySessions: 0, relayBytes: 0, storage: 0, audits: 0, validation: 0, uptimeMs: 0 };
  for (const ep of Object.values(state.epochs)) {
    const w = ep.nodes[node];
    if (!w) continue;
    for (const k of Object.keys(t) as Array<keyof WorkCounts>) t[k] += w[k];
  }
  return t;
}

export interface RealSession {
  readonly node: string;
  readonly totalBytes: number;
  /** Block time of its anchor, when final. */
  readonly anchoredAt: number | null;
}

/** The false-credit, soundness and (on fault-free schedules) earned checks. */
export function checkCredits(state: ChainState, o: { cheater: string | null; honest: readonly string[]; real: readonly RealSession[]; settledBefore: number | null }): string[] {
  const out: string[] = [];
  if (o.cheater) {
    const t = totals(state, o.cheater);
    if (t.relaySessions !== 0 || t.relayBytes !== 0 || t.storage !== 0) out.push(`false credit: the cheater earned relay ${t.relaySessions} sessions / ${t.relayBytes} bytes, storage ${t.storage}`);
  }
  for (const n of o.honest) {
    const t = totals(state, n);
    const mine = o.real.filter((r) => r.node === n && r.anchoredAt !== null);
    const bytes = mine.reduce((a, r) => a + r.totalBytes, 0);
    if (t.relaySessions > mine.length || t.relayBytes > bytes) out.push(`unsound credit: ${n.slice(0, 8)} relay ${t.relaySessions}/${t.relayBytes} > stored ${mine.length}/${bytes}`);
    if (t.storage > t.audits) out.push(`unsound credit: ${n.slice(0, 8)} storage ${t.storage} > audits ${t.audits}`);
    if (o.settledBefore !== null) {
      const due = mine.filter((r) => r.anchoredAt! <= o.settledBefore!);
      const dueBytes = due.reduce((a, r) => a + r.totalBytes, 0);
      if (t.relaySessions < due.length || t.relayBytes < dueBytes) out.push(`credit not earned: ${n.slice(0, 8)} relay ${t.relaySessions}/${t.relayBytes} < settled ${due.length}/${dueBytes}`);
    }
  }
  return out;
}
