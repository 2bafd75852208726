// Blocks, headers and commits: canonical binary encoding (README "Blocks"). The block hash is
// SHA-256 of the encoded header; the header commits to the transactions through their RFC 6962
// root and to the previous block's commit through its hash, so the header alone (plus a path)
// proves a transaction, and the header plus a commit proves finality.
import { CodecError, Reader, Writer } from './bytes.js';
import { sha256 } from '../../common/merkle.js';

export const BLOCK_VERSION = 1;
/** 1 MiB: the whole encoded block (header, last commit and transactions). */
export const MAX_BLOCK_BYTES = 1024 * 1024;
export const MAX_VALIDATORS = 1024;

export interface BlockHeader {
  readonly chainId: string;
  readonly height: number;
  /** The round in which this block was first proposed (a re-proposal keeps it). */
  readonly round: number;
  /** Proposer's clock, ms since the epoch; strictly increasing along the chain. */
  readonly time: number;
  readonly prevHash: Buffer;
  /** Ed25519 public key of proposer(height, round). */
  readonly proposer: Buffer;
  readonly txRoot: Buffer;
  readonly txCount: number;
  readonly lastCommitHash: Buffer;
  /** Hash of the validator set that votes on this block (encodeValidators). */
  readonly validatorsHash: Buffer;
}

export interface CommitSig {
  readonly validator: Buffer;
  readonly signature: Buffer;
}

export interface Commit {
  readonly height: number;
  readonly round: number;
  readonly blockHash: Buffer;
  /** Sorted by validator key, no duplicates. */
  readonly signatures: readonly CommitSig[];
}

export interface Block {
  readonly header: BlockHeader;
  readonly lastCommit: Commit | null;
  readonly txs: readonly Buffer[];
}

export function encodeHeader(h: BlockHeader): Buffer {
  return new Writer()
    .u8(BLOCK_VERSION)
    .str8(h.chainId, 1, 64)
    .u64(h.height)
    .u32(h.round)
    .u64(h.time)
    .fixed(h.prevHash, 32)
    .fixed(h.proposer, 32)
    .fixed(h.txRoot, 32)
    .u32(h.txCount)
    .fixed(h.lastCommitHash, 32)
    .fixed(h.validatorsHash, 32)
    .finish();
}

function readHeader(r: Reader): BlockHeader {
  const version = r.u8();
  if (version !== BLOCK_VERSION) throw new CodecError(`unknown block version ${version}`);
  return {
    chainId: r.str8(1, 64),
    height: r.u64(),
    round: r.u32(),
    time: r.u64(),
    prevHash: r.fixed(32),
    proposer: r.fixed(32),
    txRoot: r.fixed(32),
    txCount: r.u32(),
    lastCommitHash: r.fixed(32),
    validatorsHash: r.fixed(32),
  };
}

export function decodeHeader(bytes: Uint8Array): BlockHeader {
  const r = new Reader(bytes);
  const h = readHeader(r);
  r.end();
  return h;
}

export function blockHash(header: BlockHeader): Buffer {
  return sha256(encodeHeader(header));
}

export function encodeCommit(c: Commit): Buffer {
  const w = new Writer().u64(c.height).u32(c.round).fixed(c.blockHash, 32).u16(c.signatures.length);
  let prev: Buffer | null = null;
  for (const s of c.signatures) {
    if (prev && Buffer.compare(prev, s.validator) >= 0) throw new CodecError('commit signatures must be sorted by validator, without duplicates');
    prev = s.validator;
    w.fixed(s.validator, 32).fixed(s.signature, 64);
  }
  return w.finish();
}

function readCommit(r: Reader): Commit {
  const height = r.u64();
  const round = r.u32();
  const hash = r.fixed(32);
  const n = r.u16();
  if (n > MAX_VALIDATORS) throw new CodecError('too many commit signatures');
  const signatures: CommitSig[] = [];
  for (let i = 0; i < n; i++) {
    const validator = r.fixed(32);
    const prev = signatures[i - 1];
    if (prev && Buffer.compare(prev.validator, validator) >= 0) throw new CodecError('commit signatures not sorted or duplicated');
    signatures.push({ validator, signature: r.fixed(64) });
  }
  return { height, round, blockHash: hash, signatures };
}

export function decodeCommit(bytes: Uint8Array): Commit {
  const r = new Reader(bytes);
  const c = readCommit(r);
  r.end();
  return c;
}

/** Hash of the last-commit field: SHA-256 of its encoding, SHA-256("") when there is none (height 1). */
export function commitHash(c: Commit | null): Buffer {
  return sha256(c ? encodeCommit(c) : Buffer.alloc(0));
}

export function encodeBlock(b: Block): Buffer {
  if (b.txs.length !== b.header.txCount) throw new CodecError('txCount does not match the transactions');
  const w = new Writer().raw(encodeHeader(b.header)).bytes32(b.lastCommit ? encodeCommit(b.lastCommit) : Buffer.alloc(0));
  for (const tx of b.txs) w.bytes32(tx);
  return w.finish();
}

export function decodeBlock(bytes: Uint8Array): Block {
  if (bytes.length > MAX_BLOCK_BYTES) throw new CodecError(`block of ${bytes.length} bytes exceeds ${MAX_BLOCK_BYTES}`);
  const r = new Reader(bytes);
  const header = readHeader(r);
  const lc = r.bytes32(MAX_BLOCK_BYTES);
  const lastCommit = lc.length === 0 ? null : decodeCommit(lc);
  const txs: Buffer[] = [];
  for (let i = 0; i < header.txCount; i++) txs.push(r.bytes32(MAX_BLOCK_BYTES));
  r.end();
  return { header, lastCommit, txs };
}

/** Bytes a block adds per transaction beyond the transaction itself (its u32 length). */
export const TX_FRAMING_BYTES = 4;

export interface Validator {
  readonly publicKey: Buffer;
  readonly power: number;
}

/** Canonical validator-set encoding: u16 count, then (key, u64 power) sorted by key. */
export function encodeValidators(vals: readonly Validator[]): Buffer {
  const sorted = [...vals].sort((a, b) => Buffer.compare(a.publicKey, b.publicKey));
  const w = new Writer().u16(sorted.length);
  for (const v of sorted) w.fixed(v.publicKey, 32).u64(v.power);
  return w.finish();
}

export function validatorsHash(vals: readonly Validator[]): Buffer {
  return sha256(encodeValidators(vals));
}
