// A strict protobuf reader and writer for the few TRON messages the payout process handles
// (raw_data, Contract, Any, TriggerSmartContract, Transaction). Only wire types 0 (varint) and
// 2 (length-delimited) exist in them; anything else is refused. Varints are read as bigint and
// must be minimal (a re-encoding check elsewhere makes every accepted message canonical).
import { LucidError } from '../../common/errors.js';

export interface Field {
  readonly number: number;
  readonly wire: 0 | 2;
  /** Varint fields. */
  readonly value: bigint;
  /** Length-delimited fields (empty for varints). */
  readonly bytes: Uint8Array;
}

const malformed = (why: string): LucidError => new LucidError('PAYOUT_ERR_TX_MALFORMED', `malformed protobuf: ${why}`);

export function readVarint(buf: Uint8Array, at: number): { value: bigint; end: number } {
  let value = 0n;
  for (let i = at, shift = 0n; i < buf.length && i < at + 10; i++, shift += 7n) {
    const b = buf[i]!;
    value |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) {
      if (b === 0 && i > at) throw malformed('non-minimal varint');
      return { value, end: i + 1 };
    }
  }
  throw malformed('truncated varint');
}

/** Every top-level field of a message, in order. */
export function fields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let at = 0;
  while (at < buf.length) {
    const tag = readVarint(buf, at);
    const number = Number(tag.value >> 3n);
    const wire = Number(tag.value & 7n);
    if (number < 1 || number > 536_870_911) throw malformed(`field number ${number}`);
    if (wire === 0) {
      const v = readVarint(buf, tag.end);
      out.push({ number, wire: 0, value: v.value, bytes: new Uint8Array(0) });
      at = v.end;
    } else if (wire === 2) {
      const len = readVarint(buf, tag.end);
      const end = len.end + Number(len.value);
      if (len.value > BigInt(buf.length) || end > buf.length) throw malformed(`field ${number} runs past the end`);
      out.push({ number, wire: 2, value: 0n, bytes: buf.subarray(len.end, end) });
      at = end;
    } else {
      throw malformed(`wire type ${wire} in field ${number}`);
    }
  }
  return out;
}

export function varint(value: bigint | number): Uint8Array {
  let v = BigInt(value);
  if (v < 0n) throw malformed('negative varint');
  const out: number[] = [];
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? b | 0x80 : b);
  } while (v > 0n);
  return Uint8Array.from(out);
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

/** A length-delimited field. */
export function lenField(number: number, bytes: Uint8Array): Uint8Array {
  return concat(varint((number << 3) | 2), varint(bytes.length), bytes);
}

/** A varint field. */
export function intField(number: number, value: bigint | number): Uint8Array {
  return concat(varint(number << 3), varint(value));
}
