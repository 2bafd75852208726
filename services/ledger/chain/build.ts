// getValue(): the proposer's block. Transactions come in mempool order until the encoded block
// would pass the size limit; one the state rejects is dropped and the rest tried again, so a bad
// transaction in the mempool cannot stop block production.
import { commitHash, encodeBlock, encodeCommit, MAX_BLOCK_BYTES, TX_FRAMING_BYTES, type Block, type Commit } from '../codec/block.js';
import { merkleRoot } from '../../common/merkle.js';
import { checkAndApply, InvalidBlock, validatorSetHash, type ApplyContext, type Applied } from './apply.js';
import type { ChainState } from './state.js';

/** Encoded size of a header for this chain id (fixed apart from the id). */
export function headerBytes(chainId: string): number {
  return 1 + 1 + Buffer.byteLength(chainId) + 8 + 4 + 8 + 32 + 32 + 32 + 4 + 32 + 32;
}

export interface BuildArgs {
  readonly state: ChainState;
  readonly proposer: Buffer;
  readonly round: number;
  /** Proposer's clock; raised to headTime + 1 if the clock is behind the chain. */
  readonly now: number;
  readonly lastCommit: Commit | null;
  /** Candidate transactions, best first. */
  readonly candidates: Iterable<Buffer>;
  readonly ctx: ApplyContext;
  readonly maxBytes?: number;
  /** Called with transactions the state rejected, so the mempool can forget them. */
  readonly onRejected?: (tx: Buffer, reason: string) => void;
}

export interface Built {
  readonly bytes: Buffer;
  readonly applied: Applied;
}

export function buildBlock(a: BuildArgs): Built {
  const maxBytes = a.maxBytes ?? MAX_BLOCK_BYTES;
  let used = headerBytes(a.state.chainId) + 4 + (a.lastCommit ? encodeCommit(a.lastCommit).length : 0);
  let txs: Buffer[] = [];
  for (const tx of a.candidates) {
    if (used + TX_FRAMING_BYTES + tx.length > maxBytes) continue;
    used += TX_FRAMING_BYTES + tx.length;
    txs.push(tx);
  }
  const time = Math.max(a.now, a.state.headTime + 1);
  for (let attempt = 0; ; attempt++) {
    const block: Block = {
      header: {
        chainId: a.state.chainId,
        height: a.state.height + 1,
        round: a.round,
        time,
        prevHash: Buffer.from(a.state.headHash, 'hex'),
        proposer: a.proposer,
        txRoot: merkleRoot(txs),
        txCount: txs.length,
        lastCommitHash: commitHash(a.lastCommit),
        validatorsHash: validatorSetHash(a.state.validators),
      },
      lastCommit: a.lastCommit,
      txs,
    };
    const bytes = encodeBlock(block);
    try {
      return { bytes, applied: checkAndApply(a.state, bytes, a.ctx) };
    } catch (err) {
      if (!(err instanceof InvalidBlock) || err.txIndex === undefined || attempt > 1000) {
        if (txs.length === 0) throw err;
        // Not a transaction's fault (or too many bad ones): an empty block is always possible.
        for (const tx of txs) a.onRejected?.(tx, (err as Error).message);
        txs = [];
        continue;
      }
      const bad = txs[err.txIndex]!;
      a.onRejected?.(bad, err.message);
      txs = txs.filter((_, i) => i !== err.txIndex);
    }
  }
}
