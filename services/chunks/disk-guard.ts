// Keeps the disk from filling up under the appliance (README.md "Full disk"):
// - a free-space reserve: before a chunk is written, the file system must keep `reserveBytes`
//   (at least FLOOR_BYTES) free after it (statfs, re-read when the bytes written since the last
//   reading could have used up half the margin, and at least once a second);
// - a ballast file of BALLAST_BYTES next to the chunks, deleted when a write still hits ENOSPC
//   (another program filled the disk, or the reserve is 0) so that LevelDB always has room to
//   record the pause. LevelDB stops taking writes until it is reopened once a synced write of its
//   own failed, so its metadata must never be the thing that meets the full disk.
import { open, statfs, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { LucidError, errnoCode } from '../common/errors.js';

export const BALLAST_BYTES = 4 * 1024 * 1024;
export const BALLAST_FILE = '.ballast';
/** The smallest reserve honoured when one is set: room for the store's own writes. */
export const FLOOR_BYTES = 1024 * 1024;

export interface DiskGuardDeps {
  /** Folder on the file system to guard (the chunk root). */
  readonly dir: string;
  readonly reserveBytes: number;
  readonly now?: () => number;
}

/** ENOSPC/EDQUOT from the file system, our own refusal, or LevelDB's "No space left on device". */
export function isDiskFull(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== null && e !== undefined && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = errnoCode(e);
    if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SESS_ERR_STORAGE_FULL') return true;
    if (/No space left on device|Disk quota exceeded/i.test(String((e as { message?: unknown }).message ?? ''))) return true;
  }
  return false;
}

export class DiskGuard {
  private free = 0;
  private readAt = 0;
  private usedSince = 0;
  private readonly now: () => number;

  constructor(private readonly deps: DiskGuardDeps) {
    this.now = deps.now ?? Date.now;
  }

  get ballastPath(): string {
    return join(this.deps.dir, BALLAST_FILE);
  }

  /** Free bytes for an unprivileged writer right now. */
  async available(): Promise<number> {
    const s = await statfs(this.deps.dir);
    return Number(s.bavail) * Number(s.bsize);
  }

  /**
   * Throws SESS_ERR_STORAGE_FULL when writing `bytes` more would eat into the reserve (at least
   * FLOOR_BYTES). The reading is refreshed once a second and whenever the writes since the last
   * one could have used half the margin, so a program filling the disk in between is met by a
   * real ENOSPC, which the caller handles the same way. A reserve of 0 turns the check off: only
   * ENOSPC stops an upload then.
   */
  async reserve(bytes: number): Promise<void> {
    if (this.deps.reserveBytes === 0) return;
    const keep = Math.max(this.deps.reserveBytes, FLOOR_BYTES);
    const stale = this.now() - this.readAt > 1000 || this.usedSince + bytes > (this.free - keep) / 2;
    if (stale) {
      this.free = await this.available();
      this.readAt = this.now();
      this.usedSince = 0;
    }
    if (this.free - this.usedSince - bytes < keep) {
      throw new LucidError('SESS_ERR_STORAGE_FULL', 'not enough free space: the disk reserve is reached', {
        availableBytes: Math.max(0, this.free - this.usedSince), reserveBytes: this.deps.reserveBytes,
      });
    }
    this.usedSince += bytes;
  }

  /** Makes sure the ballast exists; false when there was no room for it (the disk is full). */
  async ensureBallast(): Promise<boolean> {
    let handle;
    try {
      handle = await open(this.ballastPath, 'wx', 0o600);
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') return true;
      throw err;
    }
    try {
      const zeros = Buffer.alloc(64 * 1024);
      for (let at = 0; at < BALLAST_BYTES; at += zeros.length) await handle.write(zeros, 0, zeros.length, at);
      await handle.sync();
      await handle.close();
      return true;
    } catch (err) {
      await handle.close().catch(() => {});
      await unlink(this.ballastPath).catch(() => {});
      if (isDiskFull(err)) return false;
      throw err;
    }
  }

  /**
   * Before a synced store write (LevelDB stops taking writes for good when a synced write fails):
   * when the disk is nearly full, free the ballast first.
   */
  async headroom(): Promise<void> {
    if ((await this.available()) < FLOOR_BYTES) await this.releaseBallast();
  }

  /** Frees the ballast's space (after a real ENOSPC) so that metadata can still be written. */
  async releaseBallast(): Promise<void> {
    await unlink(this.ballastPath).catch(() => {});
    this.readAt = 0;
  }

  /** Forget the last reading (after space was freed or used outside this guard). */
  invalidate(): void {
    this.readAt = 0;
  }
}
