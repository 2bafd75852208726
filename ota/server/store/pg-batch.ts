// Writes that come in at a high rate on PostgreSQL, batched: those that arrive while the
// previous statement runs are written by the next one, as one statement over unnest()ed
// arrays. A statement per write cost PostgreSQL ~0.5 ms of CPU each (a check-in a statement:
// 79 % of a core at 1,650/s, p99 667 ms — ota/server/README.md); a batch pays the statement's
// parse, plan, round trip and commit once. On an idle server a write still goes out at once,
// alone: batches grow only while statements are in flight.
//
// Each write's result is the one it would get in a sequence: writes with the same key (a
// device's check-ins, a member's transitions) run in the order they arrived, never two in one
// statement (UPDATE … FROM updates a row once however many of its source rows match) and never
// two in flight at once (two statements of this instance could otherwise also lock the same rows
// in opposite orders). Another instance, or a multi-row statement, may still take locks in
// another order; PostgreSQL then aborts one statement with a deadlock (40P01), and the one that
// lost is run again (retryDeadlock, also used by the store's transactions).
import type { Pool } from 'pg';

export interface BatchKind<I, O> {
  /** Writes with the same key are ordered: one per statement, one in flight. */
  key(input: I): string;
  /** Writes the batch in one statement (plus, rarely, a read); results in the batch's order. */
  write(pool: Pool, batch: readonly I[]): Promise<O[]>;
}

interface Waiting<I, O> {
  readonly input: I;
  readonly key: string;
  readonly resolve: (out: O) => void;
  readonly reject: (err: unknown) => void;
}

/** Statements in flight per instance and kind: one running, one on its way. */
const IN_FLIGHT = 2;
/** Writes per statement at most (the arrays' size stays far below any protocol limit). */
const MAX_BATCH = 1000;
const DEADLOCK_RETRIES = 5;

/**
 * Runs `fn` again when PostgreSQL chose it as a deadlock's victim (40P01): its statement or
 * transaction was rolled back whole, so running it again is safe when `fn` does nothing but
 * database work. Batches, multi-row updates (a stage's reset) and transactions that release
 * many claims can meet each other's row locks in opposite orders.
 */
export async function retryDeadlock<T>(fn: () => Promise<T>, onRetry?: () => void): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if ((err as { code?: string }).code !== '40P01' || attempt >= DEADLOCK_RETRIES) throw err;
      onRetry?.();
    }
  }
}

export class StatementBatcher<I, O> {
  private queue: Array<Waiting<I, O>> = [];
  private readonly busy = new Set<string>();
  private inFlight = 0;
  /** Statements run and writes done, for the README's figures and the tests. */
  readonly stats = { statements: 0, writes: 0, largest: 0, deadlocks: 0 };

  constructor(private readonly pool: () => Pool, private readonly kind: BatchKind<I, O>) {}

  submit(input: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.queue.push({ input, key: this.kind.key(input), resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < IN_FLIGHT && this.queue.length > 0) {
      const batch: Array<Waiting<I, O>> = [];
      const rest: Array<Waiting<I, O>> = [];
      const taken = new Set<string>();
      for (const w of this.queue) {
        // A key already in this batch or in flight waits for a later statement, in order.
        if (batch.length < MAX_BATCH && !taken.has(w.key) && !this.busy.has(w.key)) batch.push(w);
        else rest.push(w);
        taken.add(w.key); // a key's later writes stay behind its earlier ones
      }
      if (batch.length === 0) return;
      this.queue = rest;
      for (const w of batch) this.busy.add(w.key);
      this.inFlight++;
      void this.run(batch).finally(() => {
        for (const w of batch) this.busy.delete(w.key);
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async run(batch: ReadonlyArray<Waiting<I, O>>): Promise<void> {
    const inputs = batch.map((w) => w.input);
    try {
      const out = await retryDeadlock(() => this.kind.write(this.pool(), inputs), () => { this.stats.deadlocks++; });
      this.stats.statements++;
      this.stats.writes += batch.length;
      this.stats.largest = Math.max(this.stats.largest, batch.length);
      batch.forEach((w, i) => w.resolve(out[i]!));
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }
}
