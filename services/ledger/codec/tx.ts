// Transactions: canonical binary encoding (byte layout in services/ledger/README.md, "Transactions").
// Every transaction ends with a 64-byte Ed25519 signature by its `node` over
// "lucid/tx/v1" ‖ str8(chainId) ‖ (all bytes before the signature), so a transaction cannot be
// replayed on another chain and the signature covers every other byte.
import { CodecError, Reader, Writer } from './bytes.js';
import { sha256 } from '../../common/merkle.js';
import { decodeWork, encodeWork, type WorkTx } from '../credits/work-tx.js';
import { readApproveBody, writeApproveBody, type ApproveTx } from './approve-tx.js';

export type { StorageAnswerTx, VerdictsTx, Verdict, ChallengeRef, WorkTx } from '../credits/work-tx.js';
export type { ApproveTx } from './approve-tx.js';

/** 2 since anchors carry the manifest's sizes and work proofs became storage answers and verdicts. */
export const TX_VERSION = 2;
export const TX_TYPE = { anchor: 1, work: 2, join: 3, leave: 4, approve: 5, statement: 6 } as const;
export const SIGNATURE_BYTES = 64;

/**
 * A completed session's manifest on chain, with the manifest's sizes: relay credits are computed
 * from them, and storage challenges pick a leaf of a tree of exactly `chunkCount` leaves.
 */
export interface AnchorTx {
  readonly type: 'anchor';
  /** The session's UUID (16 bytes on the wire, lowercase canonical text here). */
  readonly sessionId: string;
  readonly manifestHash: Buffer;
  readonly merkleRoot: Buffer;
  readonly node: Buffer;
  /** The manifest's chunkCount (= leaves of the tree), chunkSize and totalBytes (plaintext). */
  readonly chunkCount: number;
  readonly chunkSize: number;
  readonly totalBytes: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isUuid(s: string): boolean {
  return UUID.test(s);
}

function uuidBytes(s: string): Buffer {
  if (!UUID.test(s)) throw new CodecError('session id must be a lowercase UUID');
  return Buffer.from(s.replace(/-/g, ''), 'hex');
}

function uuidText(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export interface JoinTx {
  readonly type: 'join';
  readonly node: Buffer;
  readonly power: number;
  readonly nonce: number;
}

export interface LeaveTx {
  readonly type: 'leave';
  readonly node: Buffer;
  readonly nonce: number;
}

/**
 * The payout statement of a closed credit epoch (services/statement): valid only if `hash` equals
 * what every validator computes from the chain's own credits (chain/statements.ts).
 */
export interface StatementTx {
  readonly type: 'statement';
  /** The submitting validator. */
  readonly node: Buffer;
  readonly epoch: number;
  readonly hash: Buffer;
}

export type TxBody = AnchorTx | WorkTx | JoinTx | LeaveTx | ApproveTx | StatementTx;
export type Tx = TxBody & { readonly signature: Buffer };

export function encodeTxBody(tx: TxBody): Buffer {
  const w = new Writer().u8(TX_VERSION);
  switch (tx.type) {
    case 'anchor':
      w.u8(TX_TYPE.anchor).fixed(uuidBytes(tx.sessionId), 16).fixed(tx.manifestHash, 32).fixed(tx.merkleRoot, 32).fixed(tx.node, 32)
        .u32(tx.chunkCount).u32(tx.chunkSize).u64(tx.totalBytes);
      break;
    case 'work':
      w.u8(TX_TYPE.work).fixed(tx.node, 32);
      encodeWork(w, tx);
      break;
    case 'join':
      w.u8(TX_TYPE.join).fixed(tx.node, 32).u32(tx.power).u64(tx.nonce);
      break;
    case 'leave':
      w.u8(TX_TYPE.leave).fixed(tx.node, 32).u64(tx.nonce);
      break;
    case 'approve':
      writeApproveBody(w.u8(TX_TYPE.approve), tx);
      break;
    case 'statement':
      w.u8(TX_TYPE.statement).fixed(tx.node, 32).u64(tx.epoch).fixed(tx.hash, 32);
      break;
  }
  return w.finish();
}

export function encodeTx(tx: Tx): Buffer {
  return Buffer.concat([encodeTxBody(tx), fixedSig(tx.signature)]);
}

function fixedSig(sig: Buffer): Buffer {
  if (sig.length !== SIGNATURE_BYTES) throw new CodecError(`signature must be ${SIGNATURE_BYTES} bytes`);
  return sig;
}

export function decodeTx(bytes: Uint8Array): Tx {
  const r = new Reader(bytes);
  const version = r.u8();
  if (version !== TX_VERSION) throw new CodecError(`unknown transaction version ${version}`);
  const type = r.u8();
  let body: TxBody;
  switch (type) {
    case TX_TYPE.anchor:
      body = {
        type: 'anchor', sessionId: uuidText(r.fixed(16)), manifestHash: r.fixed(32), merkleRoot: r.fixed(32), node: r.fixed(32),
        chunkCount: r.u32(), chunkSize: r.u32(), totalBytes: r.u64(),
      };
      break;
    case TX_TYPE.work:
      body = decodeWork(r, r.fixed(32));
      break;
    case TX_TYPE.join:
      body = { type: 'join', node: r.fixed(32), power: r.u32(), nonce: r.u64() };
      break;
    case TX_TYPE.leave:
      body = { type: 'leave', node: r.fixed(32), nonce: r.u64() };
      break;
    case TX_TYPE.approve:
      body = readApproveBody(r);
      break;
    case TX_TYPE.statement:
      body = { type: 'statement', node: r.fixed(32), epoch: r.u64(), hash: r.fixed(32) };
      break;
    default:
      throw new CodecError(`unknown transaction type ${type}`);
  }
  const signature = r.fixed(SIGNATURE_BYTES);
  r.end();
  return { ...body, signature } as Tx;
}

const TX_DOMAIN = Buffer.from('lucid/tx/v1', 'ascii');

/** The bytes a transaction's signature covers. */
export function txSignBytes(chainId: string, txBytesOrBody: Uint8Array, hasSignature = true): Buffer {
  const body = hasSignature ? txBytesOrBody.subarray(0, txBytesOrBody.length - SIGNATURE_BYTES) : txBytesOrBody;
  return Buffer.concat([TX_DOMAIN, new Writer().str8(chainId, 1, 64).finish(), body]);
}

/** Transaction id: SHA-256 of its bytes (hex). */
export function txId(bytes: Uint8Array): string {
  return sha256(bytes).toString('hex');
}

/** Signs a body with `sign` (the node key) and returns the encoded transaction. */
export function signTx(chainId: string, body: TxBody, sign: (msg: Uint8Array) => Uint8Array): Buffer {
  const unsigned = encodeTxBody(body);
  const signature = Buffer.from(sign(txSignBytes(chainId, unsigned, false)));
  return Buffer.concat([unsigned, fixedSig(signature)]);
}
