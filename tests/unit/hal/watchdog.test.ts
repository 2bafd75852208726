import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDevWatchdog, createSimWatchdog } from '../../../hal/index.js';
import { makeTempRoot, removeTempRoot } from '../../fixtures/hal/fake-sysfs.js';

let dir: string;
beforeEach(async () => {
  dir = await makeTempRoot();
});
afterEach(async () => {
  await removeTempRoot(dir);
});

describe('/dev/watchdog driver', () => {
  it('writes one byte per kick and the magic V on close', async () => {
    const path = join(dir, 'watchdog');
    await writeFile(path, '');
    const wd = createDevWatchdog({ path });
    expect(wd.id).toBe(`dev:${path}`);
    await wd.open();
    await wd.kick();
    await wd.kick();
    expect(await readFile(path, 'latin1')).toBe('11');
    await wd.close();
    expect(await readFile(path, 'latin1')).toBe('11V');
  });

  it('never creates a missing device: HAL_ERR_UNAVAILABLE with ENOENT', async () => {
    const path = join(dir, 'watchdog');
    await expect(createDevWatchdog({ path }).open()).rejects.toMatchObject({ code: 'HAL_ERR_UNAVAILABLE', errno: 'ENOENT' });
    await expect(access(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('defaults to /dev/watchdog, which this machine does not have', async () => {
    const wd = createDevWatchdog();
    expect(wd.id).toBe('dev:/dev/watchdog');
    await expect(wd.open()).rejects.toMatchObject({ code: 'HAL_ERR_UNAVAILABLE' });
  });

  it('reports a device that refuses writes as HAL_ERR_IO', async () => {
    // /dev/full accepts open(O_WRONLY) and fails every write with ENOSPC.
    const wd = createDevWatchdog({ path: '/dev/full' });
    await wd.open();
    await expect(wd.kick()).rejects.toMatchObject({ code: 'HAL_ERR_IO', errno: 'ENOSPC' });
    await expect(wd.close()).rejects.toMatchObject({ code: 'HAL_ERR_IO' });
    // Closed regardless: a second close is a no-op, kicks are refused.
    await wd.close();
    await expect(wd.kick()).rejects.toMatchObject({ code: 'HAL_ERR_UNAVAILABLE' });
  });
});

describe('simulated watchdog', () => {
  it('records kicks with their time and can pretend to be busy', async () => {
    let now = 1000;
    const wd = createSimWatchdog({ now: () => now });
    wd.simulateBusy(true);
    await expect(wd.open()).rejects.toMatchObject({ code: 'HAL_ERR_UNAVAILABLE' });
    wd.simulateBusy(false);
    await wd.open();
    now = 2500;
    await wd.kick();
    expect({ kicks: wd.kicks, lastKickAt: wd.lastKickAt, isOpen: wd.isOpen, closedCleanly: wd.closedCleanly })
      .toEqual({ kicks: 1, lastKickAt: 2500, isOpen: true, closedCleanly: false });
  });
});
