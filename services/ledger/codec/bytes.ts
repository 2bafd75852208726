// Big-endian byte writer and reader for the ledger's canonical binary formats (README "Formats").
// One encoding per value: no optional fields, no varints, fixed-width integers, length-prefixed
// strings. A reader that finds trailing bytes, a short buffer or an out-of-range value throws
// CodecError, so two different byte strings never decode to the same value.

export class CodecError extends Error {
  override readonly name = 'CodecError';
}

export class Writer {
  private chunks: Uint8Array[] = [];
  private size = 0;

  private push(b: Uint8Array): this {
    this.chunks.push(b);
    this.size += b.length;
    return this;
  }

  u8(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new CodecError(`u8 out of range: ${v}`);
    return this.push(Uint8Array.of(v));
  }

  u16(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new CodecError(`u16 out of range: ${v}`);
    const b = Buffer.allocUnsafe(2);
    b.writeUInt16BE(v);
    return this.push(b);
  }

  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new CodecError(`u32 out of range: ${v}`);
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(v);
    return this.push(b);
  }

  /** Signed 32-bit, two's complement (the proposal's validRound, −1 for none). */
  i32(v: number): this {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new CodecError(`i32 out of range: ${v}`);
    const b = Buffer.allocUnsafe(4);
    b.writeInt32BE(v);
    return this.push(b);
  }

  /** Unsigned 64-bit from a JS number; only safe integers (< 2^53) are accepted. */
  u64(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new CodecError(`u64 out of range: ${v}`);
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64BE(BigInt(v));
    return this.push(b);
  }

  fixed(b: Uint8Array, length: number): this {
    if (b.length !== length) throw new CodecError(`expected ${length} bytes, got ${b.length}`);
    return this.push(b);
  }

  /** u8 length + UTF-8 bytes. */
  str8(s: string, min = 0, max = 255): this {
    const b = Buffer.from(s, 'utf8');
    if (b.length < min || b.length > max) throw new CodecError(`string length ${b.length} outside ${min}..${max}`);
    return this.u8(b.length).push(b);
  }

  /** u32 length + bytes. */
  bytes32(b: Uint8Array): this {
    return this.u32(b.length).push(b);
  }

  raw(b: Uint8Array): this {
    return this.push(b);
  }

  get length(): number {
    return this.size;
  }

  finish(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }
}

export class Reader {
  private pos = 0;
  private readonly buf: Buffer;

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private take(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new CodecError(`truncated: need ${n} bytes at offset ${this.pos}, have ${this.buf.length - this.pos}`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  u8(): number { return this.take(1)[0]!; }
  u16(): number { return this.take(2).readUInt16BE(0); }
  u32(): number { return this.take(4).readUInt32BE(0); }
  i32(): number { return this.take(4).readInt32BE(0); }

  u64(): number {
    const v = this.take(8).readBigUInt64BE(0);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new CodecError(`u64 beyond 2^53: ${v}`);
    return Number(v);
  }

  fixed(n: number): Buffer { return this.take(n); }

  str8(min = 0, max = 255): string {
    const n = this.u8();
    if (n < min || n > max) throw new CodecError(`string length ${n} outside ${min}..${max}`);
    const b = this.take(n);
    const s = b.toString('utf8');
    // Reject bytes that are not valid UTF-8 (they would not round-trip).
    if (!Buffer.from(s, 'utf8').equals(b)) throw new CodecError('string is not valid UTF-8');
    return s;
  }

  bytes32(max = 0xffffffff): Buffer {
    const n = this.u32();
    if (n > max) throw new CodecError(`byte string of ${n} bytes exceeds ${max}`);
    return this.take(n);
  }

  get offset(): number { return this.pos; }
  get remaining(): number { return this.buf.length - this.pos; }

  /** Throws unless every byte was consumed (canonical encodings have no trailing data). */
  end(): void {
    if (this.pos !== this.buf.length) throw new CodecError(`${this.buf.length - this.pos} trailing bytes`);
  }
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function fromHex(s: string, length?: number): Buffer {
  if (!/^([0-9a-f]{2})*$/.test(s)) throw new CodecError('not lowercase hex');
  const b = Buffer.from(s, 'hex');
  if (length !== undefined && b.length !== length) throw new CodecError(`expected ${length} bytes of hex, got ${b.length}`);
  return b;
}
