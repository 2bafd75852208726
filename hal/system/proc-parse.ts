// Pure parsers for the /proc and /sys text the system-info reader uses. Reading these files
// directly (instead of `systeminformation`, which shells out to cat/lscpu/vcgencmd) is what works
// in the distroless device image, which has no shell. Every parser returns null on text it does
// not understand: health reporting must degrade field by field, never throw.

export interface CpuSample {
  /** Jiffies spent idle (idle + iowait). */
  readonly idle: number;
  /** All jiffies (user … steal; guest time is already inside user/nice). */
  readonly total: number;
}

export interface Throttled {
  /** The firmware's bit field as hex, e.g. '0x50005'. */
  readonly raw: string;
  readonly underVoltageNow: boolean;
  readonly frequencyCappedNow: boolean;
  readonly throttledNow: boolean;
  readonly softTempLimitNow: boolean;
  readonly underVoltageOccurred: boolean;
  readonly frequencyCappedOccurred: boolean;
  readonly throttledOccurred: boolean;
  readonly softTempLimitOccurred: boolean;
}

const finite = (n: number): number | null => (Number.isFinite(n) ? n : null);

/** /proc/uptime: "12345.67 23456.78" → 12345.67 seconds. */
export function parseUptime(text: string): number | null {
  const first = text.trim().split(/\s+/)[0];
  if (first === undefined || !/^\d+(\.\d+)?$/.test(first)) return null;
  return finite(Number(first));
}

/** /proc/loadavg: "0.52 0.58 0.59 1/389 12345" → [0.52, 0.58, 0.59]. */
export function parseLoadavg(text: string): [number, number, number] | null {
  const parts = text.trim().split(/\s+/).slice(0, 3);
  if (parts.length < 3 || !parts.every((p) => /^\d+(\.\d+)?$/.test(p))) return null;
  const [a, b, c] = parts.map(Number) as [number, number, number];
  return [a, b, c];
}

/** /proc/meminfo MemTotal and MemAvailable, in bytes (the file says kB, meaning KiB). */
export function parseMeminfo(text: string): { totalBytes: number; availableBytes: number } | null {
  const field = (name: string): number | null => {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s*kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : null;
  };
  const total = field('MemTotal');
  // MemAvailable exists since Linux 3.14; every kernel a Pi runs has it.
  const available = field('MemAvailable');
  if (total === null || available === null) return null;
  return { totalBytes: total, availableBytes: available };
}

/** The aggregate "cpu " line of /proc/stat. */
export function parseCpuSample(text: string): CpuSample | null {
  const line = /^cpu\s+(.+)$/m.exec(text)?.[1];
  if (line === undefined) return null;
  const fields = line.trim().split(/\s+/).map(Number);
  if (fields.length < 4 || fields.some((n) => !Number.isFinite(n) || n < 0)) return null;
  // user nice system idle iowait irq softirq steal [guest guest_nice]: guest and guest_nice are
  // already counted in user and nice, so adding them would count them twice.
  const counted = fields.slice(0, 8);
  const total = counted.reduce((sum, n) => sum + n, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { idle, total };
}

/** Busy share between two samples, 0–100; null when no time passed or the counters went back. */
export function cpuPercentBetween(previous: CpuSample, current: CpuSample): number | null {
  const total = current.total - previous.total;
  const idle = current.idle - previous.idle;
  if (total <= 0 || idle < 0 || idle > total) return null;
  return (100 * (total - idle)) / total;
}

/** Number of "processor : N" entries in /proc/cpuinfo (x86 and arm64 both list them). */
export function parseCpuinfoCount(text: string): number | null {
  const count = text.match(/^processor\s*:/gm)?.length ?? 0;
  return count > 0 ? count : null;
}

/** thermal_zone0/temp: millidegrees Celsius → °C. */
export function parseMilliCelsius(text: string): number | null {
  const trimmed = text.trim();
  if (!/^-?\d+$/.test(trimmed)) return null;
  return Number(trimmed) / 1000;
}

/**
 * The firmware's get_throttled bit field. The kernel's sysfs attribute prints it with "%x" —
 * hex with no 0x prefix ("50005") — so bare digits are hex, not decimal: reading "50005" as
 * decimal would report the wrong bits. "0x50005" and vcgencmd's "throttled=0x50005" are
 * accepted too. Bits 0–3 are "now", 16–19 "has occurred since boot".
 */
export function parseThrottled(text: string): Throttled | null {
  const m = /^(?:throttled=)?(?:0x)?([0-9a-f]{1,8})$/i.exec(text.trim());
  if (!m) return null;
  const value = Number.parseInt(m[1]!, 16);
  const bit = (n: number): boolean => ((value >>> n) & 1) === 1;
  return {
    raw: `0x${value.toString(16)}`,
    underVoltageNow: bit(0),
    frequencyCappedNow: bit(1),
    throttledNow: bit(2),
    softTempLimitNow: bit(3),
    underVoltageOccurred: bit(16),
    frequencyCappedOccurred: bit(17),
    throttledOccurred: bit(18),
    softTempLimitOccurred: bit(19),
  };
}
