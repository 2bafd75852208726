// Algorithm 1 of Buchman, Kwon and Milosevic, "The latest gossip on BFT consensus" (2018), for
// one height, as a pure synchronous state machine. Inputs: start(), proposals, votes, timeouts.
// Outputs: proposals and votes to broadcast, timeouts to schedule, the decision. No I/O, no clock,
// no crypto: the engine verifies signatures before a message gets here, signs what comes out,
// and feeds back the vote it actually sent (so the log counts what the network saw).
//
// The rules follow the paper line by line (numbers in comments are the paper's). "2f+1" and
// "f+1" are weighted by validator power with integer arithmetic: a quorum is more than 2/3 of
// the total power (3·p > 2·total), "f+1" is more than 1/3 (3·p > total).
import type { VoteType } from '../codec/vote.js';

export type Step = 'propose' | 'prevote' | 'precommit';
const STEP_RANK: Record<Step, number> = { propose: 0, prevote: 1, precommit: 2 };

export interface MachineVote<E = unknown> {
  readonly type: VoteType;
  readonly round: number;
  /** id(v) of the value voted for; null is nil. */
  readonly valueId: string | null;
  readonly from: string;
  /** Opaque to the machine (the engine keeps the signed message here for commits). */
  readonly envelope?: E;
}

export interface MachineProposal<V> {
  readonly round: number;
  readonly value: V;
  readonly validRound: number;
  readonly from: string;
}

export interface Timeouts {
  propose(round: number): number;
  prevote(round: number): number;
  precommit(round: number): number;
}

export interface MachineDeps<V> {
  readonly height: number;
  /** This process's validator id, or null for a non-voting follower. */
  readonly self: string | null;
  /** Voting power of a validator id; 0 for anyone else. */
  power(id: string): number;
  readonly totalPower: number;
  proposer(round: number): string;
  id(value: V): string;
  valid(value: V): boolean;
  /** getValue(): a fresh value to propose, or null when none can be built. */
  getValue(round: number): V | null;
  readonly timeouts: Timeouts;
  /** TEST ONLY: prevote ignoring the lock (lines 23 and 29), to prove the simulator catches it. */
  readonly injectLockBug?: boolean;
}

/** State restored after a crash (from the double-sign guard's record). */
export interface MachineRestore<V> {
  readonly round: number;
  /** The step this process had reached in that round (from what it signed last). */
  readonly step: Step;
  readonly lockedRound: number;
  readonly lockedId: string | null;
  /** The locked value itself when it was saved; without it the lock still binds by id. */
  readonly lockedValue: V | null;
}

export type MachineOutput<V, E = unknown> =
  | { readonly kind: 'propose'; readonly round: number; readonly value: V; readonly validRound: number }
  | { readonly kind: 'vote'; readonly type: VoteType; readonly round: number; readonly valueId: string | null; readonly lock: { readonly round: number; readonly valueId: string | null } }
  | { readonly kind: 'schedule'; readonly step: Step; readonly round: number; readonly delayMs: number }
  | { readonly kind: 'round'; readonly round: number }
  | { readonly kind: 'decide'; readonly round: number; readonly value: V; readonly precommits: ReadonlyArray<MachineVote<E>> };

// Votes of one round and type. A validator counts once per value and once in `any`; an
// equivocating validator's two votes both count, each for its own value — exactly the paper's
// "2f+1 messages ⟨PREVOTE, h, r, id(v)⟩" (distinct senders that signed id(v)). Counting only the
// first vote instead would let a byzantine node hide a proof-of-lock from some correct nodes.
interface RoundVotes<E> {
  readonly byValue: Map<string, Map<string, MachineVote<E>>>; // value id or NIL_KEY → sender → vote
  readonly tally: Map<string, number>; // value id or NIL_KEY → power
  readonly voters: Set<string>;
  any: number;
}

const NIL_KEY = '\u0000nil';
const keyOf = (valueId: string | null): string => valueId ?? NIL_KEY;

export class HeightMachine<V, E = unknown> {
  round = 0;
  step: Step = 'propose';
  started = false;
  decision: { readonly round: number; readonly value: V } | null = null;
  lockedValue: V | null = null;
  lockedId: string | null = null;
  lockedRound = -1;
  validValue: V | null = null;
  validRound = -1;

  private readonly proposals = new Map<number, MachineProposal<V> & { readonly valueId: string }>();
  private readonly prevotes = new Map<number, RoundVotes<E>>();
  private readonly precommits = new Map<number, RoundVotes<E>>();
  /** Distinct senders of any message per round, and their power (line 55). */
  private readonly senders = new Map<number, { readonly ids: Set<string>; power: number }>();
  private readonly fired = new Set<string>();

  private restoredStep: Step | null = null;

  constructor(private readonly deps: MachineDeps<V>, restore?: MachineRestore<V>) {
    if (restore) {
      this.round = restore.round;
      this.restoredStep = restore.step;
      this.lockedRound = restore.lockedRound;
      this.lockedId = restore.lockedId;
      this.lockedValue = restore.lockedValue;
      if (restore.lockedValue !== null && restore.lockedRound >= 0) {
        // validRound ≥ lockedRound holds in the paper's runs; keep it after a restart too.
        this.validValue = restore.lockedValue;
        this.validRound = restore.lockedRound;
      }
    }
  }

  get height(): number {
    return this.deps.height;
  }

  private quorum(power: number): boolean {
    return 3 * power > 2 * this.deps.totalPower;
  }

  private oneThird(power: number): boolean {
    return 3 * power > this.deps.totalPower;
  }

  /** 10: upon start do StartRound(0) — or the restored round after a crash. */
  start(): MachineOutput<V, E>[] {
    const out: MachineOutput<V, E>[] = [];
    if (this.started) return out;
    this.started = true;
    if (this.restoredStep !== null && this.restoredStep !== 'propose') {
      // After a crash in the middle of a round: carry on from the step already signed (its
      // messages were re-sent by the engine); a new StartRound would only re-propose.
      this.step = this.restoredStep;
      out.push({ kind: 'round', round: this.round });
    } else {
      this.startRound(this.round, out);
    }
    this.progress(out);
    return out;
  }

  /** A proposal, already checked to be signed by its sender. */
  onProposal(p: MachineProposal<V>): MachineOutput<V, E>[] {
    const out: MachineOutput<V, E>[] = [];
    if (this.decision) return out;
    if (p.from !== this.deps.proposer(p.round)) return out; // "from proposer(h_p, r)"
    if (p.validRound < -1 || !Number.isInteger(p.round) || p.round < 0) return out;
    if (!this.proposals.has(p.round)) {
      // An equivocating proposer's second proposal for a round is ignored (the first one counts).
      this.proposals.set(p.round, { ...p, valueId: this.deps.id(p.value) });
    }
    this.noteSender(p.round, p.from);
    if (this.started) this.progress(out);
    return out;
  }

  /** A vote, already checked to be signed by its sender. */
  onVote(v: MachineVote<E>): MachineOutput<V, E>[] {
    const out: MachineOutput<V, E>[] = [];
    if (this.decision) return out;
    const power = this.deps.power(v.from);
    if (power <= 0 || !Number.isInteger(v.round) || v.round < 0) return out;
    const book = v.type === 'prevote' ? this.prevotes : this.precommits;
    let rv = book.get(v.round);
    if (!rv) {
      rv = { byValue: new Map(), tally: new Map(), voters: new Set(), any: 0 };
      book.set(v.round, rv);
    }
    const k = keyOf(v.valueId);
    let forValue = rv.byValue.get(k);
    if (!forValue) rv.byValue.set(k, (forValue = new Map()));
    if (forValue.has(v.from)) return out; // a duplicate
    forValue.set(v.from, v);
    rv.tally.set(k, (rv.tally.get(k) ?? 0) + power);
    if (!rv.voters.has(v.from)) {
      rv.voters.add(v.from);
      rv.any += power;
    }
    this.noteSender(v.round, v.from);
    if (this.started) this.progress(out);
    return out;
  }

  onTimeout(step: Step, round: number): MachineOutput<V, E>[] {
    const out: MachineOutput<V, E>[] = [];
    if (this.decision || !this.started || round !== this.round) return out;
    if (step === 'propose' && this.step === 'propose') {
      // 57–60 OnTimeoutPropose
      this.broadcastVote('prevote', null, out);
      this.step = 'prevote';
    } else if (step === 'prevote' && this.step === 'prevote') {
      // 61–64 OnTimeoutPrevote
      this.broadcastVote('precommit', null, out);
      this.step = 'precommit';
    } else if (step === 'precommit') {
      // 65–67 OnTimeoutPrecommit (any step)
      this.startRound(this.round + 1, out);
    } else {
      return out;
    }
    this.progress(out);
    return out;
  }

  /** Votes seen for a round (the engine uses them for gossip and evidence). */
  votesFor(type: VoteType, round: number): ReadonlyArray<MachineVote<E>> {
    const rv = (type === 'prevote' ? this.prevotes : this.precommits).get(round);
    return rv ? [...rv.byValue.values()].flatMap((m) => [...m.values()]) : [];
  }

  /** Votes for one value (id, or null for nil) in a round. */
  votesForValue(type: VoteType, round: number, valueId: string | null): ReadonlyArray<MachineVote<E>> {
    const rv = (type === 'prevote' ? this.prevotes : this.precommits).get(round);
    return [...(rv?.byValue.get(keyOf(valueId))?.values() ?? [])];
  }

  proposalFor(round: number): (MachineProposal<V> & { readonly valueId: string }) | undefined {
    return this.proposals.get(round);
  }

  /** Rounds for which any message is known, ascending. */
  knownRounds(): number[] {
    return [...this.senders.keys()].sort((a, b) => a - b);
  }

  private noteSender(round: number, from: string): void {
    let s = this.senders.get(round);
    if (!s) {
      s = { ids: new Set(), power: 0 };
      this.senders.set(round, s);
    }
    if (!s.ids.has(from)) {
      s.ids.add(from);
      s.power += this.deps.power(from);
    }
  }

  private tally(type: VoteType, round: number, valueId: string | null): number {
    return (type === 'prevote' ? this.prevotes : this.precommits).get(round)?.tally.get(keyOf(valueId)) ?? 0;
  }

  private anyPower(type: VoteType, round: number): number {
    return (type === 'prevote' ? this.prevotes : this.precommits).get(round)?.any ?? 0;
  }

  private broadcastVote(type: VoteType, valueId: string | null, out: MachineOutput<V, E>[]): void {
    if (this.deps.self === null) return; // followers never vote
    out.push({ kind: 'vote', type, round: this.round, valueId, lock: { round: this.lockedRound, valueId: this.lockedId } });
  }

  /** 11–21 StartRound(round). */
  private startRound(round: number, out: MachineOutput<V, E>[]): void {
    this.round = round;
    this.step = 'propose';
    out.push({ kind: 'round', round });
    if (this.deps.self !== null && this.deps.proposer(round) === this.deps.self) {
      const proposal = this.validValue !== null ? this.validValue : this.deps.getValue(round);
      if (proposal !== null) {
        out.push({ kind: 'propose', round, value: proposal, validRound: this.validValue !== null ? this.validRound : -1 });
      }
      // Without a value to propose, nobody prevotes it: the others' timeouts move the round on.
      // The proposer waits like everyone else so that its own prevote of nil is not premature.
      if (proposal === null) out.push({ kind: 'schedule', step: 'propose', round, delayMs: this.deps.timeouts.propose(round) });
    } else {
      out.push({ kind: 'schedule', step: 'propose', round, delayMs: this.deps.timeouts.propose(round) });
    }
  }

  private progress(out: MachineOutput<V, E>[]): void {
    for (let guard = 0; guard < 10_000 && !this.decision; guard++) {
      if (!this.applyOneRule(out)) return;
    }
  }

  /** Applies the first upon-rule whose precondition holds; false when none does. */
  private applyOneRule(out: MachineOutput<V, E>[]): boolean {
    // 49–54: a decision in any round ends the height.
    for (const [r, prop] of this.proposals) {
      if (this.quorum(this.tally('precommit', r, prop.valueId)) && this.deps.valid(prop.value)) {
        this.decision = { round: r, value: prop.value };
        const precommits = [...(this.precommits.get(r)?.byValue.get(prop.valueId)?.values() ?? [])];
        out.push({ kind: 'decide', round: r, value: prop.value, precommits });
        return false;
      }
    }

    // 55–56: f+1 messages of a higher round → StartRound(that round) (the highest such round).
    let skipTo = -1;
    for (const [r, s] of this.senders) {
      if (r > this.round && r > skipTo && this.oneThird(s.power)) skipTo = r;
    }
    if (skipTo > this.round) {
      this.startRound(skipTo, out);
      return true;
    }

    const r = this.round;
    const prop = this.proposals.get(r);

    if (this.step === 'propose' && prop) {
      // 22–27: a proposal without a valid round.
      if (prop.validRound === -1) {
        const ok = this.deps.valid(prop.value) && (this.deps.injectLockBug || this.lockedRound === -1 || this.lockedId === prop.valueId);
        this.broadcastVote('prevote', ok ? prop.valueId : null, out);
        this.step = 'prevote';
        return true;
      }
      // 28–33: a re-proposal with a proof-of-lock (2f+1 prevotes for it in round vr < round_p).
      const vr = prop.validRound;
      if (vr >= 0 && vr < r && this.quorum(this.tally('prevote', vr, prop.valueId))) {
        const ok = this.deps.valid(prop.value) && (this.deps.injectLockBug || this.lockedRound <= vr || this.lockedId === prop.valueId);
        this.broadcastVote('prevote', ok ? prop.valueId : null, out);
        this.step = 'prevote';
        return true;
      }
    }

    // 34–35: 2f+1 prevotes of any kind while in prevote, the first time.
    if (this.step === 'prevote' && !this.fired.has(`34:${r}`) && this.quorum(this.anyPower('prevote', r))) {
      this.fired.add(`34:${r}`);
      out.push({ kind: 'schedule', step: 'prevote', round: r, delayMs: this.deps.timeouts.prevote(r) });
      return true;
    }

    // 36–43: the proposal of this round with 2f+1 prevotes for it, step ≥ prevote, the first time.
    if (prop && STEP_RANK[this.step] >= STEP_RANK.prevote && !this.fired.has(`36:${r}`)
      && this.quorum(this.tally('prevote', r, prop.valueId)) && this.deps.valid(prop.value)) {
      this.fired.add(`36:${r}`);
      if (this.step === 'prevote') {
        this.lockedValue = prop.value;
        this.lockedId = prop.valueId;
        this.lockedRound = r;
        this.broadcastVote('precommit', prop.valueId, out);
        this.step = 'precommit';
      }
      this.validValue = prop.value;
      this.validRound = r;
      return true;
    }

    // 44–46: 2f+1 prevotes for nil while in prevote.
    if (this.step === 'prevote' && this.quorum(this.tally('prevote', r, null))) {
      this.broadcastVote('precommit', null, out);
      this.step = 'precommit';
      return true;
    }

    // 47–48: 2f+1 precommits of any kind, the first time (any step).
    if (!this.fired.has(`47:${r}`) && this.quorum(this.anyPower('precommit', r))) {
      this.fired.add(`47:${r}`);
      out.push({ kind: 'schedule', step: 'precommit', round: r, delayMs: this.deps.timeouts.precommit(r) });
      return true;
    }
    return false;
  }
}
