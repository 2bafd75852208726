// Health numbers for the status page and the supervisor's degraded/fault decisions, read from
// /proc and /sys only — no child processes, no shell (the device image is distroless). Each
// field degrades to null on its own when its file is missing, so a container without a thermal
// zone still reports memory and load. The /proc and /sys paths resolve under `root` (tests use a
// fake tree); the disk numbers come from the real data directory, which is never under a root.
import { statfs } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { readTextOrNull, underRoot } from '../sysfs-io.js';
import {
  cpuPercentBetween, parseCpuinfoCount, parseCpuSample, parseLoadavg, parseMeminfo, parseMilliCelsius,
  parseThrottled, parseUptime, type CpuSample, type Throttled,
} from './proc-parse.js';

export interface DiskInfo {
  readonly path: string;
  readonly totalBytes: number;
  /** Free including root-reserved blocks. */
  readonly freeBytes: number;
  /** Free for an unprivileged writer: what the appliance can actually still use. */
  readonly availableBytes: number;
}

export interface SystemInfo {
  readonly uptimeSec: number | null;
  // A mutable tuple on purpose: consumers copy it into plain number[] response schemas.
  readonly loadavg: [number, number, number] | null;
  readonly cpuCount: number;
  /** Busy share since the previous call (0–100); null on the first call. */
  readonly cpuPercent: number | null;
  readonly memory: { readonly totalBytes: number; readonly availableBytes: number } | null;
  readonly temperatureC: number | null;
  readonly disk: DiskInfo | null;
  /** Raspberry Pi firmware throttling flags; null off a Pi. */
  readonly throttled: Throttled | null;
}

export interface SystemInfoSource {
  read(): Promise<SystemInfo>;
}

export interface ProcSystemInfoOptions {
  /** Root under which /proc and /sys are read. Default '/'. */
  readonly root?: string;
  /** The directory whose filesystem is reported as `disk` (real path, not under root). */
  readonly dataDir: string;
  /** Fallback CPU count when /proc/cpuinfo is unreadable. Default os.availableParallelism. */
  readonly cpuCountFallback?: () => number;
}

export const PROC_PATHS = {
  uptime: '/proc/uptime',
  loadavg: '/proc/loadavg',
  meminfo: '/proc/meminfo',
  stat: '/proc/stat',
  cpuinfo: '/proc/cpuinfo',
  thermal: '/sys/class/thermal/thermal_zone0/temp',
  // Reading it may log a one-time "deprecated, use hwmon" kernel warning on newer kernels; the
  // hwmon replacement only carries under-voltage, so this file is still the one with all bits.
  throttled: '/sys/devices/platform/soc/soc:firmware/get_throttled',
} as const;

async function diskOf(path: string): Promise<DiskInfo | null> {
  try {
    const s = await statfs(path);
    return { path, totalBytes: s.blocks * s.bsize, freeBytes: s.bfree * s.bsize, availableBytes: s.bavail * s.bsize };
  } catch {
    return null;
  }
}

class ProcSystemInfo implements SystemInfoSource {
  private readonly root: string;
  // Kept between calls: CPU load is a rate, so each reading is measured against the last one.
  private previous: CpuSample | null = null;

  constructor(private readonly options: ProcSystemInfoOptions) {
    this.root = options.root ?? '/';
  }

  async read(): Promise<SystemInfo> {
    const text = (path: string): Promise<string | null> => readTextOrNull(underRoot(this.root, path));
    const [uptime, loadavg, meminfo, stat, cpuinfo, thermal, throttled, disk] = await Promise.all([
      text(PROC_PATHS.uptime), text(PROC_PATHS.loadavg), text(PROC_PATHS.meminfo), text(PROC_PATHS.stat),
      text(PROC_PATHS.cpuinfo), text(PROC_PATHS.thermal), text(PROC_PATHS.throttled), diskOf(this.options.dataDir),
    ]);
    return {
      uptimeSec: uptime === null ? null : parseUptime(uptime),
      loadavg: loadavg === null ? null : parseLoadavg(loadavg),
      cpuCount: (cpuinfo === null ? null : parseCpuinfoCount(cpuinfo)) ?? (this.options.cpuCountFallback ?? availableParallelism)(),
      cpuPercent: this.cpuPercent(stat),
      memory: meminfo === null ? null : parseMeminfo(meminfo),
      temperatureC: thermal === null ? null : parseMilliCelsius(thermal),
      disk,
      throttled: throttled === null ? null : parseThrottled(throttled),
    };
  }

  private cpuPercent(statText: string | null): number | null {
    const sample = statText === null ? null : parseCpuSample(statText);
    if (sample === null) return null;
    const previous = this.previous;
    const percent = previous === null ? null : cpuPercentBetween(previous, sample);
    // Two reads within one clock tick see no elapsed time: keep the older sample so the next
    // call measures over a real interval instead of reporting null forever at a fast poll rate.
    if (previous === null || percent !== null || sample.total < previous.total) this.previous = sample;
    return percent;
  }
}

export function createProcSystemInfo(options: ProcSystemInfoOptions): SystemInfoSource {
  return new ProcSystemInfo(options);
}
