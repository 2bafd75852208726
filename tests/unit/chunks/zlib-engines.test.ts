// Long-lived zlib streams (services/chunks/zlib-engines.ts): the same bytes as one-shot zlib, job
// after job; a broken stream is never reused; and what a job hands out is not held by the stream
// (a scavenge frees it — on Node 24 a one-shot gunzip() result stays until a full GC).
import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ZlibEnginePool, gunzipEngine, gzipEngine } from '../../../services/chunks/zlib-engines.js';
import { corpus } from '../../helpers/corpora.js';
import { ROOT } from '../../helpers/appliance.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const joined = (pieces: Buffer[]): Buffer => Buffer.concat(pieces);

describe('zlib engines', () => {
  it('a reused gzip stream makes gzipSync\'s bytes job after job, across output buffers', async () => {
    const pool = new ZlibEnginePool(gzipEngine(6, 9), 1, false);
    let crossed = 0;
    for (let i = 0; i < 12; i++) {
      const plain = corpus(i % 2 ? 'text' : 'screen', 20_000 + i * 3_000, i + 1);
      const pieces = await pool.run(16 * KiB, plain, 2 * plain.length + 1024); // small buffers: jobs cross them
      expect(joined(pieces).equals(gzipSync(plain, { level: 6, memLevel: 9 })), `job ${i}`).toBe(true);
      if (pieces.length > 1) crossed++;
    }
    expect(crossed).toBeGreaterThan(0);
    expect(pool.size).toBe(1); // one stream did all of it
  });

  it('a reused gunzip stream inflates member after member; errors reject and the broken stream is dropped', async () => {
    const pool = new ZlibEnginePool(gunzipEngine, 2, true);
    const plain = corpus('text', MiB, 3);
    const good = gzipSync(plain);
    for (let i = 0; i < 3; i++) expect(joined(await pool.run(MiB, good, MiB)).equals(plain)).toBe(true);
    expect(pool.size).toBe(1);
    const flipped = Buffer.from(good);
    flipped[flipped.length >> 1]! ^= 1;
    const cases: Array<[string, Buffer, number]> = [
      ['flipped', flipped, MiB],
      ['truncated', good.subarray(0, good.length - 5), MiB],
      ['bomb', gzipSync(Buffer.alloc(20 * MiB)), MiB],
      ['longer than declared', good, MiB - 1],
      ['bytes after the member', Buffer.concat([good, Buffer.from('xyz')]), MiB],
    ];
    for (const [name, input, limit] of cases) {
      await expect(pool.run(MiB, input, limit), name).rejects.toThrow();
      expect(pool.size, name).toBe(0); // the stream that failed was closed, not kept
      expect(joined(await pool.run(MiB, good, MiB)).equals(plain), `after ${name}`).toBe(true);
      expect(pool.size).toBe(1);
    }
  });

  it('keeps a gunzip stream only while its next job starts on a fresh output buffer, and at most `keep` in all', async () => {
    const pool = new ZlibEnginePool(gunzipEngine, 2, true);
    const a = corpus('text', 64 * KiB, 1);
    await pool.run(64 * KiB, gzipSync(a), a.length); // fills its buffer exactly: kept
    expect(pool.size).toBe(1);
    await pool.run(64 * KiB, gzipSync(a.subarray(0, 1000)), 1000); // stops inside it: closed
    expect(pool.size).toBe(0);
    await Promise.all([1, 2, 3].map(() => pool.run(64 * KiB, gzipSync(a), a.length)));
    expect(pool.size).toBe(2);
    for (const size of [1 * KiB, 2 * KiB, 4 * KiB]) await pool.run(size, gzipSync(a.subarray(0, size)), size);
    expect(pool.size).toBe(2); // the least recently used sizes went first
    pool.clear();
    expect(pool.size).toBe(0);
  });

  it('what a job hands out is freed by a scavenge: the stream holds only its current output buffer', () => {
    const probe = fileURLToPath(new URL('../../fixtures/zlib-retention-probe.ts', import.meta.url));
    const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', probe], { cwd: ROOT, encoding: 'utf8' });
    const r = JSON.parse(out.trim().split('\n').pop()!) as { node: string; reusedMiB: number; oneShotMiB: number };
    console.log(JSON.stringify({ test: 'zlib-engines-retention', ...r }));
    // 8 MiB went through the reused stream; it keeps only its next 1 MiB output buffer. (For the
    // record, one-shot gunzip() on Node 24.21 keeps two 1 MiB buffers per call, 16 MiB; Node 20: none.)
    expect(r.reusedMiB).toBeLessThan(3);
  }, 60_000);
});
