// The check between building and signing: the raw bytes are decoded independently (no tronweb)
// and every field is compared with what was approved and planned. Nothing reaches a signer
// unless this passes; a mismatch is PAYOUT_ERR_TX_MISMATCH naming the field.
import { LucidError } from '../../common/errors.js';
import { decodeTransfer, type Trc20Transfer } from './transaction.js';

/** java-tron refuses an expiration more than 24 h after its head block. */
export const MAX_EXPIRATION_MS = 24 * 3600 * 1000;

/** A block header the node gave us: what the transaction references (TAPOS). */
export interface RefBlock {
  readonly number: number;
  /** 64 hex: the blockID (its first 8 bytes are the number). */
  readonly id: string;
  readonly timestamp: number;
}

export interface ExpectedTransfer {
  readonly owner: string;
  readonly contract: string;
  readonly recipient: string;
  readonly amount: bigint;
  readonly feeLimit: number;
  readonly ref: RefBlock;
  readonly expiration: number;
  /** How old the reference block may be when we sign (the header "expires"). */
  readonly maxRefAgeMs: number;
  readonly now: number;
}

/** TRON's TAPOS fields of a block: bytes 6..8 of its 8-byte number, bytes 8..16 of its id. */
export function refFields(ref: RefBlock): { refBlockBytes: string; refBlockHash: string } {
  return { refBlockBytes: (ref.number & 0xffff).toString(16).padStart(4, '0'), refBlockHash: ref.id.slice(16, 32) };
}

function mismatch(field: string, expected: unknown, actual: unknown): LucidError {
  return new LucidError('PAYOUT_ERR_TX_MISMATCH', `the built transaction's ${field} differs from the approved request`, {
    field, expected: String(expected), actual: String(actual),
  });
}

export function checkHeaderFresh(ref: RefBlock, now: number, maxRefAgeMs: number): void {
  if (!/^[0-9a-f]{64}$/.test(ref.id) || BigInt(`0x${ref.id.slice(0, 16)}`) !== BigInt(ref.number)) {
    throw new LucidError('PAYOUT_ERR_TX_MALFORMED', 'the block header is inconsistent (its id does not start with its number)');
  }
  if (now - ref.timestamp > maxRefAgeMs || ref.timestamp - now > 60_000) {
    throw new LucidError('PAYOUT_ERR_HEADER_EXPIRED', `reference block ${ref.number} is ${Math.round((now - ref.timestamp) / 1000)} s old (at most ${maxRefAgeMs / 1000} s)`, { number: ref.number, timestamp: ref.timestamp });
  }
}

/** Decodes `rawData` and compares it with `want`; answers the decoded transfer or throws. */
export function checkTransfer(rawData: Uint8Array, want: ExpectedTransfer): Trc20Transfer {
  const got = decodeTransfer(rawData);
  checkHeaderFresh(want.ref, want.now, want.maxRefAgeMs);
  const ref = refFields(want.ref);
  const pairs: Array<[string, unknown, unknown]> = [
    ['contract', want.contract, got.contract],
    ['owner', want.owner, got.owner],
    ['recipient', want.recipient, got.recipient],
    ['amount', want.amount, got.amount],
    ['fee_limit', want.feeLimit, got.feeLimit],
    ['ref_block_bytes', ref.refBlockBytes, got.refBlockBytes],
    ['ref_block_hash', ref.refBlockHash, got.refBlockHash],
    ['timestamp', want.ref.timestamp, got.timestamp],
    ['expiration', want.expiration, got.expiration],
  ];
  for (const [field, expected, actual] of pairs) if (expected !== actual) throw mismatch(field, expected, actual);
  if (got.expiration <= want.now) throw new LucidError('PAYOUT_ERR_HEADER_EXPIRED', 'the transaction has already expired', { expiration: got.expiration });
  if (got.expiration <= want.ref.timestamp || got.expiration > want.ref.timestamp + MAX_EXPIRATION_MS) {
    throw mismatch('expiration', `within 24 h after ${want.ref.timestamp}`, got.expiration);
  }
  return got;
}
