// The Linux watchdog device (/dev/watchdog, from bcm2835-wdt on a Pi). No ioctl is needed for
// what we do: any write resets the countdown, and a final 'V' before close disarms it ("magic
// close"). In tests the path is a plain file, and what was written can be read back.
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { ioError, notOpenError, openError } from '../errors.js';
import type { WatchdogDriver } from './types.js';

export interface DevWatchdogOptions {
  /** Device path. Default '/dev/watchdog'. */
  readonly path?: string;
}

// Not 'V': the kernel's watchdog_write() scans every byte written and forgets an earlier 'V'
// when another character follows, so a kick must never look like a magic close.
const KICK = Buffer.from('1');
const MAGIC_CLOSE = Buffer.from('V');

class DevWatchdog implements WatchdogDriver {
  readonly id: string;
  private readonly path: string;
  private handle: FileHandle | null = null;
  private opening: Promise<FileHandle> | null = null;

  constructor(options: DevWatchdogOptions) {
    this.path = options.path ?? '/dev/watchdog';
    this.id = `dev:${this.path}`;
  }

  async open(): Promise<void> {
    if (this.handle) return;
    // O_WRONLY without O_CREAT (not the 'w' flag): a missing device must fail with ENOENT, not
    // quietly become a regular file called /dev/watchdog that protects nothing. O_APPEND is
    // ignored by the character device and turns a plain test file into a log of what was
    // written across re-opens. Node adds O_CLOEXEC itself, so children we spawn do not inherit
    // (and keep arming) the device.
    this.opening ??= open(this.path, constants.O_WRONLY | constants.O_APPEND);
    try {
      this.handle = await this.opening;
    } catch (err) {
      // EBUSY: another process (systemd's RuntimeWatchdogSec, a second supervisor) has it.
      throw openError(`${this.id}: open`, err);
    } finally {
      this.opening = null;
    }
  }

  async kick(): Promise<void> {
    const handle = this.handle;
    if (!handle) throw notOpenError(this.id);
    try {
      await handle.write(KICK);
    } catch (err) {
      throw ioError(`${this.id}: kick`, err);
    }
  }

  async close(): Promise<void> {
    const handle = this.handle;
    if (!handle) return;
    this.handle = null;
    let failure: unknown;
    try {
      await handle.write(MAGIC_CLOSE);
    } catch (err) {
      failure = err;
    }
    try {
      await handle.close();
    } catch (err) {
      failure ??= err;
    }
    if (failure !== undefined) throw ioError(`${this.id}: close`, failure);
  }
}

export function createDevWatchdog(options: DevWatchdogOptions = {}): WatchdogDriver {
  return new DevWatchdog(options);
}
