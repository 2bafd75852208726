// The chunk file store: <root>/<session id>/ holds one file per committed chunk object
// (`0000000042.lck`), the encrypted tail of the chunk being filled (`tail-0000000043`) and
// nothing else that survives recovery. Fsync policy (README.md "Durability"):
// - an object is written under its final name and fdatasynced; the directory is fsynced once per
//   group, before the store records those chunks as committed. No temp file and rename: an
//   object at or past the committed count is garbage by definition (recovery deletes it), and
//   nothing reads an index before it is committed;
// - a tail segment is written at its recorded offset and fdatasynced (plus the directory when
//   the file is new) before the store records the new tail length;
// - fdatasync, not fsync: it writes the data and the metadata needed to read it back (size,
//   block map) and skips only the timestamps, which nothing here reads. Measured on ingest
//   (runPipeline of tests/bench/_pipeline-lib.ts, 5 interleaved rounds in one process): +4 %
//   on incompressible and on text data.
// - the store's record is the truth: on start, objects at or past the committed count, temp files
//   and stale tails are deleted, and the tail is cut to its recorded length.
import { open, readdir, readFile, rm, stat, truncate, unlink, mkdir } from 'node:fs/promises';
import { close as closeCb, closeSync, constants, fdatasync, open as openCb, openSync, read as readCb, writeSync } from 'node:fs';
import { join } from 'node:path';
import { LucidError, errnoCode } from '../common/errors.js';
import { fsyncDir, mkdirDurable } from '../common/fs-atomic.js';
import type { SealedChunk } from './chunk-object.js';

const pad = (n: number): string => n.toString().padStart(10, '0');
const OBJECT_RE = /^(\d{10})\.lck$/;
const TAIL_RE = /^tail-(\d{10})$/;

export interface RecoveryResult {
  readonly removedObjects: number;
  readonly removedTemp: number;
  readonly removedTails: number;
  readonly tailTruncated: boolean;
}

/** What a session folder holds: file sizes of chunk objects and tails, by chunk index. */
export interface FolderSurvey {
  readonly objects: Map<number, number>;
  readonly tails: Map<number, number>;
}

export class ChunkFiles {
  constructor(readonly root: string) {}

  sessionDir(sessionId: string): string {
    return join(this.root, sessionId);
  }

  objectPath(sessionId: string, index: number): string {
    return join(this.root, sessionId, `${pad(index)}.lck`);
  }

  tailPath(sessionId: string, index: number): string {
    return join(this.root, sessionId, `tail-${pad(index)}`);
  }

  async init(): Promise<void> {
    await mkdirDurable(this.root, 0o700);
  }

  async createSession(sessionId: string): Promise<void> {
    await mkdirDurable(this.sessionDir(sessionId), 0o700);
  }

  /**
   * Writes one object durably under its final name; the caller fsyncs the directory and commits.
   * open, write and close run on the main thread and only the fdatasync goes to the thread pool:
   * the write lands in the page cache (~0.2–0.45 ms per MiB), and each trip through the pool
   * costs more in latency than that (incompressible ingest ~25 % faster than open/write/fsync/
   * close/rename as five async calls, `./build.sh bench pipeline`; the open and the write on the
   * pool measured slower again after later changes, services/chunks/README.md).
   */
  async writeObject(sessionId: string, chunk: SealedChunk): Promise<void> {
    const path = this.objectPath(sessionId, chunk.index);
    const fd = openSync(path, 'w', 0o600);
    try {
      const bytes = chunk.bytes;
      for (let written = 0; written < bytes.length;) written += writeSync(fd, bytes, written, bytes.length - written);
      await new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
    } finally {
      closeSync(fd);
    }
  }

  async syncSession(sessionId: string): Promise<void> {
    await fsyncDir(this.sessionDir(sessionId));
  }

  readObject(sessionId: string, index: number): Promise<Buffer> {
    return readFile(this.objectPath(sessionId, index));
  }

  /**
   * Reads an object into `into` (from its start); resolves with the bytes read. A file longer
   * than `into` fills it and stops there (the caller's length checks then fail). Downloads and
   * verify read every object into a pooled buffer instead of a fresh one per chunk.
   */
  async readObjectInto(sessionId: string, index: number, into: Buffer): Promise<number> {
    const fd = await new Promise<number>((resolve, reject) => openCb(this.objectPath(sessionId, index), 'r', (err, f) => (err ? reject(err) : resolve(f))));
    try {
      let got = 0;
      while (got < into.length) {
        const n = await new Promise<number>((resolve, reject) => readCb(fd, into, got, into.length - got, got, (err, bytes) => (err ? reject(err) : resolve(bytes))));
        if (n === 0) break;
        got += n;
      }
      return got;
    } finally {
      await new Promise<void>((resolve) => closeCb(fd, () => resolve()));
    }
  }

  async objectSize(sessionId: string, index: number): Promise<number | null> {
    try {
      return (await stat(this.objectPath(sessionId, index))).size;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return null;
      throw err;
    }
  }

  /** Writes a sealed tail segment at byte `at` of the tail file and makes it durable. */
  async appendTail(sessionId: string, index: number, at: number, segment: Buffer): Promise<void> {
    const path = this.tailPath(sessionId, index);
    const handle = await open(path, constants.O_WRONLY | constants.O_CREAT, 0o600);
    try {
      let written = 0;
      while (written < segment.length) {
        const { bytesWritten } = await handle.write(segment, written, segment.length - written, at + written);
        written += bytesWritten;
      }
      await handle.datasync();
    } finally {
      await handle.close();
    }
    if (at === 0) await this.syncSession(sessionId);
  }

  /** The first `bytes` bytes of a tail file (its durable part). */
  async readTail(sessionId: string, index: number, bytes: number): Promise<Buffer> {
    if (bytes === 0) return Buffer.alloc(0);
    const handle = await open(this.tailPath(sessionId, index), 'r');
    try {
      const buf = Buffer.allocUnsafe(bytes);
      let got = 0;
      while (got < bytes) {
        const { bytesRead } = await handle.read(buf, got, bytes - got, got);
        if (bytesRead === 0) throw new LucidError('CHUNK_ERR_CORRUPT', `tail of chunk ${index} is shorter than its recorded ${bytes} bytes`, { index, reason: 'tail-short' });
        got += bytesRead;
      }
      return buf;
    } finally {
      await handle.close();
    }
  }

  async removeTail(sessionId: string, index: number): Promise<void> {
    await unlink(this.tailPath(sessionId, index)).catch((err: unknown) => {
      if (errnoCode(err) !== 'ENOENT') throw err;
    });
  }

  async removeObject(sessionId: string, index: number): Promise<void> {
    await unlink(this.objectPath(sessionId, index)).catch((err: unknown) => {
      if (errnoCode(err) !== 'ENOENT') throw err;
    });
  }

  /**
   * The sizes of a session folder's objects and tails, touching nothing (one readdir, one stat
   * per file). A missing folder holds nothing; any other error (EIO, EACCES, ENOTDIR) is thrown.
   */
  async survey(sessionId: string): Promise<FolderSurvey> {
    const dir = this.sessionDir(sessionId);
    const out: FolderSurvey = { objects: new Map(), tails: new Map() };
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return out;
      throw err;
    }
    await Promise.all(names.map(async (name) => {
      const obj = OBJECT_RE.exec(name);
      const tail = TAIL_RE.exec(name);
      if (!obj && !tail) return;
      const size = await stat(join(dir, name)).then((s) => s.size, (err: unknown) => {
        if (errnoCode(err) === 'ENOENT') return null;
        throw err;
      });
      if (size !== null) (obj ? out.objects : out.tails).set(Number((obj ?? tail)![1]), size);
    }));
    return out;
  }

  /**
   * Brings a session folder in line with its record: `committed` objects stay, everything past
   * them (written but never committed), temp files and tails other than `tailIndex` go, and that
   * tail is cut to `tailBytes`. Costs one readdir and one unlink per stray file. A tail missing
   * or shorter than `tailBytes` is damage, not a crash's leftover: it is left as it is, and the
   * caller learns of it from `survey()` (services/sessions/damage.ts).
   */
  async recover(sessionId: string, committed: number, tailIndex: number, tailBytes: number): Promise<RecoveryResult> {
    const dir = this.sessionDir(sessionId);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      await mkdir(dir, { recursive: true, mode: 0o700 });
      names = [];
    }
    let removedObjects = 0;
    let removedTemp = 0;
    let removedTails = 0;
    let tailTruncated = false;
    for (const name of names) {
      const obj = OBJECT_RE.exec(name);
      const tail = TAIL_RE.exec(name);
      if (obj) {
        if (Number(obj[1]) >= committed) { await unlink(join(dir, name)); removedObjects++; }
      } else if (tail) {
        if (Number(tail[1]) !== tailIndex || tailBytes === 0) { await unlink(join(dir, name)); removedTails++; continue; }
        const size = (await stat(join(dir, name))).size;
        if (size > tailBytes) { await truncate(join(dir, name), tailBytes); tailTruncated = true; }
      } else if (name.endsWith('.tmp')) {
        await unlink(join(dir, name));
        removedTemp++;
      }
    }
    if (removedObjects + removedTemp + removedTails > 0 || tailTruncated) await fsyncDir(dir);
    return { removedObjects, removedTemp, removedTails, tailTruncated };
  }

  async removeSession(sessionId: string): Promise<void> {
    await rm(this.sessionDir(sessionId), { recursive: true, force: true });
    await fsyncDir(this.root).catch(() => {});
  }
}
