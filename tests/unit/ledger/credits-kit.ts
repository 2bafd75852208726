// Helpers for the work-credit tests: well-formed chunk objects (services/chunks/README.md framing
// around random payload bytes — all a validator without the key can see of a real object), a
// session's RFC 6962 tree, and a TestChain that anchors, answers and gives verdicts.
import { randomBytes } from 'node:crypto';
import { encodeHeader, OBJECT_MAGIC } from '../../../services/chunks/index.js';
import { inclusionPath, leafHash, rootFromLeafHashes, sha256 } from '../../../services/common/merkle.js';
import { signTx, type Verdict } from '../../../services/ledger/codec/tx.js';
import { makeAnswer } from '../../../services/ledger/credits/answer.js';
import { epochOf, type Challenge, type ChainState, type WorkCounts } from '../../../services/ledger/chain/state.js';
import type { ChainParams } from '../../../services/ledger/chain/genesis.js';
import { TestChain, anchorTx, keys, type Key } from './chain-kit.js';

export function chunkObject(index: number, plain: number, payload = randomBytes(Math.min(plain, 40))): Buffer {
  const raw = payload.length === plain;
  const header = encodeHeader(OBJECT_MAGIC, { cipher: 'aes-256-gcm', codec: raw ? 'raw' : 'gzip', index, plainLength: plain, payloadLength: payload.length });
  return Buffer.concat([header, randomBytes(12), payload, randomBytes(16)]);
}

export interface TestSession {
  readonly n: number;
  readonly chunkCount: number;
  readonly chunkSize: number;
  readonly totalBytes: number;
  readonly objects: Buffer[];
  readonly leaves: Buffer[];
  readonly root: Buffer;
  readonly manifestHash: string;
}

/** Session n of `totalBytes` plaintext in chunks of `chunkSize`. */
export function session(n: number, totalBytes: number, chunkSize = 65_536): TestSession {
  const chunkCount = Math.ceil(totalBytes / chunkSize);
  const objects = Array.from({ length: chunkCount }, (_, i) => chunkObject(i, i < chunkCount - 1 ? chunkSize : totalBytes - (chunkCount - 1) * chunkSize));
  const leaves = objects.map((o) => leafHash(o));
  return { n, chunkCount, chunkSize, totalBytes, objects, leaves, root: rootFromLeafHashes(leaves), manifestHash: sha256(Buffer.from(`manifest${n}`)).toString('hex') };
}

export const hex = (k: Key): string => k.publicKey.toString('hex');

export class CreditChain extends TestChain {
  constructor(n = 4, params?: Partial<ChainParams>, powers?: number[]) {
    super(keys(n), powers, params);
  }

  /** Builds, checks and commits a block of `txs` at `time` (default: 10 s after the head); every given tx must be in it. */
  block(txs: Buffer[] = [], opts: { time?: number; signers?: Key[] } = {}): void {
    const built = this.build(txs, { time: opts.time });
    if (built.applied.block.txs.length !== txs.length) throw new Error(`the builder dropped ${txs.length - built.applied.block.txs.length} of ${txs.length} transactions`);
    this.accept(built.applied, opts.signers);
  }

  /** How many of `txs` the proposer's builder keeps (the rest are refused by the chain rules). */
  kept(txs: Buffer[], time?: number): number {
    return this.build(txs, { time }).applied.block.txs.length;
  }

  anchor(k: Key, s: TestSession, sizes?: { chunkCount: number; chunkSize: number; totalBytes: number }): Buffer {
    return anchorTx(this.state.chainId, k, s.n, s.root, sizes ?? { chunkCount: s.chunkCount, chunkSize: s.chunkSize, totalBytes: s.totalBytes });
  }

  challenges(k: Key, kind?: Challenge['kind']): Challenge[] {
    return this.state.challenges.filter((c) => c.node === hex(k) && (kind === undefined || c.kind === kind));
  }

  answer(k: Key, c: Challenge, s: TestSession, object = s.objects[c.index]!, path = inclusionPath(s.leaves, c.index)): Buffer {
    return makeAnswer(this.state.chainId, c, k.publicKey, object, path, k.sign);
  }

  verdicts(k: Key, verdicts: Verdict[]): Buffer {
    return signTx(this.state.chainId, { type: 'work', kind: 'verdicts', node: k.publicKey, verdicts }, k.sign);
  }

  /** Verdicts of `judges` on `c` (ok or not), one transaction each. */
  judge(c: Challenge, judges: Key[], ok = true): Buffer[] {
    return judges.map((j) => this.verdicts(j, [{ height: c.height, seq: c.seq, ok }]));
  }

  /** A validator other than the next proposer (so that its anchors are challenged in the same block). */
  notProposer(): Key {
    const p = hex(this.proposer());
    return this.ks.find((k) => hex(k) !== p)!;
  }

  totals(k: Key): WorkCounts {
    const t: WorkCounts = { anchors: 0, relaySessions: 0, relayBytes: 0, storage: 0, audits: 0, validation: 0, uptimeMs: 0 };
    for (const ep of Object.values(this.state.epochs)) {
      const w = ep.nodes[hex(k)];
      if (w) for (const f of Object.keys(t) as Array<keyof WorkCounts>) t[f] += w[f];
    }
    return t;
  }

  counts(k: Key, state: ChainState = this.state): WorkCounts | undefined {
    return state.epochs[String(epochOf(state.params, state.headTime))]?.nodes[hex(k)];
  }
}
