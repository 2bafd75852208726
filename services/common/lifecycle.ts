// One lifecycle shape for anything that owns a resource (DESIGN §4.2). Stop in reverse order of
// start; correctness never depends on stop() running (power can go at any instruction).

export interface StopOptions {
  /** Absolute time (ms since epoch) by which stop must have finished. */
  readonly deadline: number;
}

export interface Lifecycle {
  start(): Promise<void>;
  stop(options: StopOptions): Promise<void>;
}

/**
 * Components started one by one with `start(name, part)`; `stop()` stops the started ones in
 * reverse order, each bounded by the deadline, and logs rather than throws on a failing part.
 */
export class LifecycleStack {
  private readonly started: Array<{ name: string; part: Lifecycle }> = [];
  private stopping = false;

  constructor(private readonly onStopError: (name: string, err: unknown) => void = () => {}) {}

  async start<P extends Lifecycle>(name: string, part: P): Promise<P> {
    if (this.stopping) throw new Error(`cannot start ${name}: stopping`);
    await part.start();
    this.started.push({ name, part });
    return part;
  }

  async stop(options: StopOptions): Promise<void> {
    this.stopping = true;
    while (this.started.length > 0) {
      const entry = this.started.pop()!;
      try {
        await withDeadline(entry.part.stop(options), options.deadline);
      } catch (err) {
        this.onStopError(entry.name, err);
      }
    }
  }
}

/** Resolves with the promise, or rejects once the absolute deadline has passed. */
export function withDeadline<T>(promise: Promise<T>, deadline: number): Promise<T> {
  const ms = Math.max(0, deadline - Date.now());
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`deadline passed after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
