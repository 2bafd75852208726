// Helpers for chain tests: real Ed25519 keys (fixed seeds), genesis, commits, blocks.
import { fixtureKey } from '../../fixtures/ledger/fixtures.js';
import { makeGenesis, type ChainParams } from '../../../services/ledger/chain/genesis.js';
import { initialState, type ChainState } from '../../../services/ledger/chain/state.js';
import { buildBlock } from '../../../services/ledger/chain/build.js';
import { proposerFor, proposerOrder } from '../../../services/ledger/chain/ranking.js';
import { RecentAnchorIndex } from '../../../services/ledger/chain/recent-anchors.js';
import type { Applied } from '../../../services/ledger/chain/apply.js';
import type { Commit } from '../../../services/ledger/codec/block.js';
import { voteSignBytes } from '../../../services/ledger/codec/vote.js';
import { signTx } from '../../../services/ledger/codec/tx.js';
import { sha256 } from '../../../services/common/merkle.js';
import { ed25519Verifier } from '../../../services/ledger/crypto.js';

export type Key = ReturnType<typeof fixtureKey>;
export const verifier = ed25519Verifier();
export const keys = (n: number): Key[] => Array.from({ length: n }, (_, i) => fixtureKey(10 + i));

/** A deterministic UUID for test session n. */
export function sessionUuid(n: number): string {
  const h = sha256(Buffer.from(`session-${n}`)).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export interface AnchorSizes { readonly chunkCount: number; readonly chunkSize: number; readonly totalBytes: number }

/** A signed anchor of test session n (manifest H("manifest<n>"), one 1,000-byte chunk unless told). */
export function anchorTx(chainId: string, k: Key, n: number, root = sha256(Buffer.from(`root${n}`)), sizes: AnchorSizes = { chunkCount: 1, chunkSize: 65_536, totalBytes: 1000 }): Buffer {
  return signTx(chainId, { type: 'anchor', sessionId: sessionUuid(n), manifestHash: sha256(Buffer.from(`manifest${n}`)), merkleRoot: root, node: k.publicKey, ...sizes }, k.sign);
}

export function genesisState(ks: Key[], powers?: number[], params?: Partial<ChainParams>): ChainState {
  return initialState(makeGenesis({
    chainId: 'test-chain', genesisTime: 1_000_000_000_000,
    validators: ks.map((k, i) => ({ publicKey: k.publicKey.toString('hex'), power: powers?.[i] ?? 1 })), params,
  }));
}

export function commitFor(chainId: string, height: number, round: number, hash: Buffer, signers: Key[]): Commit {
  return {
    height, round, blockHash: hash,
    signatures: signers.map((k) => ({ validator: k.publicKey, signature: k.sign(voteSignBytes(chainId, { type: 'precommit', height, round, value: hash })) }))
      .sort((a, b) => Buffer.compare(a.validator, b.validator)),
  };
}

export class TestChain {
  state: ChainState;
  lastCommit: Commit | null = null;
  readonly anchors = new RecentAnchorIndex();
  constructor(readonly ks: Key[], powers?: number[], params?: Partial<ChainParams>) {
    this.state = genesisState(ks, powers, params);
  }
  keyOf(hex: string): Key { return this.ks.find((k) => k.publicKey.toString('hex') === hex)!; }
  proposer(round = 0): Key { return this.keyOf(proposerFor(proposerOrder(this.state), round)); }
  build(txs: Buffer[] = [], opts: { round?: number; time?: number } = {}) {
    return buildBlock({
      state: this.state, proposer: this.proposer(opts.round ?? 0).publicKey, round: opts.round ?? 0, now: opts.time ?? this.state.headTime + 10_000,
      lastCommit: this.lastCommit, candidates: txs, ctx: { verifier, recentAnchors: this.anchors },
    });
  }
  /** Commits a built block with signatures of `signers` (all validators by default). */
  accept(applied: Applied, signers?: Key[]): void {
    this.state = applied.state;
    this.anchors.add(applied.anchors);
    this.lastCommit = commitFor(this.state.chainId, applied.block.header.height, applied.block.header.round, applied.hash,
      signers ?? this.ks.filter((k) => applied.state.lastValidators.some((v) => v.publicKey === k.publicKey.toString('hex'))));
  }
}
