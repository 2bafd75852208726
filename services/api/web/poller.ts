// Runs a task every `intervalMs` while the page is visible. The next run is scheduled only after
// the previous one settled, so a slow or dead API never piles up requests. Hidden tab: the
// in-flight request is aborted and nothing runs; visible again: runs at once. Ends for good
// when `signal` aborts (the page was left).
export interface Poller {
  /** Runs the task now (e.g. after an action changed the data) and restarts the interval. */
  refresh(): void;
}

export function poll(task: (signal: AbortSignal) => Promise<void>, intervalMs: number, signal: AbortSignal): Poller {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inflight: AbortController | undefined;

  const stop = (): void => {
    clearTimeout(timer);
    timer = undefined;
    inflight?.abort();
    inflight = undefined;
  };

  const run = async (): Promise<void> => {
    stop();
    if (signal.aborted || document.hidden) return;
    const mine = new AbortController();
    inflight = mine;
    const started = Date.now();
    try {
      await task(mine.signal);
    } catch {
      // The task reports its own errors; the loop must survive them.
    }
    if (inflight !== mine || signal.aborted || document.hidden) return;
    inflight = undefined;
    timer = setTimeout(() => void run(), Math.max(0, intervalMs - (Date.now() - started)));
  };

  document.addEventListener('visibilitychange', () => (document.hidden ? stop() : void run()), { signal });
  signal.addEventListener('abort', stop, { once: true });
  void run();
  return { refresh: () => void run() };
}
