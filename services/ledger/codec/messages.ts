// Peer-to-peer messages and their binary encoding (README "Wire protocol"). Proposals and votes
// carry their own Ed25519 signatures (they can be relayed and end up in commits); the rest
// travels on the TLS channel, which already authenticates the peer's node key.
import { CodecError, Reader, Writer } from './bytes.js';
import { MAX_BLOCK_BYTES } from './block.js';
import { parseVoteSignBytes, type VoteType } from './vote.js';

export type WireMessage =
  | { readonly t: 'hello'; readonly chainId: string; readonly genesisHash: Buffer; readonly height: number }
  | { readonly t: 'proposal'; readonly height: number; readonly round: number; readonly validRound: number; readonly proposer: Buffer; readonly signature: Buffer; readonly block: Buffer }
  | { readonly t: 'vote'; readonly type: VoteType; readonly height: number; readonly round: number; readonly value: Buffer | null; readonly validator: Buffer; readonly signature: Buffer }
  | { readonly t: 'txs'; readonly txs: readonly Buffer[] }
  | { readonly t: 'status'; readonly height: number; readonly round: number }
  | { readonly t: 'getBlocks'; readonly from: number; readonly count: number }
  | { readonly t: 'blocks'; readonly items: ReadonlyArray<{ readonly block: Buffer; readonly commit: Buffer }> }
  // Storage challenges (README "Storage challenges"): a validator asks the challenged node for the
  // chunk object of an answered challenge; the node sends it.
  | { readonly t: 'getObject'; readonly height: number; readonly seq: number }
  | { readonly t: 'object'; readonly height: number; readonly seq: number; readonly object: Buffer };

const TAG = { hello: 0, proposal: 1, vote: 2, txs: 3, status: 4, getBlocks: 5, blocks: 6, getObject: 20, object: 21 } as const;
/** A chunk object: 16 MiB of plaintext at most, plus its framing. */
export const MAX_OBJECT_BYTES = 16 * 1024 * 1024 + 64;
const ZERO32 = Buffer.alloc(32);
export type VoteMessage = Extract<WireMessage, { t: 'vote' }>;

/** The vote a stored sign record stands for (its sign bytes and signature), as `validator` sends it. */
export function voteFromRecord(record: { readonly signBytes: Buffer; readonly signature: Buffer }, validator: Buffer): VoteMessage {
  const f = parseVoteSignBytes(record.signBytes);
  return { t: 'vote', type: f.type, height: f.height, round: f.round, value: f.value, validator, signature: record.signature };
}

export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export function encodeMessage(m: WireMessage): Buffer {
  const w = new Writer().u8(TAG[m.t]);
  switch (m.t) {
    case 'hello': w.str8(m.chainId, 1, 64).fixed(m.genesisHash, 32).u64(m.height); break;
    case 'proposal': w.u64(m.height).u32(m.round).i32(m.validRound).fixed(m.proposer, 32).fixed(m.signature, 64).bytes32(m.block); break;
    case 'vote': w.u8(m.type === 'prevote' ? 1 : 2).u64(m.height).u32(m.round).u8(m.value ? 1 : 0).fixed(m.value ?? ZERO32, 32).fixed(m.validator, 32).fixed(m.signature, 64); break;
    case 'txs': w.u32(m.txs.length); for (const tx of m.txs) w.bytes32(tx); break;
    case 'status': w.u64(m.height).u32(m.round); break;
    case 'getBlocks': w.u64(m.from).u16(m.count); break;
    case 'blocks': w.u16(m.items.length); for (const it of m.items) w.bytes32(it.block).bytes32(it.commit); break;
    case 'getObject': w.u64(m.height).u32(m.seq); break;
    case 'object': w.u64(m.height).u32(m.seq).bytes32(m.object); break;
  }
  return w.finish();
}

export function decodeMessage(bytes: Uint8Array): WireMessage {
  const r = new Reader(bytes);
  const tag = r.u8();
  let m: WireMessage;
  switch (tag) {
    case TAG.hello: m = { t: 'hello', chainId: r.str8(1, 64), genesisHash: r.fixed(32), height: r.u64() }; break;
    case TAG.proposal: m = { t: 'proposal', height: r.u64(), round: r.u32(), validRound: r.i32(), proposer: r.fixed(32), signature: r.fixed(64), block: r.bytes32(MAX_BLOCK_BYTES) }; break;
    case TAG.vote: {
      const type = r.u8();
      if (type !== 1 && type !== 2) throw new CodecError(`unknown vote type ${type}`);
      const height = r.u64();
      const round = r.u32();
      const has = r.u8();
      if (has > 1) throw new CodecError('bad vote value flag');
      const value = r.fixed(32);
      if (!has && !value.equals(ZERO32)) throw new CodecError('nil vote with a value');
      m = { t: 'vote', type: type === 1 ? 'prevote' : 'precommit', height, round, value: has ? value : null, validator: r.fixed(32), signature: r.fixed(64) };
      break;
    }
    case TAG.txs: {
      const n = r.u32();
      const txs: Buffer[] = [];
      for (let i = 0; i < n; i++) txs.push(r.bytes32(MAX_BLOCK_BYTES));
      m = { t: 'txs', txs };
      break;
    }
    case TAG.status: m = { t: 'status', height: r.u64(), round: r.u32() }; break;
    case TAG.getBlocks: m = { t: 'getBlocks', from: r.u64(), count: r.u16() }; break;
    case TAG.blocks: {
      const n = r.u16();
      const items: Array<{ block: Buffer; commit: Buffer }> = [];
      for (let i = 0; i < n; i++) items.push({ block: r.bytes32(MAX_BLOCK_BYTES), commit: r.bytes32(MAX_BLOCK_BYTES) });
      m = { t: 'blocks', items };
      break;
    }
    case TAG.getObject: m = { t: 'getObject', height: r.u64(), seq: r.u32() }; break;
    case TAG.object: m = { t: 'object', height: r.u64(), seq: r.u32(), object: r.bytes32(MAX_OBJECT_BYTES) }; break;
    default: throw new CodecError(`unknown message tag ${tag}`);
  }
  r.end();
  return m;
}

/** Transactions packed into `txs` messages of at most `limit` bytes each (4 bytes of length per transaction). */
export function txMessages(txs: readonly Buffer[], limit = 512 * 1024): WireMessage[] {
  const out: WireMessage[] = [];
  let chunk: Buffer[] = [];
  let size = 0;
  for (const tx of txs) {
    if (size + tx.length > limit && chunk.length > 0) {
      out.push({ t: 'txs', txs: chunk });
      chunk = [];
      size = 0;
    }
    chunk.push(tx);
    size += tx.length + 4;
  }
  if (chunk.length > 0) out.push({ t: 'txs', txs: chunk });
  return out;
}
