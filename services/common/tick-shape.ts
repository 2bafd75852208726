// Keeps the hidden classes of Node's `process.nextTick` queue entries alive for the life of the
// process, so V8 keeps compiling nextTick's object literal to a fast inline store.
//
// Why: node's nextTick (20 and 24) builds each queue entry as `{ [async_id_symbol]: …,
// [trigger_async_id_symbol]: …, callback, args }` (24 adds `kAsyncContextFrame`). V8 defines
// computed keys of a literal through `DefineKeyedOwnPropertyInLiteral`, whose feedback has one map
// or goes megamorphic for good (runtime-object.cc). The maps of those entries live only while some
// entry does. A full (mark-compact) GC that runs while the tick queue is empty collects them, the
// next entry gets a fresh map, and the feedback turns megamorphic. From then on every nextTick
// calls into the C++ runtime twice.
//
// A small server rarely runs a full GC, so it never loses the maps. The core runs one now
// and then (LevelDB, the ledger, the chunk pipeline). When it does, the cost is ~3 µs per
// HTTP request: node's streams call nextTick several times for each request. Measured
// with perf, 6 % of a fastify hello-world's CPU inside the core and 0 % in a fresh process.
// After this pin: 0 % in the core too.
//
// The pin: run two ticks (without and with an argument) and keep their entries.
// `executionAsyncResource()` returns the entry of the tick being run. This needs no
// async hook, so nothing is added to any other tick. Call it first thing in a process, before
// anything can trigger a full GC.
import { executionAsyncResource } from 'node:async_hooks';

const pinned: object[] = [];

/** Pins the nextTick entry shapes (idempotent). Resolves once both are held. */
export function pinNextTickShape(): Promise<void> {
  if (pinned.length > 0) return Promise.resolve();
  return new Promise((resolve) => {
    process.nextTick(() => { pinned.push(executionAsyncResource()); });
    process.nextTick((done: () => void) => { pinned.push(executionAsyncResource()); done(); }, resolve);
  });
}

/** The entries held (for the test). */
export function pinnedTickEntries(): readonly object[] {
  return pinned;
}
