// "Login 10 per IP and account" per minute (DESIGN §2), across every login route (setup,
// password, wallet, hardware). A fixed window per key in memory: like the API's rate-limit
// counters it lives in the core process only (one device, one API process) and restarts empty.
import { LucidError } from '../common/errors.js';

export const LOGIN_LIMIT = 10;
export const LOGIN_WINDOW_MS = 60_000;
const MAX_KEYS = 10_000;

export class LoginLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();
  constructor(private readonly now: () => number, private readonly limit = LOGIN_LIMIT, private readonly windowMs = LOGIN_WINDOW_MS) {}

  /** Counts one attempt for every key; throws AUTH_ERR_RATE_LIMITED (details.retryAfter, s) past the limit. */
  hit(keys: readonly string[]): void {
    const now = this.now();
    if (this.windows.size > MAX_KEYS) {
      for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k);
    }
    let retryAfter = 0;
    for (const key of keys) {
      let w = this.windows.get(key);
      if (!w || w.resetAt <= now) this.windows.set(key, (w = { count: 0, resetAt: now + this.windowMs }));
      w.count++;
      if (w.count > this.limit) retryAfter = Math.max(retryAfter, Math.ceil((w.resetAt - now) / 1000));
    }
    if (retryAfter > 0) {
      throw new LucidError('AUTH_ERR_RATE_LIMITED', `too many login attempts; retry in ${retryAfter} s`, { retryAfter, limit: this.limit });
    }
  }
}
