// The simulator's invariants, checked on every message a node sends and every block it commits
// or persists — from the outside, on what actually left the nodes, across crashes:
//   agreement      no two different blocks final at one height (honest nodes)
//   validity       every final block applies on the reference chain and carries a > 2/3 commit
//   lock discipline an honest node precommits v only with 2f+1 prevotes for v in that round, and
//                  never prevotes against its lock without a newer proof-of-lock (a proposal of
//                  round r' with lockedRound ≤ vr < r' and 2f+1 prevotes for it in round vr)
//   no double-sign an honest key never signs two different messages for one (height, round, step)
//   liveness       after the heal a new block is final within 3 slots
//   anchors        an anchor reported final keeps its place forever, on every honest node
//   admission      the validator set changes only by the approved joiner joining; Sybils never
//                  get in (quorums above are weighed with the validator set of each height)
import { checkAndApply, verifyCommit, type AnchorRecord, type Applied } from '../../../services/ledger/chain/apply.js';
import { RecentAnchorIndex } from '../../../services/ledger/chain/recent-anchors.js';
import type { ChainState } from '../../../services/ledger/chain/state.js';
import type { WireMessage } from '../../../services/ledger/codec/messages.js';
import { proposalSignBytes, voteSignBytes } from '../../../services/ledger/codec/vote.js';
import { blockHash, decodeBlock, type Commit } from '../../../services/ledger/codec/block.js';
import { fakeVerifier } from './fake-crypto.js';

export interface Decision {
  readonly height: number;
  readonly hash: Buffer;
  readonly bytes: Buffer;
  readonly commit: Commit;
  readonly anchors: readonly AnchorRecord[];
}

export class Invariants {
  readonly violations: string[] = [];
  private readonly decided = new Map<number, string>();
  private readonly refStates = new Map<number, ChainState>();
  readonly refAnchors = new RecentAnchorIndex();
  /** Called with every block of the reference chain, in height order. */
  readonly onApplied: Array<(a: Applied) => void> = [];
  private readonly signedBy = new Map<string, Map<string, string>>();
  private readonly locks = new Map<string, Map<number, { round: number; value: string }>>();
  private readonly prevotes = new Map<string, Map<string, Set<string>>>(); // h:r → value → validators
  private readonly proposals = new Map<string, Array<{ value: string; validRound: number }>>();
  readonly finalAnchors = new Map<string, string>();
  private healHeight = -1;
  firstBlockAfterHeal: number | null = null;
  firstBlockAt: number | null = null;
  maxHeight = 0;
  private latest: ChainState;
  /** The reference chain's state at its highest decided height. */
  get head(): ChainState { return this.latest; }
  private readonly joined = new Map<string, number>();

  constructor(
    private readonly chainId: string,
    genesisState: ChainState,
    private readonly honestKeys: ReadonlySet<string>,
    private readonly now: () => number,
    /** Keys that may join (the approved joiner); any other change of the set is a violation. */
    private readonly allowedJoiners: readonly string[] = [],
  ) {
    this.refStates.set(0, genesisState);
    this.latest = genesisState;
  }

  fail(msg: string): void {
    if (this.violations.length < 20) this.violations.push(`t=${this.now()} ${msg}`);
  }

  /** More than 2/3 of the power of the validators of `height`. */
  private quorum(height: number, voters: Iterable<string>): boolean {
    const vals = (this.refStates.get(height - 1) ?? this.latest).validators;
    const power = new Map(vals.map((v) => [v.publicKey, v.power]));
    let p = 0;
    let total = 0;
    for (const v of power.values()) total += v;
    for (const v of voters) p += power.get(v) ?? 0;
    return 3 * p > 2 * total;
  }

  private pol(height: number, round: number, value: string): boolean {
    return this.quorum(height, this.prevotes.get(`${height}:${round}`)?.get(value) ?? []);
  }

  /** The height of the block that admitted `key`, or null. */
  joinedAt(key: string): number | null {
    return this.joined.get(key) ?? null;
  }

  checkNeverJoined(keys: readonly string[]): void {
    for (const k of keys) if (this.latest.validators.some((v) => v.publicKey === k) || this.joined.has(k)) this.fail(`admission: unapproved key ${k.slice(0, 8)} became a validator`);
  }

  /** Every proposal and vote a node sends, before the network sees it. */
  onSend(instance: string, msg: WireMessage): void {
    if (msg.t !== 'proposal' && msg.t !== 'vote') return;
    if (msg.t === 'proposal') {
      const hash = blockHash(decodeBlock(msg.block).header).toString('hex');
      const key = `${msg.height}:${msg.round}`;
      const list = this.proposals.get(key) ?? [];
      list.push({ value: hash, validRound: msg.validRound });
      this.proposals.set(key, list);
      this.checkSigned(instance, msg.proposer.toString('hex'), `${msg.height}:${msg.round}:0`,
        proposalSignBytes(this.chainId, { height: msg.height, round: msg.round, validRound: msg.validRound, blockHash: Buffer.from(hash, 'hex') }).toString('hex'));
      return;
    }
    const who = msg.validator.toString('hex');
    const value = msg.value ? msg.value.toString('hex') : 'nil';
    if (msg.type === 'prevote') {
      const key = `${msg.height}:${msg.round}`;
      let byValue = this.prevotes.get(key);
      if (!byValue) this.prevotes.set(key, (byValue = new Map()));
      let set = byValue.get(value);
      if (!set) byValue.set(value, (set = new Set()));
      set.add(who);
    }
    const fresh = this.checkSigned(instance, who, `${msg.height}:${msg.round}:${msg.type === 'prevote' ? 1 : 2}`,
      voteSignBytes(this.chainId, { type: msg.type, height: msg.height, round: msg.round, value: msg.value }).toString('hex'));
    // A re-sent vote (gossip) was judged when it was first sent.
    if (!fresh || !this.honestKeys.has(who) || value === 'nil') return;

    let locks = this.locks.get(who);
    if (!locks) this.locks.set(who, (locks = new Map()));
    const lock = locks.get(msg.height);
    if (msg.type === 'precommit') {
      if (!this.pol(msg.height, msg.round, value)) this.fail(`lock discipline: ${instance} precommitted ${value.slice(0, 8)} at h${msg.height}/r${msg.round} without 2f+1 prevotes`);
      if (!lock || msg.round >= lock.round) locks.set(msg.height, { round: msg.round, value });
    } else if (lock && lock.value !== value) {
      if (msg.round <= lock.round) {
        this.fail(`lock discipline: ${instance} prevoted ${value.slice(0, 8)} at h${msg.height}/r${msg.round}, not after its lock in r${lock.round}`);
        return;
      }
      const justified = (this.proposals.get(`${msg.height}:${msg.round}`) ?? []).some((p) =>
        p.value === value && p.validRound >= lock.round && p.validRound < msg.round && this.pol(msg.height, p.validRound, value));
      if (!justified) this.fail(`lock discipline: ${instance} locked on ${lock.value.slice(0, 8)} in r${lock.round} prevoted ${value.slice(0, 8)} at h${msg.height}/r${msg.round} without a newer proof-of-lock`);
    }
  }

  /** True the first time this key signs at this step. */
  private checkSigned(instance: string, key: string, step: string, bytes: string): boolean {
    if (!this.honestKeys.has(key)) return true;
    let m = this.signedBy.get(key);
    if (!m) this.signedBy.set(key, (m = new Map()));
    const prev = m.get(step);
    if (prev === undefined) {
      m.set(step, bytes);
      return true;
    }
    if (prev !== bytes) this.fail(`double sign: honest ${instance} signed two messages for h:r:step ${step}`);
    return false;
  }

  /** A block an honest node committed (by consensus or sync). */
  onDecide(instance: string, d: Decision): void {
    const hash = d.hash.toString('hex');
    this.maxHeight = Math.max(this.maxHeight, d.height);
    const prev = this.decided.get(d.height);
    if (prev !== undefined) {
      if (prev !== hash) this.fail(`agreement: ${instance} decided ${hash.slice(0, 8)} at h${d.height}, another node ${prev.slice(0, 8)}`);
      return;
    }
    this.decided.set(d.height, hash);
    this.firstBlockAt ??= this.now();
    if (this.healHeight >= 0 && this.firstBlockAfterHeal === null && d.height > this.healHeight) this.firstBlockAfterHeal = this.now();
    const ref = this.refStates.get(d.height - 1);
    if (!ref) {
      this.fail(`validity: ${instance} decided h${d.height} before anyone decided h${d.height - 1}`);
      return;
    }
    try {
      const applied = checkAndApply(ref, d.bytes, { verifier: fakeVerifier, recentAnchors: this.refAnchors });
      if (!applied.hash.equals(d.hash)) this.fail(`validity: h${d.height} hash mismatch`);
      const why = verifyCommit(this.chainId, d.commit, d.height, d.hash, ref.validators, fakeVerifier);
      if (why) this.fail(`validity: h${d.height} commit: ${why}`);
      this.refAnchors.add(applied.anchors);
      const before = new Set(ref.validators.map((v) => v.publicKey));
      const after = new Set(applied.state.validators.map((v) => v.publicKey));
      for (const k of after) {
        if (before.has(k)) continue;
        if (this.allowedJoiners.includes(k)) this.joined.set(k, d.height);
        else this.fail(`admission: h${d.height} admitted ${k.slice(0, 8)}, which nobody approved`);
      }
      for (const k of before) if (!after.has(k)) this.fail(`admission: h${d.height} removed validator ${k.slice(0, 8)}`);
      this.refStates.set(d.height, applied.state);
      if (d.height >= this.latest.height) this.latest = applied.state;
      for (const f of this.onApplied) f(applied);
      if (this.refStates.size > 64) this.refStates.delete(Math.min(...this.refStates.keys()));
    } catch (err) {
      this.fail(`validity: ${instance} decided an invalid block at h${d.height}: ${(err as Error).message}`);
    }
  }

  /** A block became durable on an honest node: its anchors are now reported final. */
  onPersisted(instance: string, anchors: readonly AnchorRecord[]): void {
    for (const a of anchors) {
      const where = `${a.height}:${a.txIndex}`;
      const prev = this.finalAnchors.get(a.manifestHash);
      if (prev === undefined) this.finalAnchors.set(a.manifestHash, where);
      else if (prev !== where) this.fail(`anchor moved: ${instance} has ${a.manifestHash.slice(0, 8)} at ${where}, earlier ${prev}`);
    }
  }

  /** At the heal: remember the height; a higher one must be decided within 3 slots. */
  onHeal(): void {
    this.healHeight = this.maxHeight;
    this.firstBlockAfterHeal = null;
  }

  /** With idle heights (issue 24) the first block may be the heartbeat: due `emptyBlockIntervalMs` after the last one. */
  checkLiveness(healAt: number, slotMs: number, emptyBlockIntervalMs: number | null = null): void {
    const bound = 3 * slotMs + (emptyBlockIntervalMs ?? 0);
    if (this.firstBlockAfterHeal === null) this.fail(`liveness: no block after the heal at t=${healAt} (height stayed ${this.healHeight})`);
    else if (this.firstBlockAfterHeal - healAt > bound) this.fail(`liveness: first block after the heal took ${this.firstBlockAfterHeal - healAt} ms (> ${bound} ms)`);
  }

  /** Every anchor reported final is on every honest node that reached its height, in the same place. */
  checkAnchorsKept(instance: string, persistedHeight: number, anchorsOnDisk: ReadonlyMap<string, string>): void {
    for (const [m, where] of this.finalAnchors) {
      const h = Number(where.split(':')[0]);
      if (h > persistedHeight) continue;
      if (anchorsOnDisk.get(m) !== where) this.fail(`anchor lost: ${instance} (height ${persistedHeight}) has ${m.slice(0, 8)} at ${anchorsOnDisk.get(m) ?? 'nowhere'}, reported final at ${where}`);
    }
  }
}
