// The work-credit side of the state transition (README "Work credits"), one block at a time:
// validation and uptime from the commit the block carries, anchors, storage answers and verdicts
// from its transactions, then — with the block's hash — the outcome of open challenges and the
// new ones. Pure and deterministic: every input is the previous state, the block and the anchors
// of the window, so every honest node computes the same records.
import { createHash } from 'node:crypto';
import { verifyInclusion } from '../../common/merkle.js';
import { MAX_CHUNK_SIZE, MIN_CHUNK_SIZE } from '../../chunks/index.js';
import type { AnchorTx, StorageAnswerTx, VerdictsTx } from '../codec/tx.js';
import type { AnchorRecord, RecentAnchors } from '../chain/apply.js';
import {
  emptyCounts, epochOf, powerOf, totalPower, windowEpochs,
  type ChainState, type Challenge, type EpochState, type ValidatorEntry, type WorkCounts,
} from '../chain/state.js';

const CHALLENGE_DOMAIN = Buffer.from('lucid/challenge/v2', 'ascii');

export const challengeKey = (height: number, seq: number): string => `${height}:${seq}`;

/** The seed of challenge `seq` issued by the block with hash `blockHash` to `node` (hex). */
export function challengeSeed(blockHash: Buffer, seq: number, node: string): Buffer {
  const s = Buffer.alloc(4);
  s.writeUInt32BE(seq);
  return createHash('sha256').update(CHALLENGE_DOMAIN).update(blockHash).update(s).update(Buffer.from(node, 'hex')).digest();
}

/** A uniform pick in 0..n-1 from 8 bytes of a seed (bias < n / 2^64). */
export function pick(seed: Buffer, offset: number, n: number): number {
  return Number(seed.readBigUInt64BE(offset) % BigInt(n));
}

/** Why an anchor's sizes cannot be a manifest's, or null (README "Transactions", anchor). */
export function anchorSizeProblem(tx: Pick<AnchorTx, 'chunkCount' | 'chunkSize' | 'totalBytes'>): string | null {
  if (tx.chunkSize < MIN_CHUNK_SIZE || tx.chunkSize > MAX_CHUNK_SIZE) return `chunk size ${tx.chunkSize} outside ${MIN_CHUNK_SIZE}..${MAX_CHUNK_SIZE}`;
  if (tx.chunkCount === 0) return tx.totalBytes === 0 ? null : 'an empty session has no bytes';
  const n = BigInt(tx.chunkCount);
  const size = BigInt(tx.chunkSize);
  const total = BigInt(tx.totalBytes);
  // Every chunk but the last holds chunkSize bytes, the last 1..chunkSize.
  if (total <= (n - 1n) * size || total > n * size) return `${tx.totalBytes} bytes cannot fill ${tx.chunkCount} chunks of ${tx.chunkSize}`;
  return null;
}

export interface BookInput {
  readonly state: ChainState;
  readonly height: number;
  readonly time: number;
  readonly anchors: RecentAnchors;
}

export class CreditBook {
  readonly epoch: number;
  readonly epochs: Record<string, EpochState> = {};
  private readonly firstEpoch: number;
  private readonly open = new Map<string, Challenge>();
  private readonly newAnchors: AnchorRecord[] = [];
  private readonly p: ChainState['params'];

  constructor(private readonly i: BookInput) {
    this.p = i.state.params;
    this.epoch = epochOf(this.p, i.time);
    this.firstEpoch = this.epoch - windowEpochs(this.p) + 1;
    for (const [k, v] of Object.entries(i.state.epochs)) {
      if (Number(k) >= this.firstEpoch) this.epochs[k] = { ...v, nodes: Object.fromEntries(Object.entries(v.nodes).map(([n, c]) => [n, { ...c }])) };
    }
    this.record(this.epoch).blocks += 1;
    for (const c of i.state.challenges) this.open.set(challengeKey(c.height, c.seq), c);
  }

  private record(e: number): EpochState {
    return (this.epochs[String(e)] ??= { blocks: 0, chainMs: 0, closedBy: null, nodes: {} });
  }

  /** Counts of a node in an epoch of the window (outside it: a scratch object nobody keeps). */
  counts(e: number, node: string): WorkCounts {
    if (e < this.firstEpoch) return emptyCounts();
    return (this.record(e).nodes[node] ??= emptyCounts());
  }

  /** An anchored manifest whose position is not yet an AnchorRecord (the anchor's own block). */
  private inWindow(a: { time: number } | undefined): boolean {
    return a !== undefined && epochOf(this.p, a.time) >= this.firstEpoch;
  }

  anchor(a: AnchorRecord | undefined): AnchorRecord | undefined {
    return a && this.inWindow(a) ? a : undefined;
  }

  /**
   * The commit carried by this block (precommits for block height − 1): one validation each,
   * and the interval (time of block height − 2, time of block height − 1] — capped at
   * uptimeMaxGapMs, split at epoch boundaries — as uptime of each signer.
   */
  commitSigners(signers: readonly string[]): void {
    for (const s of signers) this.counts(this.epoch, s).validation += 1;
    if (this.i.state.height < 1 || signers.length === 0) return;
    const end = this.i.state.headTime;
    const start = Math.max(this.i.state.prevTime, end - this.p.uptimeMaxGapMs);
    const E = this.p.epochMs;
    for (let e = Math.floor(start / E); e * E < end; e++) {
      const len = Math.min(end, (e + 1) * E) - Math.max(start, e * E);
      if (len <= 0 || e < this.firstEpoch) continue;
      this.record(e).chainMs += len;
      for (const s of signers) this.counts(e, s).uptimeMs += len;
    }
  }

  anchored(a: AnchorRecord): void {
    this.counts(this.epoch, a.node).anchors += 1;
    this.newAnchors.push(a);
  }

  /** Applies a storage answer; returns why it is invalid, or null. */
  answer(tx: StorageAnswerTx): string | null {
    const key = challengeKey(tx.challenge.height, tx.challenge.seq);
    const c = this.open.get(key);
    if (!c) return `no open challenge ${key}`;
    if (c.node !== tx.node.toString('hex')) return `challenge ${key} is another node's`;
    if (c.answer !== null) return `challenge ${key} is already answered`;
    if (this.i.time > c.issuedAt + this.p.answerMs) return `answer to ${key} after its deadline`;
    const a = this.anchor(this.i.anchors.get(c.manifest));
    if (!a) return `the session of ${key} left the window`;
    if (!verifyInclusion(tx.leafHash, c.index, a.chunkCount, tx.path, Buffer.from(a.merkleRoot, 'hex'))) return `answer to ${key}: the path does not lead to the anchored root`;
    this.open.set(key, { ...c, answer: { leaf: tx.leafHash.toString('hex'), digest: tx.digest.toString('hex'), height: this.i.height, at: this.i.time } });
    return null;
  }

  /** Applies a validator's verdicts; returns why the transaction is invalid, or null. Verdicts that no longer apply are ignored. */
  verdicts(tx: VerdictsTx): string | null {
    const v = tx.node.toString('hex');
    if (powerOf(this.i.state.validators, v) === 0) return 'verdicts come from validators only';
    const seen = new Set<string>();
    for (const d of tx.verdicts) {
      const key = challengeKey(d.height, d.seq);
      if (seen.has(key)) return `verdict on ${key} repeated`;
      seen.add(key);
      const c = this.open.get(key);
      // Only on an answer of an earlier block (the validator fetched the object after seeing it
      // final), in time, once per validator.
      if (!c?.answer || c.answer.height >= this.i.height || this.i.time > c.answer.at + this.p.verifyMs) continue;
      if (c.ok.includes(v) || c.wrong.includes(v)) continue;
      this.open.set(key, d.ok ? { ...c, ok: [...c.ok, v] } : { ...c, wrong: [...c.wrong, v] });
    }
    return null;
  }

  /**
   * After the transactions: settles open challenges (credit on > 2/3 of the power saying ok,
   * failure on > 1/3 saying wrong, expiry past a deadline), issues the new ones from this block's
   * hash, closes earlier epochs. Returns the credit fields of the next state.
   */
  finish(blockHash: Buffer, proposer: string, validators: readonly ValidatorEntry[]): Pick<ChainState, 'epochs' | 'challenges' | 'intakeQueue' | 'nextAuditAt'> {
    const T = this.i.time;
    const total = totalPower(validators);
    const power = (keys: readonly string[]): number => keys.reduce((a, k) => a + powerOf(validators, k), 0);
    const kept: Challenge[] = [];
    for (const c of this.open.values()) {
      const a = this.anchor(this.i.anchors.get(c.manifest));
      if (!a) continue;
      if (c.answer && 3 * power(c.ok) > 2 * total) {
        const w = this.counts(this.epoch, c.node);
        if (c.kind === 'intake') {
          w.relaySessions += 1;
          w.relayBytes += a.totalBytes;
        } else {
          w.storage += 1;
        }
        continue;
      }
      if (3 * power(c.wrong) > total) continue;
      if (!c.answer && T > c.issuedAt + this.p.answerMs) continue;
      if (c.answer && T > c.answer.at + this.p.verifyMs) continue;
      kept.push(c);
    }

    // New challenges: never to the node that proposed this block (it could have ground the hash),
    // unless it is the only validator and nobody else can.
    const exempt = (node: string): boolean => node === proposer && validators.length > 1;
    let seq = 0;
    const issue = (kind: Challenge['kind'], node: string, a: AnchorRecord, seed: Buffer, s: number): void => {
      kept.push({ height: this.i.height, seq: s, kind, node, manifest: a.manifestHash, index: pick(seed, 8, a.chunkCount), seed: seed.toString('hex'), issuedAt: T, answer: null, ok: [], wrong: [] });
    };
    const intakeQueue: string[] = [];
    const fresh = new Map(this.newAnchors.map((a) => [a.manifestHash, a]));
    for (const m of [...this.i.state.intakeQueue, ...fresh.keys()]) {
      const a = fresh.get(m) ?? this.anchor(this.i.anchors.get(m));
      if (!a || a.chunkCount === 0) continue;
      if (exempt(a.node)) { intakeQueue.push(m); continue; }
      const s = seq++;
      issue('intake', a.node, a, challengeSeed(blockHash, s, a.node), s);
    }
    // Only what the state says decides (the index may still hold entries older than the window
    // on one node and not on another): a due time in the past is the same as none.
    const nextAuditAt: Record<string, number> = {};
    for (const [node, due] of Object.entries(this.i.state.nextAuditAt)) if (due > T) nextAuditAt[node] = due;
    const audited = new Set(kept.filter((c) => c.kind === 'audit').map((c) => c.node));
    for (const node of this.i.anchors.nodes()) {
      const due = this.i.state.nextAuditAt[node] ?? 0;
      if (due > T || audited.has(node) || exempt(node)) continue;
      const sessions = this.i.anchors.byNode(node).filter((a) => a.chunkCount > 0 && this.inWindow(a));
      if (sessions.length === 0) continue;
      const s = seq++;
      const seed = challengeSeed(blockHash, s, node);
      issue('audit', node, sessions[pick(seed, 0, sessions.length)]!, seed, s);
      nextAuditAt[node] = T + this.p.challengePeriodMs;
      this.counts(this.epoch, node).audits += 1;
    }

    // Epoch e is final once the previous block's time is past it: this block may still add the
    // uptime its commit vouches for (which ends at the previous block's time), no later one can.
    const settled = epochOf(this.p, this.i.state.headTime);
    for (const [k, ep] of Object.entries(this.epochs)) if (Number(k) < settled && ep.closedBy === null) ep.closedBy = this.i.height;
    return { epochs: this.epochs, challenges: kept, intakeQueue, nextAuditAt };
  }
}
