// The disk guard's decisions (the real full disk is in tests/integration/sessions/disk-full.test.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, statSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BALLAST_BYTES, DiskGuard, isDiskFull } from '../../../services/chunks/index.js';
import { LucidError } from '../../../services/common/errors.js';

const dirs: string[] = [];
const tmp = (): string => { const d = mkdtempSync(join(tmpdir(), 'lucid-guard-')); dirs.push(d); return d; };
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
const free = (dir: string): number => { const s = statfsSync(dir); return s.bavail * s.bsize; };

describe('disk guard', () => {
  it('refuses a write that would eat into the reserve', async () => {
    const dir = tmp();
    const avail = free(dir);
    const guard = new DiskGuard({ dir, reserveBytes: avail - 10 * 1024 * 1024 });
    await guard.reserve(4 * 1024 * 1024);
    await guard.reserve(4 * 1024 * 1024);
    await expect(guard.reserve(12 * 1024 * 1024)).rejects.toMatchObject({ code: 'SESS_ERR_STORAGE_FULL', statusCode: 507 });
    await new DiskGuard({ dir, reserveBytes: 0 }).reserve(avail * 2); // 0: no check at all
  });

  it('keeps a ballast file that it can give up and make again', async () => {
    const dir = tmp();
    const guard = new DiskGuard({ dir, reserveBytes: 0 });
    expect(await guard.ensureBallast()).toBe(true);
    expect(statSync(guard.ballastPath).size).toBe(BALLAST_BYTES);
    expect(await guard.ensureBallast()).toBe(true);
    await guard.releaseBallast();
    expect(existsSync(guard.ballastPath)).toBe(false);
    await guard.headroom(); // plenty of room: nothing to do
    expect(await guard.ensureBallast()).toBe(true);
  });

  it('knows a full disk from errno, its own refusal and LevelDB\'s message', () => {
    expect(isDiskFull(Object.assign(new Error('write'), { code: 'ENOSPC' }))).toBe(true);
    expect(isDiskFull(Object.assign(new Error('write'), { code: 'EDQUOT' }))).toBe(true);
    expect(isDiskFull(new LucidError('SESS_ERR_STORAGE_FULL'))).toBe(true);
    const level = Object.assign(new Error('Write failed'), { code: 'LEVEL_IO_ERROR', cause: new Error('IO error: /data/store/000005.log: No space left on device') });
    expect(isDiskFull(level)).toBe(true);
    expect(isDiskFull(Object.assign(new Error('write'), { code: 'EIO' }))).toBe(false);
    expect(isDiskFull(null)).toBe(false);
  });
});
