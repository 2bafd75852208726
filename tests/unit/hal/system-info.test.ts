import { existsSync, readFileSync } from 'node:fs';
import { cpus, totalmem, uptime } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  cpuPercentBetween, createProcSystemInfo, parseCpuSample, parseCpuinfoCount, parseLoadavg, parseMeminfo, parseMilliCelsius,
  parseThrottled, parseUptime,
} from '../../../hal/index.js';
import { makeTempRoot, removeTempRoot, writeTree } from '../../fixtures/hal/fake-sysfs.js';

let root: string;
beforeEach(async () => {
  root = await makeTempRoot();
});
afterEach(async () => {
  await removeTempRoot(root);
});

const MEMINFO = 'MemTotal:        3884564 kB\nMemFree:          512000 kB\nMemAvailable:    2931112 kB\nBuffers:           40960 kB\n';
const CPUINFO = [0, 1, 2, 3].map((n) => `processor\t: ${n}\nBogoMIPS\t: 108.00\nCPU implementer\t: 0x41\n`).join('\n');

describe('createProcSystemInfo on a fake Raspberry Pi tree', () => {
  it('decodes every field exactly', async () => {
    await writeTree(root, {
      '/proc/uptime': '12345.67 40000.00\n',
      '/proc/loadavg': '0.52 0.58 0.59 1/389 12345\n',
      '/proc/meminfo': MEMINFO,
      '/proc/cpuinfo': CPUINFO,
      '/proc/stat': 'cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 25 0 12 200 12 0 0 0 0 0\nintr 1234\n',
      '/sys/class/thermal/thermal_zone0/temp': '47236\n',
      // The kernel prints this attribute with %x: hex, no 0x.
      '/sys/devices/platform/soc/soc:firmware/get_throttled': '50005\n',
    });
    const info = createProcSystemInfo({ root, dataDir: root });
    const first = await info.read();
    expect(first).toEqual({
      uptimeSec: 12345.67,
      loadavg: [0.52, 0.58, 0.59],
      cpuCount: 4,
      cpuPercent: null,
      memory: { totalBytes: 3884564 * 1024, availableBytes: 2931112 * 1024 },
      temperatureC: 47.236,
      disk: expect.objectContaining({ path: root }),
      throttled: {
        raw: '0x50005',
        underVoltageNow: true, frequencyCappedNow: false, throttledNow: true, softTempLimitNow: false,
        underVoltageOccurred: true, frequencyCappedOccurred: false, throttledOccurred: true, softTempLimitOccurred: false,
      },
    });
    // 1000 more jiffies, 650 of them idle (guest time is inside user and must not count twice).
    await writeTree(root, { '/proc/stat': 'cpu  400 0 100 1400 100 0 0 0 50 0\n' });
    expect((await info.read()).cpuPercent).toBe(35);
    // Same counters again (two reads inside one tick): no number, and the older sample is kept.
    expect((await info.read()).cpuPercent).toBeNull();
    await writeTree(root, { '/proc/stat': 'cpu  500 0 100 1500 100 0 0 0 0 0\n' });
    expect((await info.read()).cpuPercent).toBe(50);
  });

  it('reports the data directory filesystem from statfs', async () => {
    const { disk } = await createProcSystemInfo({ root, dataDir: root }).read();
    expect(disk).not.toBeNull();
    expect(disk!.totalBytes).toBeGreaterThan(0);
    expect(disk!.freeBytes).toBeLessThanOrEqual(disk!.totalBytes);
    expect(disk!.availableBytes).toBeLessThanOrEqual(disk!.freeBytes);
  });

  it('turns every missing file into a null field, never a throw', async () => {
    const info = createProcSystemInfo({ root, dataDir: `${root}/no-such-dir`, cpuCountFallback: () => 3 });
    expect(await info.read()).toEqual({
      uptimeSec: null, loadavg: null, cpuCount: 3, cpuPercent: null, memory: null, temperatureC: null, disk: null, throttled: null,
    });
  });

  it('turns garbled files into null fields too', async () => {
    await writeTree(root, {
      '/proc/uptime': 'soon\n', '/proc/loadavg': '1 2\n', '/proc/meminfo': 'MemTotal: 5 kB\n', '/proc/stat': 'intr 1\n',
      '/sys/class/thermal/thermal_zone0/temp': 'hot\n', '/sys/devices/platform/soc/soc:firmware/get_throttled': 'zz\n',
    });
    const got = await createProcSystemInfo({ root, dataDir: root }).read();
    expect(got).toMatchObject({ uptimeSec: null, loadavg: null, memory: null, cpuPercent: null, temperatureC: null, throttled: null });
  });
});

describe('createProcSystemInfo on this machine', () => {
  it('reads the real /proc', async () => {
    const info = createProcSystemInfo({ dataDir: root });
    const first = await info.read();
    expect(first.uptimeSec).toBeGreaterThan(0);
    expect(Math.abs(first.uptimeSec! - uptime())).toBeLessThan(5);
    expect(first.loadavg).toHaveLength(3);
    expect(first.cpuCount).toBe(cpus().length);
    expect(first.memory!.totalBytes).toBe(totalmem());
    expect(first.memory!.availableBytes).toBeGreaterThan(0);
    expect(first.memory!.availableBytes).toBeLessThanOrEqual(first.memory!.totalBytes);
    expect(first.cpuPercent).toBeNull();
    const thermal = '/sys/class/thermal/thermal_zone0/temp';
    expect(first.temperatureC).toBe(existsSync(thermal) ? Number(readFileSync(thermal, 'utf8')) / 1000 : null);
    expect(first.throttled === null).toBe(!existsSync('/sys/devices/platform/soc/soc:firmware/get_throttled'));
    // Burn a few clock ticks so the second sample has something to measure.
    const until = Date.now() + 60;
    while (Date.now() < until) { /* busy */ }
    const second = await info.read();
    expect(second.cpuPercent).not.toBeNull();
    expect(second.cpuPercent!).toBeGreaterThan(0);
    expect(second.cpuPercent!).toBeLessThanOrEqual(100);
  });
});

describe('proc parsers', () => {
  it('parseThrottled decodes every bit and accepts 0x and vcgencmd forms', () => {
    expect(parseThrottled('0\n')).toMatchObject({ raw: '0x0', underVoltageNow: false, softTempLimitOccurred: false });
    const all = parseThrottled('f000f')!;
    expect(Object.values(all).filter((v) => v === true)).toHaveLength(8);
    expect(parseThrottled('0x80008')).toMatchObject({
      raw: '0x80008', softTempLimitNow: true, softTempLimitOccurred: true, underVoltageNow: false, throttledOccurred: false,
    });
    expect(parseThrottled('throttled=0x20002')).toMatchObject({ frequencyCappedNow: true, frequencyCappedOccurred: true, throttledNow: false });
    // Bare digits are hex (the kernel's format): "10" is bit 4, which no flag uses.
    expect(parseThrottled('10')).toMatchObject({ raw: '0x10', underVoltageNow: false, frequencyCappedNow: false });
    expect(parseThrottled('')).toBeNull();
    expect(parseThrottled('0x123456789')).toBeNull();
  });

  it('parse the other files, rejecting what they do not understand', () => {
    expect(parseUptime('5.00 1.00')).toBe(5);
    expect(parseUptime('-5 1')).toBeNull();
    expect(parseLoadavg('1.00 2.50 3 4/5 6')).toEqual([1, 2.5, 3]);
    expect(parseMeminfo('MemAvailable: 1 kB\n')).toBeNull();
    expect(parseCpuinfoCount('model name: x\n')).toBeNull();
    expect(parseMilliCelsius('-5500\n')).toBe(-5.5);
    expect(parseCpuSample('cpu  1 2 3\n')).toBeNull();
    expect(parseCpuSample('cpu  1 2 3 4 5 6 7 8 9 10\n')).toEqual({ idle: 9, total: 36 });
    expect(cpuPercentBetween({ idle: 10, total: 100 }, { idle: 10, total: 100 })).toBeNull();
    expect(cpuPercentBetween({ idle: 10, total: 100 }, { idle: 5, total: 90 })).toBeNull();
    expect(cpuPercentBetween({ idle: 0, total: 0 }, { idle: 0, total: 10 })).toBe(100);
  });
});
