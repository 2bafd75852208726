// What validators sign: votes (prevote, precommit) and proposals. Each sign-bytes string starts
// with a domain tag and the chain id so a signature is good for one purpose on one chain only
// (README "Signed messages"). A commit is the set of precommit signatures for one block.
import { Writer } from './bytes.js';

export type VoteType = 'prevote' | 'precommit';
export const VOTE_TYPE_BYTE: Record<VoteType, number> = { prevote: 1, precommit: 2 };

const VOTE_DOMAIN = Buffer.from('lucid/vote/v1', 'ascii');
const PROPOSAL_DOMAIN = Buffer.from('lucid/proposal/v1', 'ascii');
const ZERO32 = Buffer.alloc(32);

export interface VoteFields {
  readonly type: VoteType;
  readonly height: number;
  readonly round: number;
  /** Block hash voted for; null is a vote for nil. */
  readonly value: Buffer | null;
}

export function voteSignBytes(chainId: string, v: VoteFields): Buffer {
  return new Writer()
    .raw(VOTE_DOMAIN)
    .str8(chainId, 1, 64)
    .u8(VOTE_TYPE_BYTE[v.type])
    .u64(v.height)
    .u32(v.round)
    .u8(v.value ? 1 : 0)
    .fixed(v.value ?? ZERO32, 32)
    .finish();
}

export interface ProposalFields {
  readonly height: number;
  readonly round: number;
  /** −1 when the proposer has no valid value from an earlier round. */
  readonly validRound: number;
  readonly blockHash: Buffer;
}

export function proposalSignBytes(chainId: string, p: ProposalFields): Buffer {
  return new Writer()
    .raw(PROPOSAL_DOMAIN)
    .str8(chainId, 1, 64)
    .u64(p.height)
    .u32(p.round)
    .i32(p.validRound)
    .fixed(p.blockHash, 32)
    .finish();
}

/** Inverse of voteSignBytes (used to re-send a stored vote after a restart). */
export function parseVoteSignBytes(bytes: Buffer): VoteFields & { readonly chainId: string } {
  let o = VOTE_DOMAIN.length;
  if (!bytes.subarray(0, o).equals(VOTE_DOMAIN)) throw new Error('not vote sign bytes');
  const n = bytes.readUInt8(o); o += 1;
  const chainId = bytes.subarray(o, o + n).toString('utf8'); o += n;
  const t = bytes.readUInt8(o); o += 1;
  const height = Number(bytes.readBigUInt64BE(o)); o += 8;
  const round = bytes.readUInt32BE(o); o += 4;
  const has = bytes.readUInt8(o) === 1; o += 1;
  const value = has ? Buffer.from(bytes.subarray(o, o + 32)) : null;
  return { chainId, type: t === 1 ? 'prevote' : 'precommit', height, round, value };
}
