// One node's part in storage challenges (README "Storage challenges"), driven by the durable chain
// state: it answers the challenges addressed to this node from the chunk objects it holds, and —
// as a validator — fetches the object of every answered challenge from the challenged node,
// checks it and puts its verdicts on chain (batched). It keeps no state of its own that matters:
// after a restart the chain state tells it again what is open, and its transactions are
// deterministic (the same answer makes the same bytes). Production (service.ts) and the simulator
// drive this same class; reading an object may be synchronous (simulator) or not (the disk).
import type { Signer } from '../crypto.js';
import type { WireMessage } from '../codec/messages.js';
import { signTx, type Verdict } from '../codec/tx.js';
import type { AnchorRecord, RecentAnchors } from '../chain/apply.js';
import { powerOf, type ChainState, type Challenge } from '../chain/state.js';
import { MAX_VERDICTS } from './work-tx.js';
import { challengeKey } from './book.js';
import { checkObject, makeAnswer } from './answer.js';

export interface ChunkQuery {
  readonly sessionId: string;
  readonly manifestHash: string;
  readonly index: number;
}

export interface StoredChunk {
  readonly object: Buffer;
  /** RFC 6962 audit path of the chunk's leaf in the session's tree. */
  readonly path: readonly Buffer[];
}

/** Where a node's own sessions are: the sessions service in core, memory in the simulator. */
export interface ChunkPort {
  /** The stored chunk object `index` of the session anchored as `manifestHash`, or null when this node does not hold it. */
  read(q: ChunkQuery): Promise<StoredChunk | null> | StoredChunk | null;
}

export type CreditOutput =
  | { readonly kind: 'tx'; readonly tx: Buffer }
  | { readonly kind: 'send'; readonly to: string; readonly msg: WireMessage };

export interface CreditWorkerDeps {
  readonly chainId: string;
  readonly signer: Signer;
  /** The engine's index of the window's anchors (the same one block validation uses). */
  readonly anchors: RecentAnchors;
  /** This node's sessions; absent: it holds none and answers nothing. */
  readonly port?: ChunkPort;
  readonly emit: (o: CreditOutput) => void;
  readonly now: () => number;
  /** Ask again for an object after this long. */
  readonly retryMs: number;
  /** Send again an answer or verdict still not on chain after this long (default 3 × retryMs; keep it above a slot). */
  readonly resendMs?: number;
  /** Verdicts wait this long to share one transaction. */
  readonly batchMs: number;
  readonly onError?: (what: string, err: unknown) => void;
  /** Test only: say "ok" to every answer without fetching the object (the simulation must catch it). */
  readonly injectTrustBug?: boolean;
}

/** Objects (up to 16 MiB each) a validator asks for at once, and a node reads to serve at once / keeps queued. */
const MAX_ASKS = 8;
const MAX_SERVING = 2;
const MAX_SERVE_QUEUE = 64;

const then = <T>(v: Promise<T> | T, f: (x: T) => void, fail: (e: unknown) => void): void => {
  if (v instanceof Promise) v.then(f, fail);
  else f(v);
};

export class CreditWorker {
  private state: ChainState | null = null;
  private byKey = new Map<string, Challenge>();
  private serving = 0;
  private readonly serveQueue: Array<() => void> = [];
  private readonly self: string;
  private readonly answered = new Map<string, { tx: Buffer | null; at: number }>();
  private readonly asking = new Map<string, number>(); // key → next ask time
  private readonly judged = new Map<string, { ok: boolean; at: number }>();
  private readonly served = new Map<string, number>(); // `${peer}/${key}` → last time served
  private pending: Verdict[] = [];
  private flushAt: number | null = null;

  private readonly resendMs: number;

  constructor(private readonly deps: CreditWorkerDeps) {
    this.self = deps.signer.publicKey.toString('hex');
    this.resendMs = deps.resendMs ?? 3 * deps.retryMs;
  }

  private open(key: string): Challenge | undefined {
    return this.byKey.get(key);
  }

  private anchor(c: Challenge): AnchorRecord | undefined {
    return this.deps.anchors.get(c.manifest);
  }

  /** A block became durable: act on the challenges of its state. */
  onState(state: ChainState): void {
    this.state = state;
    this.byKey = new Map(state.challenges.map((c) => [challengeKey(c.height, c.seq), c]));
    const now = this.deps.now();
    const keys = this.byKey;
    for (const m of [this.answered, this.asking, this.judged] as Map<string, unknown>[]) for (const k of m.keys()) if (!keys.has(k)) m.delete(k);
    for (const k of this.served.keys()) if (!keys.has(k.slice(k.indexOf('/') + 1))) this.served.delete(k);
    const validator = powerOf(state.validators, this.self) > 0;
    for (const c of state.challenges) {
      const key = challengeKey(c.height, c.seq);
      if (c.node === this.self && c.answer === null) this.answer(c, key, now);
      if (!c.answer || !validator || c.ok.includes(this.self) || c.wrong.includes(this.self) || this.asking.has(key)) continue;
      const j = this.judged.get(key);
      if (j) {
        // Our verdict is not on chain yet: the transaction was lost (a restart, a full mempool).
        if (now - j.at > this.resendMs) this.queue(c, j.ok, now);
        continue;
      }
      if (this.deps.injectTrustBug) this.queue(c, true, now);
      else if (c.node === this.self) this.verifyOwn(c, key);
      else this.asking.set(key, now);
    }
  }

  private answer(c: Challenge, key: string, now: number): void {
    const done = this.answered.get(key);
    if (done) {
      if (done.tx && now - done.at > this.resendMs) {
        this.answered.set(key, { tx: done.tx, at: now });
        this.deps.emit({ kind: 'tx', tx: done.tx });
      }
      return;
    }
    const a = this.anchor(c);
    if (!a || !this.deps.port || now > c.issuedAt + this.state!.params.answerMs) return;
    this.answered.set(key, { tx: null, at: now });
    then(this.deps.port.read({ sessionId: a.sessionId, manifestHash: a.manifestHash, index: c.index }), (chunk) => {
      if (!chunk) return; // not held here: no answer, no credit
      const tx = makeAnswer(this.deps.chainId, c, this.deps.signer.publicKey, chunk.object, chunk.path, (m) => this.deps.signer.sign(m));
      this.answered.set(key, { tx, at: this.deps.now() });
      this.deps.emit({ kind: 'tx', tx });
    }, (err) => this.deps.onError?.('reading a challenged chunk', err));
  }

  private verifyOwn(c: Challenge, key: string): void {
    const a = this.anchor(c);
    if (!a || !this.deps.port) return;
    this.asking.set(key, Number.POSITIVE_INFINITY); // reading; not asked over the network
    then(this.deps.port.read({ sessionId: a.sessionId, manifestHash: a.manifestHash, index: c.index }), (chunk) => {
      this.asking.delete(key);
      const now = this.deps.now();
      const open = this.open(key);
      if (open?.answer) this.judge(open, key, chunk ? checkObject(open, a, chunk.object) === null : false, now);
    }, (err) => this.deps.onError?.('reading our own challenged chunk', err));
  }

  private judge(c: Challenge, key: string, ok: boolean, now: number): void {
    this.asking.delete(key);
    this.queue(c, ok, now);
  }

  private queue(c: Challenge, ok: boolean, now: number): void {
    this.judged.set(challengeKey(c.height, c.seq), { ok, at: now });
    if (this.pending.some((v) => v.height === c.height && v.seq === c.seq)) return;
    this.pending.push({ height: c.height, seq: c.seq, ok });
    this.flushAt ??= now + this.deps.batchMs;
  }

  onMessage(from: string, msg: WireMessage): void {
    if (msg.t === 'getObject') this.serve(from, msg.height, msg.seq);
    else if (msg.t === 'object') this.received(from, msg.height, msg.seq, msg.object);
  }

  /** A validator asks for the object of our answered challenge. */
  private serve(peer: string, height: number, seq: number): void {
    const key = challengeKey(height, seq);
    const c = this.open(key);
    if (!c || c.node !== this.self || !c.answer || !this.deps.port || powerOf(this.state!.validators, peer) === 0) return;
    const now = this.deps.now();
    const last = this.served.get(`${peer}/${key}`);
    if (last !== undefined && now - last < this.deps.retryMs / 2) return;
    this.served.set(`${peer}/${key}`, now);
    const a = this.anchor(c);
    const port = this.deps.port;
    if (!a) return;
    // A few reads at a time, a bounded queue: thousands of asks must not hold gigabytes in memory
    // (a dropped ask is asked again after retryMs).
    if (this.serveQueue.length >= MAX_SERVE_QUEUE) return;
    this.serveQueue.push(() => {
      this.serving++;
      const done = (): void => {
        this.serving--;
        this.serveQueue.shift()?.();
      };
      then(port.read({ sessionId: a.sessionId, manifestHash: a.manifestHash, index: c.index }), (chunk) => {
        if (chunk) this.deps.emit({ kind: 'send', to: peer, msg: { t: 'object', height, seq, object: chunk.object } });
        done();
      }, (err) => {
        this.deps.onError?.('serving a challenged chunk', err);
        done();
      });
    });
    if (this.serving < MAX_SERVING) this.serveQueue.shift()!();
  }

  private received(from: string, height: number, seq: number, object: Buffer): void {
    const key = challengeKey(height, seq);
    const c = this.open(key);
    // Only what we asked for, and only from the challenged node itself: a third party's bytes
    // must not turn into a "wrong" verdict against an honest node.
    if (!c?.answer || c.node !== from || !this.asking.has(key) || this.judged.has(key)) return;
    const a = this.anchor(c);
    if (!a) return;
    this.judge(c, key, checkObject(c, a, object) === null, this.deps.now());
  }

  /** Due retries and the verdict batch. */
  tick(): void {
    const now = this.deps.now();
    let inFlight = 0;
    for (const at of this.asking.values()) if (at > now && at !== Number.POSITIVE_INFINITY) inFlight++;
    for (const [key, at] of this.asking) {
      if (at > now) continue;
      const c = this.open(key);
      if (!c?.answer || now > c.answer.at + this.state!.params.verifyMs) {
        this.asking.delete(key);
        continue;
      }
      if (inFlight >= MAX_ASKS) {
        this.asking.set(key, now + this.deps.retryMs / 4); // its turn comes when an object arrives or an ask times out
        continue;
      }
      inFlight++;
      this.asking.set(key, now + this.deps.retryMs);
      this.deps.emit({ kind: 'send', to: c.node, msg: { t: 'getObject', height: c.height, seq: c.seq } });
    }
    if (this.flushAt !== null && this.flushAt <= now) {
      this.flushAt = null;
      const all = this.pending;
      this.pending = [];
      for (let i = 0; i < all.length; i += MAX_VERDICTS) {
        const tx = signTx(this.deps.chainId, { type: 'work', kind: 'verdicts', node: this.deps.signer.publicKey, verdicts: all.slice(i, i + MAX_VERDICTS) }, (m) => this.deps.signer.sign(m));
        this.deps.emit({ kind: 'tx', tx });
      }
    }
  }

  nextWakeAt(): number {
    let at = this.flushAt ?? Number.POSITIVE_INFINITY;
    for (const t of this.asking.values()) if (t < at) at = t;
    return at;
  }
}
