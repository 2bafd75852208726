// Core's malloc settings: transparent huge pages for the heap only where a huge page is 2 MiB.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CORE_ENV, CORE_NODE_ARGS, coreNodeArgs, hugePageEnv, readPmdBytes } from '../../../appliance/supervisor/children.js';

describe('core environment: huge pages', () => {
  it('asks glibc for huge pages with 2 MiB pages, not with 32 MiB or 512 MiB ones, nor without THP', () => {
    expect(hugePageEnv(2 * 1024 * 1024)).toEqual({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' });
    expect(hugePageEnv(32 * 1024 * 1024)).toEqual({});
    expect(hugePageEnv(512 * 1024 * 1024)).toEqual({});
    expect(hugePageEnv(null)).toEqual({});
  });

  it('reads the kernel size, and null from a missing or garbled file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lucid-thp-'));
    writeFileSync(join(dir, 'pmd'), '2097152\n');
    writeFileSync(join(dir, 'bad'), 'many\n');
    expect(readPmdBytes(join(dir, 'pmd'))).toBe(2097152);
    expect(readPmdBytes(join(dir, 'bad'))).toBeNull();
    expect(readPmdBytes(join(dir, 'missing'))).toBeNull();
  });

  it('the heap of a process started with CORE_ENV holds its buffers in huge pages where this kernel offers them', () => {
    const pmd = readPmdBytes();
    const mode = (() => {
      try {
        return /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1];
      } catch {
        return undefined;
      }
    })();
    const script = `const keep = []; for (let i = 0; i < 16; i++) { const b = Buffer.allocUnsafeSlow(1 << 20); b.fill(1); keep.push(b); }
      process.stdout.write(/AnonHugePages:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/smaps_rollup', 'utf8'))[1]);`;
    const hugeKB = (env: Record<string, string>): number => Number(spawnSync(process.execPath, ['-e', script], { env: { PATH: process.env['PATH'] ?? '', ...env }, encoding: 'utf8' }).stdout);
    if (pmd === 2 * 1024 * 1024 && mode === 'madvise') {
      const { GLIBC_TUNABLES: _tunables, ...without } = CORE_ENV;
      expect(hugeKB(without)).toBe(0);
      expect(hugeKB({ ...CORE_ENV })).toBeGreaterThanOrEqual(8 * 1024); // at least half the 16 MiB
    } else {
      // THP "always" gives huge pages anyway, "never" none: only the setting itself can be checked.
      expect(CORE_ENV['GLIBC_TUNABLES']).toBe(pmd === 2 * 1024 * 1024 ? 'glibc.malloc.hugetlb=1' : undefined);
    }
  });
});

describe('core V8 options', () => {
  it('moves the young-generation Buffer trigger where V8 13 raised it, and leaves older V8 alone (it refuses the flag)', () => {
    expect(coreNodeArgs('13.6.233.17-node.30')).toEqual(['--initial-old-space-size=64', '--scavenger-max-new-space-capacity-mb=2']);
    expect(coreNodeArgs('11.3.244.8-node.33')).toEqual(['--initial-old-space-size=64']);
    expect(coreNodeArgs(process.versions.v8)).toEqual(CORE_NODE_ARGS);
  });

  it('this runtime starts with them, and frees short-lived Buffers with scavenges before V8 starts a mark-compact', () => {
    // 400 × 1 MiB of garbage Buffers: with the options, scavenges collect them; with V8 13's
    // defaults the 128 MB young trigger is above the 64 MB external limit and mark-compacts do.
    const script = `let n = 0; const { PerformanceObserver, constants } = require('perf_hooks');
      const kinds = { minor: 0, major: 0 };
      new PerformanceObserver((l) => { for (const e of l.getEntries()) { if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) kinds.major++; else if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MINOR) kinds.minor++; } }).observe({ entryTypes: ['gc'] });
      (async () => { for (let i = 0; i < 400; i++) { Buffer.allocUnsafeSlow(1 << 20).fill(1); await new Promise((r) => setImmediate(r)); }
        await new Promise((r) => setTimeout(r, 50)); process.stdout.write(JSON.stringify(kinds)); })();`;
    const run = (args: readonly string[]): { minor: number; major: number } => {
      const r = spawnSync(process.execPath, [...args, '-e', script], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { minor: number; major: number };
    };
    const withArgs = run(CORE_NODE_ARGS);
    expect(withArgs.minor).toBeGreaterThan(6); // 400 MiB, a scavenge every 16 MB (32 MB on V8 11); V8 13 without the option: none
    expect(withArgs.major).toBeLessThanOrEqual(2);
  });
});
