// Listener bookkeeping shared by the button drivers, so both keep the same promises: every
// listener gets each action once, unsubscribing is idempotent, and one throwing listener neither
// starves the others nor escapes into the GPIO interrupt handler (where it would be uncaught).
import type { ButtonAction } from './classify.js';
import type { ButtonListener } from './types.js';

export class ButtonListeners {
  private readonly listeners = new Set<{ cb: ButtonListener }>();

  constructor(private readonly onError?: (err: unknown) => void) {}

  add(cb: ButtonListener): () => void {
    // Wrapped so the same function subscribed twice gets two independent subscriptions.
    const entry = { cb };
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  emit(action: ButtonAction, pressMs: number): void {
    for (const entry of [...this.listeners]) {
      try {
        entry.cb(action, pressMs);
      } catch (err) {
        try {
          this.onError?.(err);
        } catch {
          // The error hook itself failed; there is nobody left to tell.
        }
      }
    }
  }

  get size(): number {
    return this.listeners.size;
  }
}
