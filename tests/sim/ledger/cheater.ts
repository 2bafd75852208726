// The false-credit scenario's node: a validator that runs the honest consensus engine but lies
// about its work in every way the credit rules must catch (README "Storage challenges"):
//   forge    — answers a challenge on a session it never had with a made-up leaf and path
//   leaf     — kept the tree's leaf hashes but dropped the objects: right leaf and path, made-up
//              digest, garbage when a validator asks for the object
//   replay   — sends an answer it made for an earlier challenge again, or re-signs its leaf,
//              digest and path for the new challenge
//   late     — holds the object but answers after the deadline
//   inflate  — anchors sessions with sizes no tree of theirs has, or sizes no manifest can have,
//              and sends first-format relay proofs with a self-reported byte count
//   vote     — says "ok" to its own answers and "wrong" to everyone else's
// The simulation's invariant: whatever it does, it never earns a relay or storage credit.
import { signTx, type Verdict } from '../../../services/ledger/codec/tx.js';
import { challengeKey } from '../../../services/ledger/credits/book.js';
import { answerDigest, makeAnswer } from '../../../services/ledger/credits/answer.js';
import type { CreditOutput } from '../../../services/ledger/credits/worker.js';
import type { RecentAnchors } from '../../../services/ledger/chain/apply.js';
import type { ChainState } from '../../../services/ledger/chain/state.js';
import type { WireMessage } from '../../../services/ledger/codec/messages.js';
import type { Signer } from '../../../services/ledger/crypto.js';
import { inclusionPath, sha256 } from '../../../services/common/merkle.js';
import type { Rng } from './rng.js';
import type { SimStore } from './sessions.js';

export interface CheaterDeps {
  readonly chainId: string;
  readonly signer: Signer;
  readonly anchors: RecentAnchors;
  readonly store: SimStore;
  readonly rng: Rng;
  readonly emit: (o: CreditOutput) => void;
  readonly now: () => number;
  readonly slotMs: number;
  /** Attempts by kind, kept across the node's restarts. */
  readonly counts: Record<'forge' | 'leaf' | 'replay' | 'late' | 'vote', number>;
}

export class Cheater {
  private readonly self: string;
  private readonly tried = new Set<string>();
  private readonly voted = new Set<string>();
  private readonly old: Buffer[] = [];
  private readonly oldParts: Array<{ manifest: string; index: number; leaf: Buffer; digest: Buffer; path: Buffer[] }> = [];
  private later: Array<{ at: number; tx: Buffer }> = [];
  private verdicts: Verdict[] = [];
  private flushAt = Number.POSITIVE_INFINITY;
  private state: ChainState | null = null;
  private readonly counts: CheaterDeps['counts'];

  constructor(private readonly d: CheaterDeps) {
    this.self = d.signer.publicKey.toString('hex');
    this.counts = d.counts;
  }

  onState(state: ChainState): void {
    this.state = state;
    const sign = (m: Uint8Array): Buffer => this.d.signer.sign(m);
    for (const c of state.challenges) {
      const key = challengeKey(c.height, c.seq);
      if (c.answer && !this.voted.has(key)) {
        this.voted.add(key);
        this.verdicts.push({ height: c.height, seq: c.seq, ok: c.node === this.self });
        this.counts.vote++;
        if (this.flushAt === Number.POSITIVE_INFINITY) this.flushAt = this.d.now() + this.d.slotMs / 5;
      }
      if (c.node !== this.self || c.answer || this.tried.has(key)) continue;
      this.tried.add(key);
      const s = this.d.store.sessions.get(c.manifest);
      const node = this.d.signer.publicKey;
      const ref = { height: c.height, seq: c.seq };
      if (this.old.length > 0 && this.d.rng.chance(0.35)) {
        this.counts.replay++;
        const prev = this.oldParts.find((p) => p.manifest === c.manifest && p.index === c.index) ?? this.oldParts[this.oldParts.length - 1];
        if (prev && this.d.rng.chance(0.5)) {
          this.d.emit({ kind: 'tx', tx: signTx(this.d.chainId, { type: 'work', kind: 'answer', node, challenge: ref, leafHash: prev.leaf, digest: prev.digest, path: prev.path }, sign) });
        } else {
          this.d.emit({ kind: 'tx', tx: this.old[this.d.rng.int(0, this.old.length - 1)]! });
        }
        continue;
      }
      if (!s) {
        this.counts.forge++;
        const path = Array.from({ length: this.d.rng.int(0, 3) }, (_, i) => sha256(Buffer.from(`forged:${key}:${i}`)));
        this.d.emit({ kind: 'tx', tx: signTx(this.d.chainId, { type: 'work', kind: 'answer', node, challenge: ref, leafHash: sha256(Buffer.from(`leaf:${key}`)), digest: sha256(Buffer.from(`d:${key}`)), path }, sign) });
        continue;
      }
      const path = inclusionPath(s.leaves, c.index);
      if (!s.objects) {
        this.counts.leaf++;
        const digest = sha256(Buffer.from(`guess:${key}`));
        const tx = signTx(this.d.chainId, { type: 'work', kind: 'answer', node, challenge: ref, leafHash: s.leaves[c.index]!, digest, path }, sign);
        this.remember(tx, c.manifest, c.index, s.leaves[c.index]!, digest, path);
        this.d.emit({ kind: 'tx', tx });
        continue;
      }
      // Holds the object, but answers once the deadline has passed.
      this.counts.late++;
      const obj = s.objects[c.index]!;
      const tx = makeAnswer(this.d.chainId, c, node, obj, path, sign);
      this.remember(tx, c.manifest, c.index, s.leaves[c.index]!, answerDigest(Buffer.from(c.seed, 'hex'), node, obj), path);
      this.later.push({ at: c.issuedAt + state.params.answerMs + this.d.rng.int(1, this.d.slotMs), tx });
    }
  }

  private remember(tx: Buffer, manifest: string, index: number, leaf: Buffer, digest: Buffer, path: Buffer[]): void {
    this.old.push(tx);
    this.oldParts.push({ manifest, index, leaf, digest, path });
  }

  onMessage(from: string, msg: WireMessage): void {
    if (msg.t !== 'getObject') return;
    // Garbage in place of the object it no longer has (or silence).
    if (this.d.rng.chance(0.5)) this.d.emit({ kind: 'send', to: from, msg: { t: 'object', height: msg.height, seq: msg.seq, object: sha256(Buffer.from(`junk:${msg.height}:${msg.seq}`)) } });
  }

  tick(): void {
    const now = this.d.now();
    const due = this.later.filter((l) => l.at <= now);
    this.later = this.later.filter((l) => l.at > now);
    for (const l of due) this.d.emit({ kind: 'tx', tx: l.tx });
    if (this.flushAt <= now && this.state && this.state.validators.some((v) => v.publicKey === this.self)) {
      this.flushAt = Number.POSITIVE_INFINITY;
      const verdicts = this.verdicts.splice(0, 1024);
      this.d.emit({ kind: 'tx', tx: signTx(this.d.chainId, { type: 'work', kind: 'verdicts', node: this.d.signer.publicKey, verdicts }, (m) => this.d.signer.sign(m)) });
    }
  }

  nextWakeAt(): number {
    let at = this.flushAt;
    for (const l of this.later) if (l.at < at) at = l.at;
    return at;
  }
}
