// APDUs of the Ledger TRON app (LedgerHQ/app-tron docs/APDU.md; notes §3.4), pure functions.
// CLA E0. INS 02 GET_PUBLIC_KEY (P1 00 silent / 01 confirm), 04 SIGN (a transaction's
// protobuf raw_data, streamed: P1 10 single chunk / 00 first / 80 more / 90 last; the first
// chunk starts with the path), 06 GET_APP_CONFIGURATION,
// 08 SIGN_PERSONAL_MESSAGE (P1 00 first chunk / 80 more chunks; the first chunk carries
// path ‖ 4-byte big-endian message length). A BIP-32 path is [n][n × 4-byte BE], hardened
// elements with bit 31 set. Responses end with a status word: 9000 OK, 6985 refused on the
// device, 6A80 bad data, 6D00 unknown INS, 6E00 wrong CLA (app not open).
import { HalError } from '../errors.js';

export const CLA = 0xe0;
export const INS = { GET_PUBLIC_KEY: 0x02, SIGN: 0x04, GET_APP_CONFIGURATION: 0x06, SIGN_PERSONAL_MESSAGE: 0x08 } as const;
export const SW = { OK: 0x9000, REJECTED: 0x6985, BAD_DATA: 0x6a80, INS_NOT_SUPPORTED: 0x6d00, CLA_NOT_SUPPORTED: 0x6e00 } as const;
const MAX_DATA = 255;

export function encodePath(path: string): Uint8Array {
  const parts = path.replace(/^m\//, '').split('/').filter(Boolean);
  if (parts.length === 0 || parts.length > 10) throw new HalError('HAL_ERR_PROTOCOL', `bad BIP-32 path ${path}`);
  const out = new Uint8Array(1 + parts.length * 4);
  out[0] = parts.length;
  const view = new DataView(out.buffer);
  parts.forEach((p, i) => {
    const hardened = p.endsWith("'") || p.endsWith('h');
    const n = Number(hardened ? p.slice(0, -1) : p);
    if (!Number.isInteger(n) || n < 0 || n >= 0x80000000) throw new HalError('HAL_ERR_PROTOCOL', `bad BIP-32 path element ${p}`);
    view.setUint32(1 + i * 4, hardened ? (n | 0x80000000) >>> 0 : n);
  });
  return out;
}

export function apdu(ins: number, p1: number, p2: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (data.length > MAX_DATA) throw new HalError('HAL_ERR_PROTOCOL', 'APDU data longer than 255 bytes');
  const out = new Uint8Array(5 + data.length);
  out.set([CLA, ins, p1, p2, data.length]);
  out.set(data, 5);
  return out;
}

export function getAddressApdu(path: string, display = false): Uint8Array {
  return apdu(INS.GET_PUBLIC_KEY, display ? 0x01 : 0x00, 0x00, encodePath(path));
}

export function getAppConfigurationApdu(): Uint8Array {
  return apdu(INS.GET_APP_CONFIGURATION, 0x00, 0x00);
}

/** The chunks of a personal-message signature: first path ‖ len ‖ data (P1 00), then P1 80. */
export function signPersonalMessageApdus(path: string, message: Uint8Array): Uint8Array[] {
  const p = encodePath(path);
  const head = new Uint8Array(p.length + 4);
  head.set(p, 0);
  new DataView(head.buffer).setUint32(p.length, message.length);
  const first = Math.min(message.length, MAX_DATA - head.length);
  const chunks = [apdu(INS.SIGN_PERSONAL_MESSAGE, 0x00, 0x00, concat(head, message.subarray(0, first)))];
  for (let off = first; off < message.length; off += MAX_DATA) {
    chunks.push(apdu(INS.SIGN_PERSONAL_MESSAGE, 0x80, 0x00, message.subarray(off, off + MAX_DATA)));
  }
  return chunks;
}

/** The app parses raw_data as it streams in: chunks end on protobuf field boundaries, ≤ 250 bytes. */
export const SIGN_CHUNK = 250;
export const SIGN_P1 = { SINGLE: 0x10, FIRST: 0x00, MORE: 0x80, LAST: 0x90 } as const;

/** Length of the protobuf field at the start of `bytes` (tag ‖ varint, or tag ‖ length ‖ bytes). */
function fieldLength(bytes: Uint8Array): number {
  const tag = readVarint(bytes, 0);
  const wire = Number(tag.value & 7n);
  if (wire === 0) return readVarint(bytes, tag.end).end;
  if (wire !== 2) throw new HalError('HAL_ERR_PROTOCOL', `raw_data field with wire type ${wire}: not a TRON transaction`);
  const len = readVarint(bytes, tag.end);
  const end = len.end + Number(len.value);
  if (end > bytes.length) throw new HalError('HAL_ERR_PROTOCOL', 'raw_data field runs past the end');
  return end;
}

function readVarint(bytes: Uint8Array, at: number): { value: bigint; end: number } {
  let value = 0n;
  for (let i = at, shift = 0n; i < bytes.length && i < at + 10; i++, shift += 7n) {
    value |= BigInt(bytes[i]! & 0x7f) << shift;
    if ((bytes[i]! & 0x80) === 0) return { value, end: i + 1 };
  }
  throw new HalError('HAL_ERR_PROTOCOL', 'malformed varint in raw_data');
}

/**
 * The chunks of a transaction signature, split as @ledgerhq/hw-app-trx splits them: the path
 * first, then whole top-level fields of raw_data while they fit in 250 bytes; P1 10 for a single
 * chunk, else 00, 80 …, 90. The device answers r ‖ s ‖ v (v = 0/1) to the last chunk.
 */
export function signTransactionApdus(path: string, rawData: Uint8Array): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let current: Uint8Array = encodePath(path);
  let rest = rawData;
  while (rest.length > 0) {
    const n = fieldLength(rest);
    if (n > SIGN_CHUNK) throw new HalError('HAL_ERR_PROTOCOL', `a raw_data field of ${n} bytes does not fit one APDU`);
    if (current.length + n > SIGN_CHUNK) {
      parts.push(current);
      current = new Uint8Array(0);
      continue;
    }
    current = concat(current, rest.subarray(0, n));
    rest = rest.subarray(n);
  }
  parts.push(current);
  if (parts.length === 1) return [apdu(INS.SIGN, SIGN_P1.SINGLE, 0x00, parts[0]!)];
  return parts.map((p, i) => apdu(INS.SIGN, i === 0 ? SIGN_P1.FIRST : i === parts.length - 1 ? SIGN_P1.LAST : SIGN_P1.MORE, 0x00, p));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Splits data ‖ SW; throws HAL_ERR_REJECTED for 6985 and HAL_ERR_PROTOCOL for any other non-9000. */
export function checkResponse(response: Uint8Array, what: string): Uint8Array {
  if (response.length < 2) throw new HalError('HAL_ERR_PROTOCOL', `${what}: response shorter than a status word`);
  const sw = (response[response.length - 2]! << 8) | response[response.length - 1]!;
  if (sw === SW.REJECTED) throw new HalError('HAL_ERR_REJECTED', `${what}: refused on the device`);
  if (sw !== SW.OK) {
    const err = new HalError('HAL_ERR_PROTOCOL', `${what}: status word ${sw.toString(16).padStart(4, '0')}`);
    (err as HalError & { sw?: number }).sw = sw;
    throw err;
  }
  return response.subarray(0, response.length - 2);
}

/** GET_PUBLIC_KEY answer: [65][04‖X‖Y][n][base58 address ASCII]. */
export function parseAddressResponse(data: Uint8Array): { publicKey: Uint8Array; address: string } {
  const pkLen = data[0] ?? 0;
  const publicKey = data.subarray(1, 1 + pkLen);
  const addrLen = data[1 + pkLen] ?? 0;
  const address = new TextDecoder().decode(data.subarray(2 + pkLen, 2 + pkLen + addrLen));
  if (pkLen !== 65 || publicKey[0] !== 0x04 || !/^T[1-9A-HJ-NP-Za-km-z]{33}$/.test(address)) {
    throw new HalError('HAL_ERR_PROTOCOL', 'malformed GET_PUBLIC_KEY response');
  }
  return { publicKey: Uint8Array.from(publicKey), address };
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
