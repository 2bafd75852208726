// One critical section at a time per key (an account, a token family, an approval request).
// Callers queue in arrival order; a key's entry is dropped when its last holder leaves, so the
// map holds only keys with work in flight. No timeout: the sections it guards are short and
// always finish (a password hash, a store write).
export class KeyedLock {
  private readonly tails = new Map<string, { tail: Promise<void>; holders: number }>();

  /** Runs `section` after every earlier section of `key` has finished (resolved or thrown). */
  async run<T>(key: string, section: () => Promise<T>): Promise<T> {
    let entry = this.tails.get(key);
    if (!entry) this.tails.set(key, (entry = { tail: Promise.resolve(), holders: 0 }));
    entry.holders++;
    const previous = entry.tail;
    let release!: () => void;
    entry.tail = new Promise<void>((resolve) => { release = resolve; });
    const e = entry;
    try {
      await previous;
      return await section();
    } finally {
      release();
      if (--e.holders === 0 && this.tails.get(key) === e) this.tails.delete(key);
    }
  }

  /** Keys with a section running or waiting (for tests and metrics). */
  get size(): number { return this.tails.size; }
}
