// TRC-20 `transfer` transactions, byte by byte, without tronweb: the decoder the payout process
// runs on every transaction before anything signs it (tronweb builds; this checks), the encoder
// tests and the node double use, the txid and the signed envelope for /wallet/broadcasthex.
//
// raw_data (protocol.Transaction.raw): 1 ref_block_bytes (2 B) · 4 ref_block_hash (8 B) ·
// 8 expiration (ms) · 11 contract (exactly one) · 14 timestamp (ms) · 18 fee_limit (sun).
// Contract: 1 type = 31 (TriggerSmartContract) · 2 parameter = Any{1 type_url, 2 value}.
// TriggerSmartContract: 1 owner_address (21 B) · 2 contract_address (21 B) · 4 data.
// data = a9059cbb (keccak-256("transfer(address,uint256)")[0..4]) ‖ 32-byte recipient (12 zero
// bytes ‖ its 20 bytes) ‖ 32-byte amount. Anything else — another field (memo, auths, scripts,
// call_value, token), a second contract, a duplicate field, a non-canonical encoding — is refused:
// the decoder re-encodes what it read and demands the same bytes.
import { createHash } from 'node:crypto';
import { LucidError } from '../../common/errors.js';
import { concat, fields, intField, lenField, varint, type Field } from './protobuf.js';
import { fromBase58, toBase58 } from './address.js';

export const TRIGGER_SMART_CONTRACT = 31;
export const TRIGGER_TYPE_URL = 'type.googleapis.com/protocol.TriggerSmartContract';
export const TRANSFER_SELECTOR = 'a9059cbb';
const MAX_UINT64 = (1n << 64n) - 1n;

export interface Trc20Transfer {
  readonly refBlockBytes: string;
  readonly refBlockHash: string;
  readonly expiration: number;
  readonly timestamp: number;
  readonly feeLimit: number;
  /** base58 addresses. */
  readonly owner: string;
  readonly contract: string;
  readonly recipient: string;
  /** Token units (for USDT: micro-USDT, 6 decimals). */
  readonly amount: bigint;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bad = (why: string): LucidError => new LucidError('PAYOUT_ERR_TX_MALFORMED', `not a plain TRC-20 transfer: ${why}`);

export function txidOf(rawData: Uint8Array): string {
  return createHash('sha256').update(rawData).digest('hex');
}

function only(fs: Field[], expected: ReadonlyArray<[number, 0 | 2]>, what: string): Map<number, Field> {
  const out = new Map<number, Field>();
  for (const f of fs) {
    const want = expected.find(([n]) => n === f.number);
    if (!want) throw bad(`${what} has field ${f.number}`);
    if (want[1] !== f.wire) throw bad(`${what} field ${f.number} has the wrong wire type`);
    if (out.has(f.number)) throw bad(`${what} repeats field ${f.number}`);
    out.set(f.number, f);
  }
  for (const [n] of expected) if (!out.has(n)) throw bad(`${what} lacks field ${n}`);
  return out;
}

function safeNumber(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`${what} out of range`);
  return Number(v);
}

export function decodeTransfer(rawData: Uint8Array): Trc20Transfer {
  const raw = only(fields(rawData), [[1, 2], [4, 2], [8, 0], [11, 2], [14, 0], [18, 0]], 'raw_data');
  const contract = only(fields(raw.get(11)!.bytes), [[1, 0], [2, 2]], 'contract');
  if (contract.get(1)!.value !== BigInt(TRIGGER_SMART_CONTRACT)) throw bad(`contract type ${contract.get(1)!.value}`);
  const any = only(fields(contract.get(2)!.bytes), [[1, 2], [2, 2]], 'parameter');
  if (Buffer.from(any.get(1)!.bytes).toString('utf8') !== TRIGGER_TYPE_URL) throw bad('parameter type_url');
  const trigger = only(fields(any.get(2)!.bytes), [[1, 2], [2, 2], [4, 2]], 'TriggerSmartContract');
  const owner = trigger.get(1)!.bytes;
  const target = trigger.get(2)!.bytes;
  const data = trigger.get(4)!.bytes;
  if (owner.length !== 21 || owner[0] !== 0x41 || target.length !== 21 || target[0] !== 0x41) throw bad('address length');
  if (data.length !== 68 || hex(data.subarray(0, 4)) !== TRANSFER_SELECTOR) throw bad('call data is not transfer(address,uint256)');
  if (data.subarray(4, 16).some((b) => b !== 0)) throw bad('recipient word has high bytes');
  const amount = BigInt(`0x${hex(data.subarray(36, 68))}`);
  const refBytes = raw.get(1)!.bytes;
  const refHash = raw.get(4)!.bytes;
  if (refBytes.length !== 2 || refHash.length !== 8) throw bad('reference block length');
  const decoded: Trc20Transfer = {
    refBlockBytes: hex(refBytes),
    refBlockHash: hex(refHash),
    expiration: safeNumber(raw.get(8)!.value, 'expiration'),
    timestamp: safeNumber(raw.get(14)!.value, 'timestamp'),
    feeLimit: safeNumber(raw.get(18)!.value, 'fee_limit'),
    owner: toBase58(owner),
    contract: toBase58(target),
    recipient: toBase58(Uint8Array.of(0x41, ...data.subarray(16, 36))),
    amount,
  };
  // One encoding per transaction: field order, minimal lengths, nothing hidden.
  if (Buffer.compare(Buffer.from(encodeTransfer(decoded)), Buffer.from(rawData)) !== 0) throw bad('non-canonical encoding');
  return decoded;
}

function address21(address: string): Uint8Array {
  const a = fromBase58(address);
  if (!a) throw new LucidError('PAYOUT_ERR_TX_MALFORMED', `not a TRON address: ${address}`);
  return a;
}

/** The raw_data bytes of a transfer, in tronweb's field order. */
export function encodeTransfer(t: Trc20Transfer): Uint8Array {
  if (t.amount < 0n || t.amount >= 1n << 256n) throw bad('amount out of range');
  if (BigInt(t.expiration) > MAX_UINT64 || t.expiration < 0) throw bad('expiration out of range');
  const amountWord = Buffer.from(t.amount.toString(16).padStart(64, '0'), 'hex');
  const data = concat(Buffer.from(TRANSFER_SELECTOR, 'hex'), new Uint8Array(12), address21(t.recipient).subarray(1), amountWord);
  const trigger = concat(lenField(1, address21(t.owner)), lenField(2, address21(t.contract)), lenField(4, data));
  const any = concat(lenField(1, Buffer.from(TRIGGER_TYPE_URL, 'utf8')), lenField(2, trigger));
  const contract = concat(intField(1, TRIGGER_SMART_CONTRACT), lenField(2, any));
  return concat(
    lenField(1, Buffer.from(t.refBlockBytes, 'hex')),
    lenField(4, Buffer.from(t.refBlockHash, 'hex')),
    intField(8, t.expiration),
    lenField(11, contract),
    intField(14, t.timestamp),
    intField(18, t.feeLimit),
  );
}

/** protocol.Transaction { 1 raw_data, 2 signature } — the body of /wallet/broadcasthex. */
export function signedTransaction(rawData: Uint8Array, signature: Uint8Array): Uint8Array {
  if (signature.length !== 65) throw bad('signature must be 65 bytes');
  return concat(lenField(1, rawData), lenField(2, signature));
}

/** The reverse of signedTransaction; one raw_data and one or more signatures. */
export function parseSignedTransaction(bytes: Uint8Array): { rawData: Uint8Array; signatures: Uint8Array[] } {
  const fs = fields(bytes);
  const raws = fs.filter((f) => f.number === 1 && f.wire === 2);
  const sigs = fs.filter((f) => f.number === 2 && f.wire === 2).map((f) => f.bytes);
  if (raws.length !== 1 || fs.some((f) => f.number !== 1 && f.number !== 2)) throw bad('transaction envelope');
  return { rawData: raws[0]!.bytes, signatures: sigs };
}

export { varint };
