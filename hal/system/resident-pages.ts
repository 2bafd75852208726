// Keeps an idle process's RSS near its working set. A Node process touches ~33 MB of the node
// binary while it starts (snapshot, builtins, V8 code) and keeps those pages mapped although it
// never reads most of them again: an idle ES module shows ~41 MB RSS of which ~8 MB is its own
// memory. `dropFilePages()` (the N-API addon in ./sd-notify/native, drop_pages.c) unmaps the
// process's read-only, never-written file pages; they stay in the page cache and a page touched
// again comes back with a minor fault. The idle OTA agent runs this (ota/README.md, "Memory of
// the idle agent"); no V8 or node flag moves these pages (measured there).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

export interface ResidentPagesAddon {
  /** Bytes of RSS whose page-table entries were dropped. */
  dropFilePages(): number;
  /** malloc_trim(0): glibc's free arena pages back to the kernel; true if any were. */
  trimMalloc(): boolean;
}

/** The addon, or null when it is not built (or an old build without dropFilePages). */
export function loadResidentPages(): ResidentPagesAddon | null {
  const require = createRequire(import.meta.url);
  // Literal names (the architecture test checks what hal/ loads): the installed package, else the
  // in-tree build of a development checkout.
  const loaders = [(): unknown => require('lucid-sd-notify'), (): unknown => require('./sd-notify/native/index.js')];
  for (const load of loaders) {
    try {
      const addon = load() as Partial<ResidentPagesAddon>;
      if (typeof addon.dropFilePages === 'function' && typeof addon.trimMalloc === 'function') return addon as ResidentPagesAddon;
    } catch {
      // Not installed under this name: try the next.
    }
  }
  return null;
}

export interface MemoryRollup {
  readonly rssBytes: number;
  readonly anonBytes: number;
  /** File-backed (and shmem) resident bytes: RSS − anonymous. */
  readonly fileBytes: number;
}

/** /proc/<pid>/smaps_rollup (kB fields, whatever the page size: 16 KiB on a Pi 5). */
export function parseRollup(text: string): MemoryRollup {
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    if (!m) throw new Error(`smaps_rollup has no ${key}`);
    return Number(m[1]) * 1024;
  };
  const rssBytes = kb('Rss');
  const anonBytes = kb('Anonymous');
  return { rssBytes, anonBytes, fileBytes: rssBytes - anonBytes };
}

export function readRollup(pid: number | 'self' = 'self'): MemoryRollup {
  return parseRollup(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
}

export interface IdleTrimOptions {
  readonly addon: ResidentPagesAddon;
  /** How often to look (the timer is unref'd). */
  readonly intervalMs: number;
  /** A tick counts as idle when the process spent at most this much CPU since the last one. */
  readonly quietCpuMs: number;
  /** Trim again once RSS grew this much above the working set after the last trim. */
  readonly growthBytes: number;
  /**
   * A full garbage collection before the trim (the agent runs with --expose-gc): after a check
   * or an install the old generation holds the burst's garbage, and an idle process allocates
   * nothing that would make V8 collect it.
   */
  readonly collectGarbage?: () => void;
  readonly readRollup?: () => MemoryRollup;
  readonly cpuMicros?: () => number;
  readonly onTrim?: (info: { droppedBytes: number; before: MemoryRollup }) => void;
  readonly onError?: (err: unknown) => void;
}

export interface IdleTrim {
  /** One look, as the timer takes it (tests drive it directly). Returns true if it trimmed. */
  tick(): boolean;
  stop(): void;
}

/**
 * Trims when the process is idle and its RSS has grown: the first quiet tick trims (start-up's
 * pages), the next quiet tick records the working set that came back (the event loop, IPC,
 * timers), and only growth above that (a check or an install touched crypto, zlib, https and
 * left garbage) is trimmed again — an idle process is not trimmed over and over. A trim: full
 * GC (if given), malloc_trim, then the file pages.
 */
export function startIdleTrim(options: IdleTrimOptions): IdleTrim {
  const rollup = options.readRollup ?? (() => readRollup());
  const cpu = options.cpuMicros ?? (() => { const u = process.cpuUsage(); return u.user + u.system; });
  let lastCpu = cpu();
  let workingSet: number | null = 0; // null: just trimmed, measure what comes back at the next tick
  let failed = false;
  const tick = (): boolean => {
    if (failed) return false;
    try {
      const now = cpu();
      const quiet = now - lastCpu <= options.quietCpuMs * 1000;
      const mem = rollup();
      lastCpu = now;
      if (workingSet === null) {
        if (quiet) workingSet = mem.rssBytes; // a busy tick would record a bloated working set
        return false;
      }
      if (!quiet || mem.rssBytes - workingSet < options.growthBytes) return false;
      options.collectGarbage?.();
      options.addon.trimMalloc();
      const droppedBytes = options.addon.dropFilePages();
      workingSet = null;
      lastCpu = cpu(); // the trim's own CPU does not make the next tick look busy
      options.onTrim?.({ droppedBytes, before: mem });
      return true;
    } catch (err) {
      failed = true; // best effort: report once and stop looking
      options.onError?.(err);
      return false;
    }
  };
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  return { tick, stop: () => clearInterval(timer) };
}
