// The one table of supervised children. The supervisor starts each by file path (the built
// entry under dist/entries) and never imports service code. `payout` joins in development under
// Node's permission model (on a device it is its own systemd unit: services/payout/README.md);
// `ota-agent` checks, downloads and stages updates.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type RestartPolicy = 'always' | 'on-failure' | 'never';

export interface ChildSpec {
  readonly name: string;
  /** Absolute path of the entry file that `child_process.fork` runs. */
  readonly entry: string;
  /** A failed critical child makes /healthz fail and shows the fault pattern. */
  readonly critical: boolean;
  readonly restart: RestartPolicy;
  /** Names of children that must be ready before this one starts (and stop after it). */
  readonly after: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** V8/node options the child starts with (`fork`'s execArgv). */
  readonly nodeArgs: readonly string[];
  /** Receives supervisor snapshots and HAL events (the API process needs them). */
  readonly subscribe: boolean;
  /**
   * May take the API's listening sockets and the TLS key (listeners.ts): core only. Any other
   * child asking is refused — payout and the OTA agent never hold the HTTPS key.
   */
  readonly servesApi?: boolean;
  readonly heartbeatMs: number;
  readonly readyTimeoutMs: number;
  /** Later issues: run as this uid/gid, inside this sandbox. */
  readonly uid?: number;
  readonly gid?: number;
}

export interface ChildTableOptions {
  /** Folder holding the built entries (core.mjs, …). */
  readonly entriesDir: string;
  readonly heartbeatMs: number;
  /** The environment children inherit: a variable set there wins over CORE_ENV's tuning (benchmarks compare). */
  readonly inheritedEnv?: Readonly<Record<string, string | undefined>>;
  /** The payout child (development: the supervisor starts it), or undefined when it is off or external. */
  readonly payout?: PayoutChildOptions;
  readonly extra: ReadonlyArray<{
    name: string; entry: string; critical?: boolean; restart?: RestartPolicy; after?: readonly string[]; env?: Readonly<Record<string, string>>;
  }>;
}

/**
 * Core runs the chunk pipeline. glibc's default malloc returns freed multi-MiB blocks to the
 * kernel and page-faults them back on the next chunk (~11 µs per 4 KiB page here, DESIGN §5),
 * which made node:crypto on 1 MiB chunks several times slower: the mmap and trim thresholds keep
 * such blocks in the heap (32 MiB measured as fast as the 256 MiB of DESIGN §5, and it holds less
 * after a peak). Two malloc arenas instead of one per thread keep the thread pool's freed memory
 * reusable (a 1 GiB upload peaked at 134 MB RSS instead of 160). The libuv pool is shared by
 * gzip, file I/O and LevelDB: 8 threads keep fsyncs and store writes from queueing
 * behind the compressions. `hugePageEnv` adds transparent huge pages for the heap where they are
 * 2 MiB. Measured in `./build.sh bench pipeline`. A variable already set in the supervisor's
 * environment wins.
 */
export const CORE_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: '33554432',
  MALLOC_TRIM_THRESHOLD_: '33554432',
  MALLOC_ARENA_MAX: '2',
  UV_THREADPOOL_SIZE: '8',
  ...hugePageEnv(readPmdBytes()),
};

/**
 * `glibc.malloc.hugetlb=1`: glibc madvises its heap, where the chunk buffers live, for
 * transparent huge pages (one page fault and one TLB entry per 2 MiB instead of 512). Measured
 * on incompressible ingest, with core's RSS unchanged: services/chunks/README.md "Performance
 * notes", bench metric `malloc_hugepages`. Only where a huge page is 2 MiB (x86-64, arm64 with
 * 4 KiB pages): glibc grows the heap in whole huge pages, 32 MiB on a 16 KiB-page kernel (Pi 5's
 * default) and 512 MiB with 64 KiB pages, too coarse for a 200 MB budget.
 */
export function hugePageEnv(pmdBytes: number | null): Readonly<Record<string, string>> {
  return pmdBytes === 2 * 1024 * 1024 ? { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' } : {};
}

/** The kernel's transparent huge page size, or null without THP (or without /sys). */
export function readPmdBytes(path = '/sys/kernel/mm/transparent_hugepage/hpage_pmd_size'): number | null {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/**
 * Core's V8 options. Measured (`./build.sh bench pipeline`, metric `v8_old_space`): once core
 * has gzipped a few chunks, its old generation (~15 MB used) sits under V8's initial allocation
 * limit (~38 MB) and V8 then starts an incremental mark-compact every few MiB of ingest
 * (`--trace-incremental-marking`: "Start (task)", 15 MB / 38 MB), costing incompressible uploads
 * about half their speed (~7 instead of ~3 ms of CPU per MB). A 64 MB initial limit reserves
 * nothing; it only lets the old generation grow to 64 MB before V8 starts marking.
 *
 * `--scavenger-max-new-space-capacity-mb=2`: V8 frees short-lived Buffers (every chunk leaves a
 * few) with a scavenge once the young generation's ArrayBuffers reach twice its largest
 * semi-space. Node 24's V8 (13.6) raised that default from 8 to 32 (×2 without pointer
 * compression), moving the trigger from 32 to 128 MB, above the 64 MB of external growth at which
 * V8 starts a mark-compact instead (nodejs/node#63863): chunk buffers were left for mark-compacts
 * to find and core's peak RSS in a 256 MiB round trip rose from ~170 to 197–208 MB.
 * `--max-semi-space-size` does not move this trigger. 4 put it at 16 MB (Node 20: 32): peak
 * 174–179 MB against 184–187 with 8 — but 177–202 in later round trips (two CI runs over the
 * test's 200 MB). 2 puts it at 8 MB: 181–187 in 8 runs against 177–199 with 4 interleaved, upload
 * speed the same (services/chunks/README.md "Memory on Node 24").
 */
export function coreNodeArgs(v8Version: string = process.versions.v8): readonly string[] {
  // The flag exists where the trigger moved (V8 13); Node 20's V8 11 refuses it ("bad option")
  // and already has the 32 MB trigger (LUCID_HOST_NODE=1 runs core there).
  const major = Number(v8Version.split('.')[0]);
  return major >= 13 ? ['--initial-old-space-size=64', '--scavenger-max-new-space-capacity-mb=2'] : ['--initial-old-space-size=64'];
}

/** Core's V8 options for the Node that runs the supervisor (children run with the same binary). */
export const CORE_NODE_ARGS: readonly string[] = coreNodeArgs();

/**
 * The agent idles most of its life. `--max-semi-space-size=1`: a 1 MB young generation while it
 * allocates in bursts (a check, an unpack); idle it changes nothing measurable (bare Node 24:
 * 41.4 MB RSS with and without). `--expose-gc`: the agent collects the garbage of a check or an
 * install once it is quiet again (an idle process allocates nothing that would make V8 do it);
 * it costs nothing until called. What brings the idle agent under its 45 MB is not a flag: it
 * drops the node binary's start-up pages once quiet (hal/system/resident-pages.ts, 56 → ~28 MB).
 * None of these pays for itself (ota/README.md "Memory of the idle agent"): on the agent in a
 * real tree `--jitless` −2 MB after the trim (but it interprets the tar reader and TUF's JSON
 * work), `--v8-pool-size=1` and `--max-old-space-size=32` ±0.6 MB; on a bare Node 24
 * `--single-threaded`, `--stack-size=256`, `--no-expose-wasm`, `--lite-mode`, `--no-opt`,
 * `--scavenger-max-new-space-capacity-mb=1` ±0.4 MB (noise), `--no-node-snapshot` +5 MB.
 */
export const OTA_AGENT_NODE_ARGS: readonly string[] = ['--max-semi-space-size=1', '--expose-gc'];
export interface PayoutChildOptions {
  /** Its data directory and the directory of its socket: the only places it may write. */
  readonly dir: string;
  readonly socketDir: string;
  /** Files it must read besides dist/ and node_modules/ (e.g. the LUCID_CONFIG file). */
  readonly alsoRead: readonly string[];
  /** Native addons: only the USB Ledger needs one. */
  readonly addons: boolean;
}

/**
 * Node's permission model for the payout child — the wall that holds where the OS one does not
 * (development: everything runs as one user). It may read only the built code, the npm
 * packages and its own directories, write only its own directories, and start no processes,
 * workers or addons; reading core's store, keys or session data is refused (ERR_ACCESS_DENIED).
 * Node 24's model has no network permission: the network wall is the OS's (the device unit's
 * IPAddressAllow=), see services/payout/README.md.
 */
export function payoutNodeArgs(entriesDir: string, p: PayoutChildOptions): string[] {
  const dist = dirname(entriesDir);
  const root = dirname(dist);
  const read = [dist, join(root, 'node_modules'), join(root, 'package.json'), p.dir, p.socketDir, ...p.alsoRead];
  // Node 24's permission tree mishandles two granted paths where one is a string prefix of the
  // other without being its parent (`…/payout` and `…/payout-run`: the first is then denied).
  // Refuse such a layout here, loudly, rather than start a child that cannot write.
  const all = [...read, p.dir, p.socketDir];
  for (const a of all) {
    for (const b of all) {
      if (a !== b && b.startsWith(a) && b[a.length] !== '/') throw new Error(`payout paths ${a} and ${b} share a name prefix, which Node's permission model mishandles; rename one`);
    }
  }
  // One flag per path: Node 24 no longer splits a comma-separated list (it warns, and the
  // joined string matches nothing).
  return [
    '--permission',
    ...read.map((r) => `--allow-fs-read=${r}`),
    ...[p.dir, p.socketDir].map((w) => `--allow-fs-write=${w}`),
    ...(p.addons ? ['--allow-addons'] : []),
  ];
}

export function childTable(options: ChildTableOptions): ChildSpec[] {
  const base: ChildSpec[] = [
    {
      name: 'core',
      entry: join(options.entriesDir, 'core.mjs'),
      critical: true,
      restart: 'always',
      after: [],
      env: Object.fromEntries(Object.entries(CORE_ENV).filter(([k]) => options.inheritedEnv?.[k] === undefined)),
      nodeArgs: CORE_NODE_ARGS,
      subscribe: true,
      servesApi: true,
      heartbeatMs: options.heartbeatMs,
      readyTimeoutMs: 30_000,
    },
    {
      // Not critical: the appliance works without it; it must run even when core does not, to
      // judge a version on trial (ota/README.md), so it depends on nothing. It reads snapshots.
      name: 'ota-agent',
      entry: join(options.entriesDir, 'ota-agent.mjs'),
      critical: false,
      restart: 'always',
      after: [],
      env: {},
      nodeArgs: OTA_AGENT_NODE_ARGS,
      subscribe: true,
      heartbeatMs: options.heartbeatMs,
      readyTimeoutMs: 30_000,
    },
  ];
  if (options.payout) {
    base.push({
      name: 'payout',
      entry: join(options.entriesDir, 'payout.mjs'),
      critical: false,
      restart: 'always',
      after: [],
      env: {},
      nodeArgs: payoutNodeArgs(options.entriesDir, options.payout),
      subscribe: false,
      heartbeatMs: options.heartbeatMs,
      readyTimeoutMs: 60_000,
    });
  }
  const extra = options.extra.map((c): ChildSpec => ({
    name: c.name,
    entry: c.entry,
    critical: c.critical ?? false,
    restart: c.restart ?? 'always',
    after: c.after ?? [],
    env: c.env ?? {},
    nodeArgs: [],
    subscribe: false,
    heartbeatMs: options.heartbeatMs,
    readyTimeoutMs: 30_000,
  }));
  const table = [...base, ...extra];
  validateTable(table);
  return table;
}

/** Names are unique, dependencies exist, and there is no cycle. Throws a message naming the child. */
export function validateTable(table: readonly ChildSpec[]): void {
  const names = new Set<string>();
  for (const c of table) {
    if (names.has(c.name)) throw new Error(`duplicate child "${c.name}"`);
    names.add(c.name);
  }
  for (const c of table) {
    for (const dep of c.after) if (!names.has(dep)) throw new Error(`child "${c.name}" depends on unknown "${dep}"`);
  }
  startOrder(table);
}

/** Dependency order (Kahn's algorithm, table order among equals). Throws on a cycle. */
export function startOrder(table: readonly ChildSpec[]): string[] {
  const order: string[] = [];
  const done = new Set<string>();
  while (order.length < table.length) {
    const next = table.find((c) => !done.has(c.name) && c.after.every((d) => done.has(d)));
    if (!next) {
      const stuck = table.filter((c) => !done.has(c.name)).map((c) => c.name);
      throw new Error(`dependency cycle among children: ${stuck.join(', ')}`);
    }
    done.add(next.name);
    order.push(next.name);
  }
  return order;
}
