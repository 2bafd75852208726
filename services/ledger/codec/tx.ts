// Transactions: canonical binary encoding (byte layout in services/ledger/README.md, "Transactions").
// Every transaction ends with a 64-byte Ed25519 signature by its `node` over
// "lucid/tx/v1" ‖ str8(chainId) ‖ (all bytes before the signature), so a transaction cannot be
// replayed on another chain and the signature covers every other byte.
import { CodecError, Reader, Writer } from './bytes.js';
import { sha256 } from '../../common/merkle.js';
import { readApproveBody, writeApproveBody, type ApproveTx } from './approve-tx.js';

export type { ApproveTx } from './approve-tx.js';

export const TX_VERSION = 1;
export const TX_TYPE = { anchor: 1, work: 2, join: 3, leave: 4, approve: 5 } as const;
export const WORK_KIND = { relay: 1, storage: 2 } as const;
export const MAX_SESSION_ID_BYTES = 64;
export const MAX_STORAGE_PATH = 64;
export const SIGNATURE_BYTES = 64;

export interface AnchorTx {
  readonly type: 'anchor';
  readonly sessionId: string;
  readonly manifestHash: Buffer;
  readonly merkleRoot: Buffer;
  readonly node: Buffer;
}

export interface RelayProofTx {
  readonly type: 'work';
  readonly kind: 'relay';
  readonly node: Buffer;
  readonly epoch: number;
  readonly sessions: number;
  readonly bytes: number;
}

export interface StorageProofTx {
  readonly type: 'work';
  readonly kind: 'storage';
  readonly node: Buffer;
  readonly challengeHeight: number;
  readonly manifestHash: Buffer;
  readonly treeSize: number;
  readonly leafIndex: number;
  readonly leafHash: Buffer;
  readonly path: readonly Buffer[];
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

export type TxBody = AnchorTx | RelayProofTx | StorageProofTx | JoinTx | LeaveTx | ApproveTx;
export type Tx = TxBody & { readonly signature: Buffer };

export function encodeTxBody(tx: TxBody): Buffer {
  const w = new Writer().u8(TX_VERSION);
  switch (tx.type) {
    case 'anchor':
      w.u8(TX_TYPE.anchor).str8(tx.sessionId, 1, MAX_SESSION_ID_BYTES).fixed(tx.manifestHash, 32).fixed(tx.merkleRoot, 32).fixed(tx.node, 32);
      break;
    case 'work':
      w.u8(TX_TYPE.work).fixed(tx.node, 32);
      if (tx.kind === 'relay') {
        w.u8(WORK_KIND.relay).u32(tx.epoch).u32(tx.sessions).u64(tx.bytes);
      } else {
        if (tx.path.length > MAX_STORAGE_PATH) throw new CodecError('storage proof path too long');
        w.u8(WORK_KIND.storage).u64(tx.challengeHeight).fixed(tx.manifestHash, 32).u64(tx.treeSize).u64(tx.leafIndex).fixed(tx.leafHash, 32).u8(tx.path.length);
        for (const p of tx.path) w.fixed(p, 32);
      }
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
      body = { type: 'anchor', sessionId: r.str8(1, MAX_SESSION_ID_BYTES), manifestHash: r.fixed(32), merkleRoot: r.fixed(32), node: r.fixed(32) };
      break;
    case TX_TYPE.work: {
      const node = r.fixed(32);
      const kind = r.u8();
      if (kind === WORK_KIND.relay) {
        body = { type: 'work', kind: 'relay', node, epoch: r.u32(), sessions: r.u32(), bytes: r.u64() };
      } else if (kind === WORK_KIND.storage) {
        const challengeHeight = r.u64();
        const manifestHash = r.fixed(32);
        const treeSize = r.u64();
        const leafIndex = r.u64();
        const leafHash = r.fixed(32);
        const n = r.u8();
        if (n > MAX_STORAGE_PATH) throw new CodecError('storage proof path too long');
        const path: Buffer[] = [];
        for (let i = 0; i < n; i++) path.push(r.fixed(32));
        body = { type: 'work', kind: 'storage', node, challengeHeight, manifestHash, treeSize, leafIndex, leafHash, path };
      } else {
        throw new CodecError(`unknown work proof kind ${kind}`);
      }
      break;
    }
    case TX_TYPE.join:
      body = { type: 'join', node: r.fixed(32), power: r.u32(), nonce: r.u64() };
      break;
    case TX_TYPE.leave:
      body = { type: 'leave', node: r.fixed(32), nonce: r.u64() };
      break;
    case TX_TYPE.approve:
      body = readApproveBody(r);
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
