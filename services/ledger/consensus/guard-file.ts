// The double-sign guard on disk: <dir>/sign-log.bin, an append-only log of fixed 512-byte
// records (sequence number + SHA-256 checksum each). A record is appended and fdatasync'ed before
// its message leaves the node. A torn write can only damage the last record — and a message
// whose record is not durable was never sent. A damaged record followed by a good one is real
// corruption: the node refuses to sign rather than guess. When a new height starts and the log
// holds more than ROTATE_AFTER records, the log is replaced (temp file, fsync, rename, directory
// fsync) by one holding only the new record. The locked block goes to <dir>/locked-block.bin the
// same way, before the record that names it. Layout: services/ledger/README.md.
import { closeSync, existsSync, fdatasyncSync, fsyncSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { LucidError } from '../../common/errors.js';
import type { GuardStorage, SignRecord, SignStep } from './sign-guard.js';

export const GUARD_RECORD_BYTES = 512;
const BODY = GUARD_RECORD_BYTES - 32;
const MAGIC = Buffer.from('LSG1', 'ascii');
const MAX_SIGN_BYTES = 300;
const ROTATE_AFTER = 256;

export function encodeGuardRecord(seq: number, r: SignRecord): Buffer {
  if (r.signBytes.length > MAX_SIGN_BYTES) throw new Error('sign bytes too long for a guard record');
  const b = Buffer.alloc(GUARD_RECORD_BYTES);
  let o = 0;
  MAGIC.copy(b, o); o += 4;
  b.writeBigUInt64BE(BigInt(seq), o); o += 8;
  b.writeBigUInt64BE(BigInt(r.height), o); o += 8;
  b.writeUInt32BE(r.round, o); o += 4;
  b.writeUInt8(r.step, o); o += 1;
  b.writeInt32BE(r.lockedRound, o); o += 4;
  b.writeUInt8(r.lockedId === null ? 0 : 1, o); o += 1;
  if (r.lockedId !== null) Buffer.from(r.lockedId, 'hex').copy(b, o);
  o += 32;
  b.writeUInt16BE(r.signBytes.length, o); o += 2;
  r.signBytes.copy(b, o); o += MAX_SIGN_BYTES;
  r.signature.copy(b, o);
  createHash('sha256').update(b.subarray(0, BODY)).digest().copy(b, BODY);
  return b;
}

export function decodeGuardRecord(b: Buffer): { seq: number; record: SignRecord } | null {
  if (b.length !== GUARD_RECORD_BYTES || !b.subarray(0, 4).equals(MAGIC)) return null;
  if (!createHash('sha256').update(b.subarray(0, BODY)).digest().equals(b.subarray(BODY))) return null;
  let o = 4;
  const seq = Number(b.readBigUInt64BE(o)); o += 8;
  const height = Number(b.readBigUInt64BE(o)); o += 8;
  const round = b.readUInt32BE(o); o += 4;
  const step = b.readUInt8(o) as SignStep; o += 1;
  const lockedRound = b.readInt32BE(o); o += 4;
  const hasLock = b.readUInt8(o) === 1; o += 1;
  const lockedId = hasLock ? b.subarray(o, o + 32).toString('hex') : null; o += 32;
  const n = b.readUInt16BE(o); o += 2;
  const signBytes = Buffer.from(b.subarray(o, o + n)); o += MAX_SIGN_BYTES;
  const signature = Buffer.from(b.subarray(o, o + 64));
  return { seq, record: { height, round, step, signBytes, signature, lockedRound, lockedId } };
}

function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try { fsyncSync(fd); } finally { closeSync(fd); }
}

function writeDurable(path: string, data: Buffer, dir: string): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, data, 0, data.length, 0);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDirSync(dir);
}

export class FileGuardStorage implements GuardStorage {
  private fd: number | null = null;
  private seq = 0;
  private count = 0;
  private height = -1;
  readonly path: string;
  readonly lockedPath: string;

  constructor(private readonly dir: string) {
    this.path = join(dir, 'sign-log.bin');
    this.lockedPath = join(dir, 'locked-block.bin');
  }

  load(): { records: SignRecord[]; lockedBlock: Buffer | null } {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    if (!existsSync(this.path)) writeDurable(this.path, Buffer.alloc(0), this.dir);
    this.fd = openSync(this.path, 'r+', 0o600);
    const size = fstatSync(this.fd).size;
    const buf = Buffer.alloc(size);
    if (size > 0) readSync(this.fd, buf, 0, size, 0);
    const all: Array<{ seq: number; record: SignRecord }> = [];
    let good = 0;
    for (let off = 0; off + GUARD_RECORD_BYTES <= size; off += GUARD_RECORD_BYTES) {
      const r = decodeGuardRecord(buf.subarray(off, off + GUARD_RECORD_BYTES));
      const prev = all[all.length - 1];
      if (!r || (prev && r.seq !== prev.seq + 1)) {
        // Only the tail may be torn. A readable record after a damaged one means corruption.
        for (let later = off + GUARD_RECORD_BYTES; later + GUARD_RECORD_BYTES <= size; later += GUARD_RECORD_BYTES) {
          if (decodeGuardRecord(buf.subarray(later, later + GUARD_RECORD_BYTES))) {
            throw new LucidError('LEDGER_ERR_SIGN_GUARD', `${this.path}: damaged record at offset ${off} before intact ones; refusing to sign`, { path: this.path });
          }
        }
        break;
      }
      all.push(r);
      good = off + GUARD_RECORD_BYTES;
    }
    this.count = all.length;
    this.seq = all[all.length - 1]?.seq ?? 0;
    this.height = all[all.length - 1]?.record.height ?? -1;
    this.appendAt = good;
    const records = all.filter((r) => r.record.height === this.height).map((r) => r.record);
    const last = records[records.length - 1];
    let lockedBlock: Buffer | null = null;
    if (last?.lockedId && existsSync(this.lockedPath)) lockedBlock = readFileSync(this.lockedPath);
    return { records, lockedBlock };
  }

  private appendAt = 0;

  save(record: SignRecord, lockedBlock: Buffer | null): void {
    if (this.fd === null) throw new Error('guard storage not loaded');
    if (lockedBlock) writeDurable(this.lockedPath, lockedBlock, this.dir);
    const seq = this.seq + 1;
    const bytes = encodeGuardRecord(seq, record);
    if (record.height > this.height && this.count >= ROTATE_AFTER) {
      // A new height: older records no longer matter (everything below the last one is refused).
      closeSync(this.fd);
      writeDurable(this.path, bytes, this.dir);
      this.fd = openSync(this.path, 'r+', 0o600);
      this.count = 1;
      this.appendAt = GUARD_RECORD_BYTES;
    } else {
      writeSync(this.fd, bytes, 0, bytes.length, this.appendAt);
      fdatasyncSync(this.fd);
      this.count++;
      this.appendAt += GUARD_RECORD_BYTES;
    }
    this.seq = seq;
    this.height = Math.max(this.height, record.height);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
