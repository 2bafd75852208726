// The chunk buffer pool: exact-size reuse for plaintext chunks, 64 KiB size classes for sealed
// objects (ingest.ts hands an object's buffer back once it is written), the kept-bytes bound,
// reuse switched off; and the FIFO semaphore that bounds the chunks being processed.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { BufferPool, Semaphore } from '../../../services/chunks/buffer-pool.js';
import { openObject, processChunk, type SessionCrypto } from '../../../services/chunks/index.js';

const KiB = 1024;

describe('BufferPool', () => {
  it('hands a released buffer out again for the same size, and a fresh one for another size', () => {
    const pool = new BufferPool({ keepBytes: 4 * 1024 * KiB });
    const a = pool.acquire(256 * KiB);
    pool.release(a);
    expect(pool.acquire(256 * KiB)).toBe(a);
    expect(pool.acquire(256 * KiB)).not.toBe(a);
    expect(pool.acquire(128 * KiB).length).toBe(128 * KiB);
    expect(pool.allocations).toBe(3);
  });

  it('acquireAtLeast rounds up to 64 KiB classes, so nearby object sizes share buffers', () => {
    const pool = new BufferPool({ keepBytes: 4 * 1024 * KiB });
    const a = pool.acquireAtLeast(200 * KiB + 1);
    expect(a.length).toBe(256 * KiB);
    pool.release(a);
    expect(pool.acquireAtLeast(250 * KiB)).toBe(a);
    expect(pool.acquireAtLeast(64 * KiB).length).toBe(64 * KiB);
    expect(pool.acquireAtLeast(1).length).toBe(64 * KiB);
  });

  it('keeps at most keepBytes of free buffers, and nothing when reuse is off', () => {
    const pool = new BufferPool({ keepBytes: 128 * KiB });
    const [a, b, c] = [pool.acquire(64 * KiB), pool.acquire(64 * KiB), pool.acquire(64 * KiB)];
    pool.release(a);
    pool.release(b);
    pool.release(c); // over the bound: dropped
    const got = new Set([pool.acquire(64 * KiB), pool.acquire(64 * KiB), pool.acquire(64 * KiB)]);
    expect(got.has(a) && got.has(b)).toBe(true);
    expect(got.has(c)).toBe(false);

    const off = new BufferPool({ keepBytes: 1024 * KiB, reuse: false });
    const d = off.acquireAtLeast(100 * KiB);
    off.release(d);
    expect(off.acquireAtLeast(100 * KiB)).not.toBe(d);
  });

  it("seals objects into the pool's buffers: a reused buffer holds the next object, the written one stays valid", async () => {
    const pool = new BufferPool({ keepBytes: 8 * 1024 * KiB });
    const ctx: SessionCrypto = { sessionId: 'pool-test', cipher: 'aes-256-gcm', key: randomBytes(32) };
    const alloc = (n: number): Buffer => pool.acquireAtLeast(n);
    const first = await processChunk(ctx, 0, randomBytes(1024 * KiB), alloc);
    expect(first.backing.length % (64 * KiB)).toBe(0);
    expect(first.backing.length).toBeGreaterThanOrEqual(first.storedLength + 1);
    const written = Buffer.from(first.bytes); // what writeObject put on disk
    pool.release(first.backing);
    const plain = randomBytes(1024 * KiB);
    const second = await processChunk(ctx, 1, plain, alloc);
    expect(second.backing).toBe(first.backing);
    expect(openObject(ctx, Buffer.from(second.bytes), 1).payload.equals(plain)).toBe(true);
    expect(openObject(ctx, written, 0).payload.length).toBe(1024 * KiB);
  });
});

describe('Semaphore', () => {
  it('admits `permits` holders and then the waiters in arrival order; a double release counts once', async () => {
    const s = new Semaphore(2);
    const r1 = await s.acquire();
    await s.acquire();
    const order: number[] = [];
    const w3 = s.acquire().then((r) => { order.push(3); return r; });
    const w4 = s.acquire().then((r) => { order.push(4); return r; });
    r1();
    r1();
    await w3;
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual([3]);
    (await w3)();
    await w4;
    expect(order).toEqual([3, 4]);
  });
});
