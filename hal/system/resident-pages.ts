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
}

/** The addon, or null when it is not built (or an old build without dropFilePages). */
export function loadResidentPages(): ResidentPagesAddon | null {
  const require = createRequire(import.meta.url);
  for (const id of ['lucid-sd-notify', './sd-notify/native/index.js']) {
    try {
      const addon = require(id) as Partial<ResidentPagesAddon>;
      if (typeof addon.dropFilePages === 'function') return addon as ResidentPagesAddon;
    } catch {
      // Not installed under this name: try the in-tree build.
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
  /** Trim again once file-backed RSS grew this much above the working set after the last trim. */
  readonly growthBytes: number;
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
 * Trims when the process is idle and its file-backed RSS has grown: the first quiet tick trims
 * (start-up's pages), the tick after a trim records the working set that came back (the event
 * loop, IPC, timers), and only growth above that (a check or an install touched crypto, zlib,
 * https) is trimmed again — an idle process is not trimmed over and over.
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
        if (quiet) workingSet = mem.fileBytes; // a busy tick would record a bloated working set
        return false;
      }
      if (!quiet || mem.fileBytes - workingSet < options.growthBytes) return false;
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
