// CPU-heavy tests without timing assertions (the consensus simulation, the 1 MiB block) run at the
// lowest priority, so the suite's timing-sensitive tests beside them (heartbeats, boot deadlines)
// are not starved on a 2-core machine.
import { afterAll, beforeAll } from 'vitest';
import { getPriority, setPriority } from 'node:os';

export function lowPriority(): void {
  let before = 0;
  beforeAll(() => {
    try { before = getPriority(); setPriority(19); } catch { /* not allowed: run at normal priority */ }
  });
  afterAll(() => {
    try { setPriority(before); } catch { /* an unprivileged process cannot raise it back; the worker ends anyway */ }
  });
}
