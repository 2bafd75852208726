// One node's consensus engine: the height machine plus everything around it that is still pure
// and synchronous — signature checks, the double-sign guard, block building and validation,
// commits, sync from peers, gossip and evidence of equivocation. Inputs are messages, the clock
// (`now` on every call) and persistence acknowledgements; outputs are messages to send and
// blocks to persist. Production (service.ts) and the simulator drive this same class.
import { decodeCommit, type Commit, type CommitSig } from '../codec/block.js';
import { txId } from '../codec/tx.js';
import { txMessages, voteFromRecord, type VoteMessage, type WireMessage } from '../codec/messages.js';
import { proposalSignBytes, voteSignBytes, type VoteType } from '../codec/vote.js';
import { checkAndApply, verifyCommit, type Applied } from '../chain/apply.js';
import { buildBlock } from '../chain/build.js';
import { proposerFor, proposerOrder } from '../chain/ranking.js';
import { powerOf, totalPower, type ChainState } from '../chain/state.js';
import type { Mempool } from '../mempool.js';
import { HeightMachine, type MachineOutput, type Step, type Timeouts } from './height-machine.js';
import { SIGN_STEP } from './sign-guard.js';
import { signProposal, signVote, type SignAt } from './signing.js';
import { EquivocationLog } from './equivocation.js';
import { timeoutsFor } from './timeouts.js';
import { gossipOutputs } from './gossip.js';
import { chainWorkAt, heartbeatAt, nextBlockCarriesTxs, startDecision, type StartReason } from './idle.js';
import { extendCommit } from './late-precommits.js';
import { restoreFrom, valueOfBlock } from './restore.js';

import type { EngineDeps, EngineOutput, Evidence, Value, VoteEnvelope } from './engine-types.js';
export type { Value, VoteEnvelope, EngineConfig, EngineDeps, Evidence, EngineOutput } from './engine-types.js';

type Timer =
  | { readonly at: number; readonly kind: 'timeout'; readonly height: number; readonly step: Step; readonly round: number }
  | { readonly at: number; readonly kind: 'start'; readonly height: number };

export class Engine {
  state: ChainState;
  headCommit: Commit | null;
  persistedHeight: number;
  private readonly equivocations = new EquivocationLog();

  private machine: HeightMachine<Value, VoteEnvelope> | null = null;
  private machineHeight = 0;
  private order: string[] = [];
  private readonly self: string;
  private timers: Timer[] = [];
  private heightStartedAt: number;
  /** When the next height may start: a slot after the last block's time (the proposer's clock). */
  private nextStartAt: number;
  /** A validator's signed message for the waiting height arrived: start it (consensus/idle.ts). */
  private joined = false;
  private startReason: StartReason | null = null;
  /** This node's precommit for the head block, re-sent while the next height waits. */
  private lastPrecommit: VoteMessage | null = null;
  private readonly validity = new Map<string, Applied | null>();
  private readonly values = new Map<string, Value>();
  private readonly ownVotes = new Map<string, WireMessage>();
  private readonly proposals = new Map<number, WireMessage>();
  private readonly proposalResent = new Map<string, number>();
  private readonly peerHeights = new Map<string, number>();
  private syncing: { peer: string; until: number } | null = null;
  private outbox: Buffer[] = [];
  private flushAt: number | null = null;
  private nextGossipAt: number;
  private gossipCount = 0;
  private readonly timeouts: Timeouts;
  private readonly gossipMs: number;
  private out: EngineOutput[] = [];

  constructor(private readonly deps: EngineDeps, init: { state: ChainState; headCommit: Commit | null; now: number }) {
    this.state = init.state;
    this.headCommit = init.headCommit;
    this.persistedHeight = init.state.height;
    this.self = deps.signer.publicKey.toString('hex');
    this.timeouts = deps.config.timeouts ?? timeoutsFor(deps.config.slotMs);
    this.gossipMs = deps.config.gossipMs ?? Math.max(20, Math.floor(deps.config.slotMs / 10));
    this.heightStartedAt = init.now;
    this.nextStartAt = init.now;
    this.nextGossipAt = init.now;
  }

  // ---- public inputs -------------------------------------------------------------------------

  /** Boot: start consensus on the height after the persisted head, now. */
  start(now: number): EngineOutput[] {
    this.createMachine();
    this.timers.push({ at: now, kind: 'start', height: this.machineHeight });
    return this.tick(now);
  }

  onMessage(from: string, msg: WireMessage, now: number): EngineOutput[] {
    this.nowForBuild = now;
    switch (msg.t) {
      case 'proposal': this.onProposal(from, msg, now); break;
      case 'vote': this.onVote(from, msg, now); break;
      case 'txs': if (msg.txs.map((tx) => this.deps.mempool.add(tx, false, now)).includes('added')) this.poke(now); break;
      case 'status':
        this.peerHeights.set(from, msg.height);
        if (msg.height > this.state.height) this.requestSync(from, now);
        break;
      case 'blocks': this.onBlocks(from, msg.items, now); break;
      default: break; // hello and getBlocks are the transport's and the store's business
    }
    return this.flush();
  }

  /** A peer (re)connected: it missed earlier gossip, so offer it our waiting transactions now. */
  onPeerConnected(peer: string, now: number): EngineOutput[] {
    this.nowForBuild = now;
    this.out.push({ kind: 'send', to: peer, msg: { t: 'status', height: this.persistedHeight, round: this.machine?.round ?? 0 } });
    const p = this.machine ? this.proposals.get(this.machine.round) : undefined;
    if (p) this.out.push({ kind: 'send', to: peer, msg: p });
    if (this.lastPrecommit && !this.machine?.started) this.out.push({ kind: 'send', to: peer, msg: this.lastPrecommit });
    const local = this.deps.mempool.local().map((e) => e.bytes);
    if (local.length > 0) this.broadcastTxs(local, peer);
    return this.flush();
  }

  /** The block at `height` is durable: the next height may start (after the rest of the slot). */
  onPersisted(height: number, now: number): EngineOutput[] {
    if (height > this.persistedHeight) this.persistedHeight = height;
    if (height === this.state.height && this.machine && !this.machine.started) {
      this.timers.push({ at: this.joined ? now : Math.max(now, this.nextStartAt), kind: 'start', height: this.machineHeight });
    }
    return this.tick(now);
  }

  /** A transaction made here (an anchor): into the mempool and, batched, to the peers. */
  submitTx(bytes: Buffer, now: number): ReturnType<Mempool['add']> {
    const r = this.deps.mempool.add(bytes, true, now);
    if (r === 'added') {
      this.outbox.push(bytes);
      if (this.flushAt === null) this.flushAt = now + (this.deps.config.txBatchMs ?? Math.min(50, this.gossipMs));
      this.poke(now);
    }
    return r;
  }

  /** Fires every timer that is due. Call when nextWakeAt() has come. */
  tick(now: number): EngineOutput[] {
    this.nowForBuild = now;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const t = this.timers[0];
      if (!t || t.at > now) break;
      this.timers.shift();
      if (t.height !== this.machineHeight || !this.machine) continue;
      if (t.kind === 'start') {
        if (!this.machine.started && this.persistedHeight === this.state.height) this.considerStart(now);
      } else {
        this.run(this.machine.onTimeout(t.step, t.round), now);
      }
    }
    if (this.flushAt !== null && this.flushAt <= now) this.flushTxs();
    if (this.nextGossipAt <= now) {
      this.gossip(now);
      // While a height waits (idle) only the status and the last precommit go out: once a slot.
      this.nextGossipAt = now + (this.machine?.started ? this.gossipMs : Math.max(this.gossipMs, this.deps.config.slotMs));
    }
    return this.flush();
  }

  nextWakeAt(): number {
    let at = this.nextGossipAt;
    for (const t of this.timers) if (t.at < at) at = t.at;
    if (this.flushAt !== null && this.flushAt < at) at = this.flushAt;
    return at;
  }

  // ---- views ---------------------------------------------------------------------------------

  /** Equivocations seen (newest last, at most 1000). */
  get evidence(): readonly Evidence[] { return this.equivocations.evidence; }
  get selfKey(): string { return this.self; }
  get height(): number { return this.machineHeight; }
  get round(): number { return this.machine?.round ?? 0; }
  get step(): Step | 'waiting' { return this.machine?.started ? this.machine.step : 'waiting'; }
  /** Why the current height started (null: it waits — idle, or for the previous block to be durable). */
  get startedBy(): StartReason | null { return this.machine?.started ? this.startReason : null; }
  /** When the heartbeat block is due if nothing else starts a height first. */
  get heartbeatDueAt(): number { return heartbeatAt(this.state.headTime, this.deps.config.slotMs, this.deps.config.emptyBlockIntervalMs); }
  get locked(): { round: number; id: string | null } { return { round: this.machine?.lockedRound ?? -1, id: this.machine?.lockedId ?? null }; }
  get isValidator(): boolean { return powerOf(this.state.validators, this.self) > 0; }
  get proposerOrder(): readonly string[] { return this.order; }
  get mempool(): Mempool { return this.deps.mempool; }

  // ---- starting a height (consensus/idle.ts) -------------------------------------------------

  /** The waiting height starts now, or a wake-up is scheduled for the heartbeat / scheduled work. */
  private considerStart(now: number): void {
    const machine = this.machine!;
    const h = this.machineHeight;
    const d = startDecision({
      now, notBefore: this.nextStartAt, headTime: this.state.headTime, slotMs: this.deps.config.slotMs,
      emptyBlockIntervalMs: this.deps.config.emptyBlockIntervalMs, joined: this.joined,
      resumed: this.deps.guard.signedAt(h).length > 0,
      scheduledWorkAt: (this.deps.scheduledWorkAt ?? chainWorkAt)(this.state),
      hasTxWork: () => nextBlockCarriesTxs({
        state: this.state, order: this.order, now, headCommit: this.headCommit, mempool: this.deps.mempool, ctx: this.ctx(),
      }),
    });
    if (d.start !== null) {
      this.heightStartedAt = now;
      this.startReason = d.start;
      this.nextGossipAt = Math.min(this.nextGossipAt, now + this.gossipMs);
      this.run(machine.start(), now);
    } else if (!this.timers.some((t) => t.kind === 'start' && t.height === h && t.at <= d.wakeAt)) {
      this.timers.push({ at: d.wakeAt, kind: 'start', height: h });
    }
  }

  /** A transaction arrived: a waiting height looks again now (it may start at once). */
  private poke(now: number): void {
    if (this.machine && !this.machine.started && this.persistedHeight === this.state.height) this.timers.push({ at: now, kind: 'start', height: this.machineHeight });
  }

  /** A validator's verified message for the waiting height: join it (once the head is durable). */
  private joinHeight(now: number): void {
    if (!this.machine || this.machine.started) return;
    this.joined = true;
    if (this.persistedHeight === this.state.height) this.considerStart(now);
  }

  // ---- the height machine --------------------------------------------------------------------

  private createMachine(): void {
    const h = this.state.height + 1;
    this.order = proposerOrder(this.state);
    this.validity.clear();
    this.values.clear();
    this.ownVotes.clear();
    this.proposals.clear();
    this.proposalResent.clear();
    this.joined = false;
    this.startReason = null;
    this.timers = this.timers.filter((t) => t.height === h);
    const state = this.state;
    const vals = state.validators;
    const total = totalPower(vals);
    const selfIsValidator = powerOf(vals, this.self) > 0;
    // After a crash in this height: resume in the round and step last signed, with the lock.
    const records = this.deps.guard.signedAt(h);
    const restore = restoreFrom(records, this.deps.guard.lockedBlock);
    this.machineHeight = h;
    this.machine = new HeightMachine<Value, VoteEnvelope>({
      height: h,
      self: selfIsValidator ? this.self : null,
      power: (id) => powerOf(vals, id),
      totalPower: total,
      proposer: (round) => proposerFor(this.order, round),
      id: (v) => v.id,
      valid: (v) => this.validate(v) !== null,
      getValue: (round) => this.buildValue(round),
      timeouts: this.timeouts,
      injectLockBug: this.deps.config.injectLockBug ?? false,
    }, restore);
    // Votes signed before the crash count again and are re-sent by gossip.
    for (const r of records) {
      if (r.step === SIGN_STEP.proposal) continue;
      const msg = voteFromRecord(r, this.deps.signer.publicKey);
      const valueId = msg.value ? msg.value.toString('hex') : null;
      this.ownVotes.set(`${msg.round}:${msg.type}`, msg);
      this.equivocations.record(EquivocationLog.key(h, msg.round, msg.type, this.self), valueId ?? 'nil');
      this.machine.onVote({ type: msg.type, round: msg.round, valueId, from: this.self, envelope: { validator: msg.validator, signature: msg.signature } });
    }
  }

  private ctx() {
    return { verifier: this.deps.verifier, recentAnchors: this.deps.recentAnchors, verifiedTxs: this.deps.mempool.verified };
  }

  private validate(v: Value): Applied | null {
    if (this.validity.has(v.id)) return this.validity.get(v.id)!;
    let applied: Applied | null = null;
    try {
      applied = checkAndApply(this.state, v.bytes, this.ctx());
    } catch {
      applied = null;
    }
    this.validity.set(v.id, applied);
    return applied;
  }

  private buildValue(round: number): Value | null {
    try {
      const built = buildBlock({
        state: this.state,
        proposer: this.deps.signer.publicKey,
        round,
        now: this.nowForBuild,
        lastCommit: this.state.height === 0 ? null : this.headCommit,
        candidates: this.deps.mempool.candidates(),
        ctx: this.ctx(),
        onRejected: (tx) => this.deps.mempool.remove(txId(tx)),
      });
      const tampered = this.deps.config.tamperBlock?.(built.bytes);
      if (tampered) return valueOfBlock(tampered);
      const v: Value = { id: built.applied.hash.toString('hex'), hash: built.applied.hash, bytes: built.bytes };
      this.validity.set(v.id, built.applied);
      this.values.set(v.id, v);
      return v;
    } catch {
      return null;
    }
  }

  /** The time of the call being handled (getValue() stamps the block with it). */
  private nowForBuild = 0;

  private run(outs: MachineOutput<Value, VoteEnvelope>[], now: number): void {
    const machine = this.machine;
    const queue = [...outs];
    while (queue.length > 0 && this.machine === machine && machine) {
      const o = queue.shift()!;
      switch (o.kind) {
        case 'round':
          break;
        case 'schedule':
          this.timers.push({ at: now + o.delayMs, kind: 'timeout', height: this.machineHeight, step: o.step, round: o.round });
          break;
        case 'propose': {
          const msg = this.signProposal(o.round, o.value, o.validRound);
          if (msg) {
            this.proposals.set(o.round, msg);
            this.out.push({ kind: 'broadcast', msg });
            queue.push(...machine.onProposal({ round: o.round, value: o.value, validRound: o.validRound, from: this.self }));
          } else {
            // The guard holds another proposal for this round, signed before a crash; its block
            // went with the process, so it cannot be re-sent. Wait out the round like a proposer
            // with nothing to propose: a proposer schedules no propose timeout, and a lone
            // validator (a standalone appliance after a power cut) would wait here for ever.
            this.timers.push({ at: now + this.timeouts.propose(o.round), kind: 'timeout', height: this.machineHeight, step: 'propose', round: o.round });
          }
          break;
        }
        case 'vote': {
          const sent = this.signVote(o.type, o.round, o.valueId, o.lock);
          if (sent) {
            this.out.push({ kind: 'broadcast', msg: sent.msg });
            queue.push(...machine.onVote({ type: sent.type, round: sent.round, valueId: sent.valueId, from: this.self, envelope: { validator: this.deps.signer.publicKey, signature: sent.signature } }));
          }
          break;
        }
        case 'decide': {
          const applied = this.validate(o.value);
          if (!applied) break; // cannot happen: the machine decides valid values only
          const signatures: CommitSig[] = o.precommits.map((v) => v.envelope!).sort((a, b) => Buffer.compare(a.validator, b.validator));
          this.adopt(applied, o.value.bytes, { height: this.machineHeight, round: o.round, blockHash: o.value.hash, signatures }, now, 'consensus');
          return;
        }
      }
    }
  }

  private signProposal(round: number, value: Value, validRound: number): WireMessage | null {
    return signProposal(this.signAt(), round, value, validRound, { round: this.machine!.lockedRound, valueId: this.machine!.lockedId });
  }

  private signVote(type: VoteType, round: number, valueId: string | null, lock: { round: number; valueId: string | null }):
    { msg: WireMessage; type: VoteType; round: number; valueId: string | null; signature: Buffer } | null {
    const lockedBlock = type === 'precommit' && valueId !== null && lock.valueId === valueId ? this.values.get(valueId)?.bytes ?? null : null;
    const msg = signVote(this.signAt(), type, round, valueId, lock, lockedBlock);
    if (!msg) return null;
    this.ownVotes.set(`${msg.round}:${msg.type}`, msg);
    return { msg, type: msg.type, round: msg.round, valueId: msg.value ? msg.value.toString('hex') : null, signature: msg.signature };
  }

  private signAt(): SignAt { return { deps: this.deps, chainId: this.state.chainId, height: this.machineHeight }; }

  // ---- commits and sync ----------------------------------------------------------------------

  private adopt(applied: Applied, bytes: Buffer, commit: Commit, now: number, via: 'consensus' | 'sync'): void {
    const own = via === 'consensus' ? this.ownVotes.get(`${commit.round}:precommit`) : undefined;
    this.lastPrecommit = own?.t === 'vote' && own.value?.equals(commit.blockHash) ? own : null;
    this.state = applied.state;
    this.headCommit = commit;
    this.deps.recentAnchors.add(applied.anchors);
    this.deps.recentAnchors.prune(this.state);
    this.deps.mempool.removeCommitted(applied.block.txs, applied.anchors.map((a) => a.manifestHash));
    this.equivocations.prune(this.state.height);
    this.out.push({ kind: 'commit', height: applied.block.header.height, hash: applied.hash, bytes, block: applied.block, commit, state: applied.state, anchors: applied.anchors, via, at: now });
    // One block per slot, timed from the block's own time, so every node starts the next height
    // together (within their clocks' skew) however late each one learned of the decision. A node
    // that caught up by sync starts at once.
    this.nextStartAt = via === 'sync' ? now : applied.block.header.time + this.deps.config.slotMs;
    this.createMachine();
  }

  private requestSync(peer: string, now: number): void {
    if (this.syncing && this.syncing.until > now) return;
    this.syncing = { peer, until: now + Math.max(1000, 4 * this.gossipMs) };
    this.out.push({ kind: 'send', to: peer, msg: { t: 'getBlocks', from: this.state.height + 1, count: this.deps.config.syncBatch ?? 32 } });
  }

  private onBlocks(from: string, items: ReadonlyArray<{ block: Buffer; commit: Buffer }>, now: number): void {
    for (const item of items) {
      let commit: Commit;
      let applied: Applied;
      try {
        commit = decodeCommit(item.commit);
        if (commit.height !== this.state.height + 1) continue;
        applied = checkAndApply(this.state, item.block, this.ctx());
      } catch (err) {
        if (process.env['LEDGER_DEBUG']) console.log('sync apply failed', (err as Error).message);
        break;
      }
      // Every synced block must carry a commit by the validators of its own height.
      if (verifyCommit(this.state.chainId, commit, applied.block.header.height, applied.hash, this.state.validators, this.deps.verifier) !== null) break;
      this.adopt(applied, item.block, commit, now, 'sync');
    }
    if (this.syncing?.peer === from) this.syncing = null;
    if ((this.peerHeights.get(from) ?? 0) > this.state.height) this.requestSync(from, now);
  }

  // ---- incoming consensus messages -----------------------------------------------------------

  private noteEvidence(key: string, value: string, e: Omit<Evidence, 'first' | 'second'>): void {
    const evidence = this.equivocations.note(key, value, e);
    if (evidence) this.out.push({ kind: 'evidence', evidence });
  }

  private onProposal(from: string, m: Extract<WireMessage, { t: 'proposal' }>, now: number): void {
    if (m.height > this.state.height + 1) {
      this.peerHeights.set(from, Math.max(this.peerHeights.get(from) ?? 0, m.height - 1));
      return;
    }
    if (m.height !== this.machineHeight || !this.machine) return;
    const proposer = m.proposer.toString('hex');
    if (proposer !== proposerFor(this.order, m.round)) return;
    const value = valueOfBlock(m.block);
    if (!value) return;
    if (!this.deps.verifier.verify(m.proposer, proposalSignBytes(this.state.chainId, { height: m.height, round: m.round, validRound: m.validRound, blockHash: value.hash }), m.signature)) return;
    this.noteEvidence(`${m.height}:${m.round}:P:${proposer}`, `${value.id}/${m.validRound}`, { validator: proposer, height: m.height, round: m.round, kind: 'proposal' });
    this.joinHeight(now);
    this.values.set(value.id, value);
    if (!this.proposals.has(m.round)) this.proposals.set(m.round, m);
    this.run(this.machine.onProposal({ round: m.round, value, validRound: m.validRound, from: proposer }), now);
  }

  private onVote(from: string, m: VoteMessage, now: number): void {
    const validator = m.validator.toString('hex');
    const key = EquivocationLog.key(m.height, m.round, m.type, validator);
    const valueKey = m.value ? m.value.toString('hex') : 'nil';
    if (m.height !== this.machineHeight || !this.machine) {
      if (m.height > this.state.height + 1) this.peerHeights.set(from, Math.max(this.peerHeights.get(from) ?? 0, m.height - 1));
      // A precommit for the head block that came after the decision: the next block's commit
      // carries it too (validation and uptime credits go to every validator that signed in time).
      if (m.height === this.state.height && this.headCommit) {
        const extended = extendCommit(this.headCommit, m, this.state.lastValidators, (v) => this.voteSigned(v));
        if (extended) this.headCommit = extended;
      }
      // A vote for a past height only matters as evidence of equivocation.
      const seen = this.equivocations.seen(key);
      if (seen !== undefined && seen !== valueKey && this.voteSigned(m)) this.noteEvidence(key, valueKey, { validator, height: m.height, round: m.round, kind: m.type });
      return;
    }
    if (powerOf(this.state.validators, validator) === 0) return;
    if (this.equivocations.seen(key) === valueKey) {
      // Same vote again (gossip): nothing new, unless the machine never saw it (it did: logged after feeding).
      return;
    }
    if (!this.voteSigned(m)) return;
    this.joinHeight(now);
    this.noteEvidence(key, valueKey, { validator, height: m.height, round: m.round, kind: m.type });
    this.run(this.machine.onVote({ type: m.type, round: m.round, valueId: m.value ? m.value.toString('hex') : null, from: validator, envelope: { validator: m.validator, signature: m.signature } }), now);
  }

  private voteSigned(m: VoteMessage): boolean {
    return this.deps.verifier.verify(m.validator, voteSignBytes(this.state.chainId, { type: m.type, height: m.height, round: m.round, value: m.value }), m.signature);
  }

  // ---- gossip (consensus/gossip.ts) ----------------------------------------------------------

  private gossip(now: number): void {
    this.gossipCount++;
    this.out.push(...gossipOutputs({
      count: this.gossipCount, now, self: this.self, slotMs: this.deps.config.slotMs, height: this.machineHeight,
      persistedHeight: this.persistedHeight, machine: this.machine, ownVotes: this.ownVotes, proposals: this.proposals,
      proposalResent: this.proposalResent, validators: this.state.validators, heightStartedAt: this.heightStartedAt,
      lastPrecommit: this.lastPrecommit, localTxs: () => this.deps.mempool.local().map((e) => e.bytes),
    }));
  }

  private flushTxs(): void {
    this.flushAt = null;
    const batch = this.outbox;
    this.outbox = [];
    if (batch.length > 0) this.broadcastTxs(batch);
  }

  /** Transactions in messages of at most 512 KiB, to everyone or to one peer. */
  private broadcastTxs(txs: Buffer[], to?: string): void {
    for (const msg of txMessages(txs)) this.out.push(to === undefined ? { kind: 'broadcast', msg } : { kind: 'send', to, msg });
  }

  private flush(): EngineOutput[] {
    const out = this.out;
    this.out = [];
    return out;
  }
}
