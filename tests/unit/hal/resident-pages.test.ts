// The idle page trimming (hal/system/resident-pages.ts): the real addon's dropFilePages() in a
// real Node process (RSS falls, the process computes the same results afterwards), and the
// trimmer's decisions (when it trims, when it leaves a busy or already-trimmed process alone).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseRollup, startIdleTrim, type MemoryRollup, type ResidentPagesAddon } from '../../../hal/index.js';

const nativeDir = join(dirname(fileURLToPath(import.meta.url)), '../../../hal/system/sd-notify/native');
const MB = 1024 * 1024;

/** The in-tree addon, rebuilt when missing or older than dropFilePages (as sd-notify.test.ts does). */
function addonPath(): string {
  const index = join(nativeDir, 'index.js');
  const load = (): Partial<ResidentPagesAddon> | null => {
    try { return createRequire(import.meta.url)(index) as Partial<ResidentPagesAddon>; } catch { return null; }
  };
  if (!existsSync(join(nativeDir, 'build/Release/sd_notify.node')) || typeof load()?.dropFilePages !== 'function') {
    const nodeGyp = join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
    const nodedir = process.env['npm_config_nodedir'] ? [`--nodedir=${process.env['npm_config_nodedir']}`] : [];
    execFileSync(process.execPath, [nodeGyp, 'rebuild', '-C', nativeDir, ...nodedir], { stdio: 'ignore', timeout: 120_000 });
  }
  return index;
}

// A child that does real work (sha256, gzip, JSON, a GC-heavy loop), reports its memory, drops
// its file pages, reports again and does the same work again: the answers must not change.
const CHILD = `
const { createHash } = require('node:crypto');
const { gzipSync, gunzipSync } = require('node:zlib');
const { readFileSync } = require('node:fs');
const addon = require(process.argv[1]);
const kb = (k) => Number(new RegExp('^' + k + ':\\\\s+(\\\\d+)', 'm').exec(readFileSync('/proc/self/smaps_rollup', 'utf8'))[1]) * 1024;
const work = () => {
  const data = Buffer.from(JSON.stringify(Array.from({ length: 20000 }, (_, i) => ({ i, s: 'x'.repeat(i % 50) }))));
  const z = gunzipSync(gzipSync(data));
  return createHash('sha256').update(z).digest('hex') + ':' + new Intl.NumberFormat('de-DE').format(1234567.891);
};
const first = work();
const before = { rss: kb('Rss'), anon: kb('Anonymous') };
const dropped = addon.dropFilePages();
const after = { rss: kb('Rss'), anon: kb('Anonymous') };
const second = work();
process.stdout.write(JSON.stringify({ first, second, before, after, dropped }));
`;

describe('dropFilePages (the real addon)', () => {
  it('drops the node binary\'s read-only pages from RSS, keeps anonymous memory, and the process still computes the same', async () => {
    const path = addonPath();
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', CHILD, path], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.on('data', (d: Buffer) => { text += d.toString(); });
      child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`child exited ${code}`))));
    });
    const r = JSON.parse(out) as { first: string; second: string; before: { rss: number; anon: number }; after: { rss: number; anon: number }; dropped: number };
    expect(r.second).toBe(r.first);
    expect(r.first).toMatch(/^[0-9a-f]{64}:1\.234\.567,891$/);
    // Start-up touched tens of MB of the binary; most of it goes, the heap stays.
    expect(r.dropped).toBeGreaterThan(15 * MB);
    expect(r.before.rss - r.after.rss).toBeGreaterThan(10 * MB);
    expect(Math.abs(r.after.anon - r.before.anon)).toBeLessThan(2 * MB);
  });
});

describe('parseRollup', () => {
  it('reads Rss and Anonymous in kB and derives the file-backed part', () => {
    const text = 'Rss:               56400 kB\nPss:               27000 kB\nAnonymous:         13700 kB\n';
    expect(parseRollup(text)).toEqual({ rssBytes: 56400 * 1024, anonBytes: 13700 * 1024, fileBytes: 42700 * 1024 });
  });
  it('refuses a rollup without the fields', () => {
    expect(() => parseRollup('Pss: 1 kB\n')).toThrow(/Rss/);
  });
});

describe('startIdleTrim', () => {
  // RSS per tick = the file MB given + 10 MB of anonymous memory.
  function rig(files: number[], cpuMs: number[]) {
    let i = 0;
    let c = 0;
    const drops: number[] = [];
    const calls: string[] = [];
    const addon: ResidentPagesAddon = { dropFilePages: () => { drops.push(i); calls.push('drop'); return 30 * MB; }, trimMalloc: () => { calls.push('malloc'); return true; } };
    const trim = startIdleTrim({
      addon, intervalMs: 3_600_000, quietCpuMs: 100, growthBytes: 4 * MB, collectGarbage: () => calls.push('gc'),
      readRollup: (): MemoryRollup => { const f = files[Math.min(i, files.length - 1)]! * MB; return { rssBytes: f + 10 * MB, anonBytes: 10 * MB, fileBytes: f }; },
      // Cumulative CPU: each tick adds that tick's milliseconds.
      cpuMicros: () => c * 1000,
    });
    const step = (): boolean => { c += cpuMs[Math.min(i, cpuMs.length - 1)]!; const t = trim.tick(); i++; return t; };
    return { step, drops, calls, stop: () => trim.stop() };
  }

  it('trims on the first quiet tick, measures the working set after, and trims again only on growth', () => {
    // file MB per tick: 42 (start-up) → trimmed; 14 comes back (working set); 15, 17 (< +4);
    // 30 after a check → trimmed; 13 recorded; 14.
    const r = rig([42, 14, 15, 17, 30, 13, 14], [5, 5, 5, 5, 5, 5, 5]);
    const trimmed = Array.from({ length: 7 }, () => r.step());
    r.stop();
    expect(trimmed).toEqual([true, false, false, false, true, false, false]);
    // Each trim: the garbage first, then glibc's free pages, then the file pages.
    expect(r.calls).toEqual(['gc', 'malloc', 'drop', 'gc', 'malloc', 'drop']);
  });

  it('leaves a busy process alone and does not record a busy tick as the working set', () => {
    // busy (300 ms) ticks never trim; after the trim a busy tick is not taken as the working
    // set, so the next quiet one is; growth is measured from there.
    const r = rig([42, 42, 30, 14, 15, 16, 25], [300, 5, 300, 5, 5, 5, 5]);
    const trimmed = Array.from({ length: 7 }, () => r.step());
    r.stop();
    expect(trimmed).toEqual([false, true, false, false, false, false, true]);
  });

  it('stops after an error and reports it once', () => {
    const errors: unknown[] = [];
    let calls = 0;
    const trim = startIdleTrim({
      addon: { dropFilePages: () => { calls++; throw new Error('EIO'); }, trimMalloc: () => true },
      intervalMs: 3_600_000, quietCpuMs: 100, growthBytes: MB,
      readRollup: () => ({ rssBytes: 50 * MB, anonBytes: 10 * MB, fileBytes: 40 * MB }),
      cpuMicros: () => 0,
      onError: (e) => errors.push(e),
    });
    expect([trim.tick(), trim.tick(), trim.tick()]).toEqual([false, false, false]);
    trim.stop();
    expect(calls).toBe(1);
    expect(errors).toHaveLength(1);
  });
});
