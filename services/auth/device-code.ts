// The device code: physical presence at the appliance standing in for the second admin while
// no account can approve a request (approvals.ts, bootstrap). A long press of the button, once
// setup is done and such a request waits, makes a one-time code, prints it to the console log
// and writes it to <data>/approval-code (0600) — where the setup code lives before setup. It
// is good for one approval within 10 minutes; a LAN attacker holding one admin's password has
// neither the console nor the data directory. Same alphabet and comparison as the setup code.
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../common/errors.js';
import { fsyncDir, writeFileAtomic } from '../common/fs-atomic.js';
import { codesEqual, makeSetupCode } from './setup-code.js';

export const DEVICE_CODE_FILE = 'approval-code';
export const DEVICE_CODE_TTL_MS = 10 * 60 * 1000;

export class DeviceCode {
  private code: { value: string; expiresAt: number } | null = null;
  constructor(private readonly dataDir: string, private readonly now: () => number) {}

  get path(): string { return join(this.dataDir, DEVICE_CODE_FILE); }
  /** The live code (tests read it here; people read the console or the file). */
  get current(): string | null { return this.code && this.code.expiresAt > this.now() ? this.code.value : null; }

  async issue(): Promise<string> {
    const value = makeSetupCode();
    this.code = { value, expiresAt: this.now() + DEVICE_CODE_TTL_MS };
    await writeFileAtomic(this.path, `${value}\n`, { mode: 0o600 });
    return value;
  }

  /** True (and the code is used up) when `candidate` is the live code. */
  take(candidate: string): boolean {
    const live = this.current;
    if (live === null || !codesEqual(live, candidate)) return false;
    this.code = null;
    void this.removeFile().catch(() => {});
    return true;
  }

  async removeFile(): Promise<void> {
    try {
      await unlink(this.path);
      await fsyncDir(this.dataDir);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
  }
}
