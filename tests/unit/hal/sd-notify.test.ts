// sd_notify through the real N-API addon to a real unix datagram socket (bound by python3),
// for a filesystem path and for an abstract-namespace address. The addon is built in place on
// first run if needed (node-gyp, bundled with npm; about 2 s).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSdNotifier, formatNotifyMessage, parseWatchdogUsec, type SdNotifyAddon } from '../../../hal/index.js';
import { listenDatagrams, type DatagramListener } from '../../fixtures/hal/datagram-listener.js';
import { makeTempRoot, removeTempRoot } from '../../fixtures/hal/fake-sysfs.js';

const nativeDir = join(dirname(fileURLToPath(import.meta.url)), '../../../hal/system/sd-notify/native');
function loadAddon(): SdNotifyAddon {
  if (!existsSync(join(nativeDir, 'build/Release/sd_notify.node'))) {
    // npm does not put its bundled node-gyp on PATH outside `npm run`, so call it by path; and
    // use the installed headers (offline machines cannot download them).
    const prefix = dirname(dirname(process.execPath));
    const nodeGyp = process.env['NODE_GYP'] ?? join(prefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
    const nodedir = existsSync(join(prefix, 'include/node/node_api.h')) ? [`--nodedir=${prefix}`] : [];
    execFileSync(process.execPath, [nodeGyp, 'rebuild', '-C', nativeDir, ...nodedir], { stdio: 'ignore', timeout: 120_000 });
  }
  return createRequire(import.meta.url)(join(nativeDir, 'index.js')) as SdNotifyAddon;
}

let addon: SdNotifyAddon;
let dir: string;
let listener: DatagramListener | null = null;
beforeAll(() => {
  addon = loadAddon();
}, 120_000);
beforeEach(async () => {
  dir = await makeTempRoot();
});
afterEach(async () => {
  await listener?.close();
  listener = null;
  await removeTempRoot(dir);
});

describe('sd_notify to a real datagram socket', () => {
  it('delivers READY=1 and WATCHDOG=1 to a filesystem socket', async () => {
    const path = join(dir, 'notify.sock');
    listener = await listenDatagrams(path);
    const notifier = createSdNotifier({ socketPath: path, load: async () => addon });
    expect(notifier.available).toBe(true);
    expect(await notifier.notify({ READY: '1', STATUS: 'ready' })).toBe(true);
    expect(await notifier.notify({ WATCHDOG: '1' })).toBe(true);
    expect(await listener.next(2)).toEqual(['READY=1\nSTATUS=ready', 'WATCHDOG=1']);
  });

  it('delivers to an abstract socket (@name)', async () => {
    const name = `@lucid-hal-test-${process.pid}-${Date.now()}`;
    listener = await listenDatagrams(name);
    const notifier = createSdNotifier({ socketPath: name, load: async () => addon });
    expect(await notifier.notify({ READY: '1' })).toBe(true);
    expect(await notifier.notify({ WATCHDOG: '1' })).toBe(true);
    expect(await listener.next(2)).toEqual(['READY=1', 'WATCHDOG=1']);
  });

  it('finds the in-tree build with the default loader', async () => {
    const path = join(dir, 'default.sock');
    listener = await listenDatagrams(path);
    const errors: unknown[] = [];
    const notifier = createSdNotifier({ socketPath: path, onError: (e) => errors.push(e) });
    expect(await notifier.notify({ STATUS: 'hello from the default loader' })).toBe(true);
    expect(await listener.next(1)).toEqual(['STATUS=hello from the default loader']);
    expect(errors).toEqual([]);
  });

  it('the addon throws errno text for a socket nobody listens on', () => {
    expect(() => addon.send(join(dir, 'absent.sock'), 'READY=1')).toThrow(expect.objectContaining({
      code: 'ENOENT', message: expect.stringContaining('No such file or directory'),
    }));
    expect(() => addon.send('@lucid-hal-nobody-home', 'READY=1')).toThrow(expect.objectContaining({ code: 'ECONNREFUSED' }));
    expect(() => addon.send('relative.sock', 'x')).toThrow(/absolute/);
    expect(() => addon.send(`/${'x'.repeat(200)}`, 'x')).toThrow(expect.objectContaining({ code: 'ENAMETOOLONG' }));
  });

  it('a failing send resolves false and is reported once per streak', async () => {
    const errors: unknown[] = [];
    const notifier = createSdNotifier({ socketPath: join(dir, 'gone.sock'), load: async () => addon, onError: (e) => errors.push(e) });
    expect(await notifier.notify({ WATCHDOG: '1' })).toBe(false);
    expect(await notifier.notify({ WATCHDOG: '1' })).toBe(false);
    expect(errors).toEqual([expect.objectContaining({ code: 'ENOENT' })]);
  });
});

describe('sd_notify fallbacks', () => {
  it('is a no-op without NOTIFY_SOCKET and never loads the addon', async () => {
    let loads = 0;
    for (const socketPath of [undefined, '']) {
      const notifier = createSdNotifier({ socketPath, load: async () => { loads++; return addon; } });
      expect(notifier.available).toBe(false);
      expect(await notifier.notify({ READY: '1' })).toBe(false);
    }
    expect(loads).toBe(0);
  });

  it('without the addon: returns false, reports once, and becomes unavailable', async () => {
    const errors: unknown[] = [];
    let loads = 0;
    const notifier = createSdNotifier({
      socketPath: '/run/systemd/notify',
      load: async () => { loads++; throw new Error("Cannot find module './build/Release/sd_notify.node'"); },
      onError: (e) => errors.push(e),
    });
    expect(notifier.available).toBe(true);
    expect(await notifier.notify({ READY: '1' })).toBe(false);
    expect(await notifier.notify({ WATCHDOG: '1' })).toBe(false);
    expect(notifier.available).toBe(false);
    expect(loads).toBe(1);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toMatch(/sd_notify addon unavailable.*sd_notify\.node/);
  });

  it('never rejects: a bad field name is reported and resolves false', async () => {
    const errors: unknown[] = [];
    const notifier = createSdNotifier({ socketPath: '/x', load: async () => addon, onError: (e) => errors.push(e) });
    expect(await notifier.notify({ 'bad key': '1' })).toBe(false);
    expect(errors).toEqual([expect.any(TypeError)]);
  });
});

describe('formatNotifyMessage', () => {
  it('joins fields and neutralises newlines that would inject fields', () => {
    expect(formatNotifyMessage({ READY: '1', STATUS: 'degraded: disk\nSTOPPING=1' })).toBe('READY=1\nSTATUS=degraded: disk STOPPING=1');
    expect(() => formatNotifyMessage({})).toThrow(TypeError);
    expect(() => formatNotifyMessage({ ready: '1' })).toThrow(TypeError);
  });
});

describe('parseWatchdogUsec', () => {
  it('pings at half the timeout, in ms', () => {
    expect(parseWatchdogUsec({ WATCHDOG_USEC: '30000000' }, 42)).toBe(15_000);
    expect(parseWatchdogUsec({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42)).toBe(15_000);
    expect(parseWatchdogUsec({ WATCHDOG_USEC: '1000' }, 42)).toBe(1); // 0.5 ms rounds up to the 1 ms floor
    expect(parseWatchdogUsec({ WATCHDOG_USEC: String(20_000_000) })).toBe(10_000);
  });

  it('is null when off, malformed, or meant for another process', () => {
    expect(parseWatchdogUsec({}, 42)).toBeNull();
    expect(parseWatchdogUsec({ WATCHDOG_USEC: '0' }, 42)).toBeNull();
    expect(parseWatchdogUsec({ WATCHDOG_USEC: '-5' }, 42)).toBeNull();
    expect(parseWatchdogUsec({ WATCHDOG_USEC: '15s' }, 42)).toBeNull();
    expect(parseWatchdogUsec({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '43' }, 42)).toBeNull();
    expect(parseWatchdogUsec({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: 'x' }, 42)).toBeNull();
    expect(parseWatchdogUsec({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: String(process.pid) })).toBe(15_000);
  });
});
