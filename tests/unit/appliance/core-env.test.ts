// Core's malloc settings: transparent huge pages for the heap only where a huge page is 2 MiB.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CORE_ENV, hugePageEnv, readPmdBytes } from '../../../appliance/supervisor/children.js';

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
