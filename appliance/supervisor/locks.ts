// Named update locks (balena's idea): a child holds a lock while it must not be interrupted
// (a payout being signed, a session finalizing); the OTA agent waits until the ones it cares
// about are free. Locks die with their holder: a crashed child never blocks updates forever.

export class UpdateLocks {
  private readonly held = new Map<string, Set<string>>();
  private readonly waiters = new Set<() => void>();

  acquire(name: string, holder: string): string[] {
    let holders = this.held.get(name);
    if (!holders) this.held.set(name, (holders = new Set()));
    holders.add(holder);
    return [...holders];
  }

  release(name: string, holder: string): string[] {
    const holders = this.held.get(name);
    holders?.delete(holder);
    if (holders && holders.size === 0) this.held.delete(name);
    this.notify();
    return [...(holders ?? [])];
  }

  /** Everything a holder had, e.g. when its process exits. */
  releaseAll(holder: string): void {
    for (const [name, holders] of this.held) {
      holders.delete(holder);
      if (holders.size === 0) this.held.delete(name);
    }
    this.notify();
  }

  isHeld(name: string): boolean {
    return (this.held.get(name)?.size ?? 0) > 0;
  }

  list(): Array<{ name: string; holders: string[] }> {
    return [...this.held].map(([name, holders]) => ({ name, holders: [...holders].sort() })).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Locks held by anyone but `holder`. */
  heldByOthers(holder: string): Array<{ name: string; holders: string[] }> {
    return this.list().map((l) => ({ name: l.name, holders: l.holders.filter((h) => h !== holder) })).filter((l) => l.holders.length > 0);
  }

  /** Resolves true once nobody but `holder` holds any lock, false if `timeoutMs` passes first. */
  waitFreeOfOthers(holder: string, timeoutMs: number): Promise<boolean> {
    if (this.heldByOthers(holder).length === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.heldByOthers(holder).length === 0) finish(true);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (value: boolean): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(value);
      };
      this.waiters.add(check);
    });
  }

  /** Resolves true once none of `names` is held, false if `timeoutMs` passes first. */
  waitFree(names: readonly string[], timeoutMs: number): Promise<boolean> {
    if (names.every((n) => !this.isHeld(n))) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (names.every((n) => !this.isHeld(n))) finish(true);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (value: boolean): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(value);
      };
      this.waiters.add(check);
    });
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }
}
