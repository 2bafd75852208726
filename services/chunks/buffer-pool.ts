// Chunk-sized plaintext buffers, optionally reused. Page faults cost ~11 µs per 4 KiB page on the
// machines we measured (DESIGN §5): with glibc's default settings a fresh 1 MiB buffer per chunk
// is ~3 ms of faults. The core's malloc settings (appliance/supervisor/children.ts) make fresh
// buffers fault-free too, but reuse still measured faster on incompressible data after gzip
// work (about half the scavenges), so the sessions service reuses by default; the benchmark
// compares both (buffer_reuse).
const SIZE_CLASS = 64 * 1024;

export interface BufferPoolOptions {
  /** Bytes of free buffers kept (all sizes together); more are dropped on release. */
  readonly keepBytes: number;
  readonly reuse?: boolean;
}

export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private allocated = 0;
  private kept = 0;

  constructor(private readonly options: BufferPoolOptions) {}

  acquire(size: number): Buffer {
    if (this.options.reuse !== false) {
      const b = this.free.get(size)?.pop();
      if (b) {
        this.kept -= b.length;
        return b;
      }
    }
    this.allocated++;
    // allocUnsafeSlow: its own ArrayBuffer, not a slice of node's shared pool.
    return Buffer.allocUnsafeSlow(size);
  }

  /**
   * A buffer of at least `bytes`, its length rounded up to a multiple of 64 KiB so that objects of
   * nearby sizes (compressed chunks) share a size class. For sealed objects (ingest.ts).
   */
  acquireAtLeast(bytes: number): Buffer {
    return this.acquire(Math.ceil(bytes / SIZE_CLASS) * SIZE_CLASS);
  }

  release(buf: Buffer): void {
    if (this.options.reuse === false) return;
    if (this.kept + buf.length > this.options.keepBytes) return;
    const list = this.free.get(buf.length) ?? [];
    list.push(buf);
    this.free.set(buf.length, list);
    this.kept += buf.length;
  }

  /** Buffers allocated so far (the benchmark reports it). */
  get allocations(): number {
    return this.allocated;
  }

  /** Drops every kept buffer (e.g. when no upload is running). */
  clear(): void {
    this.free.clear();
    this.kept = 0;
  }
}

/** A counting semaphore: at most `permits` holders at once, FIFO. */
export class Semaphore {
  private waiting: Array<() => void> = [];
  constructor(private permits: number) {}

  async acquire(): Promise<() => void> {
    if (this.permits > 0) {
      this.permits--;
    } else {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.permits++;
    };
  }
}
