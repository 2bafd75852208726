// GET /api/v1/anchors/:manifestHash — everything needed to check an anchor offline:
//   tx      base64 of the anchor transaction; leaf = SHA-256(0x00 ‖ tx)
//   path    RFC 6962 audit path (hex, leaf to root) of leaf txIndex in a tree of txCount leaves
//   header  the block header (hex fields) whose txRoot the path must reach; its hash is SHA-256
//           of `header.bytes` (hex, the canonical encoding)
//   commit  precommits (validator key, signature) of > 2/3 of the validators' power for that hash;
//           each signs "lucid/vote/v1" ‖ str8(chainId) ‖ 0x02 ‖ u64 height ‖ u32 round ‖ 0x01 ‖ hash
import { encodeHeader, blockHash, type Block, type Commit } from '../codec/block.js';
import { inclusionPath, leafHash } from '../../common/merkle.js';

export interface AnchorProof {
  readonly height: number;
  readonly txIndex: number;
  readonly txCount: number;
  readonly tx: string;
  readonly path: string[];
  readonly header: {
    readonly chainId: string; readonly height: number; readonly round: number; readonly time: number;
    readonly prevHash: string; readonly proposer: string; readonly txRoot: string; readonly txCount: number;
    readonly lastCommitHash: string; readonly validatorsHash: string; readonly hash: string; readonly bytes: string;
  };
  readonly commit: {
    readonly height: number; readonly round: number; readonly blockHash: string;
    readonly signatures: Array<{ readonly validator: string; readonly signature: string }>;
  };
}

export function anchorProof(block: Block, commit: Commit, txIndex: number): AnchorProof {
  const h = block.header;
  const leaves = block.txs.map((x) => leafHash(x));
  return {
    height: h.height,
    txIndex,
    txCount: h.txCount,
    tx: block.txs[txIndex]!.toString('base64'),
    path: inclusionPath(leaves, txIndex).map((p) => p.toString('hex')),
    header: {
      chainId: h.chainId, height: h.height, round: h.round, time: h.time, prevHash: h.prevHash.toString('hex'), proposer: h.proposer.toString('hex'),
      txRoot: h.txRoot.toString('hex'), txCount: h.txCount, lastCommitHash: h.lastCommitHash.toString('hex'), validatorsHash: h.validatorsHash.toString('hex'),
      hash: blockHash(h).toString('hex'), bytes: encodeHeader(h).toString('hex'),
    },
    commit: {
      height: commit.height, round: commit.round, blockHash: commit.blockHash.toString('hex'),
      signatures: commit.signatures.map((s) => ({ validator: s.validator.toString('hex'), signature: s.signature.toString('hex') })),
    },
  };
}
