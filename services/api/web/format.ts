// Number and time formatting for humans. Binary units (KiB, MiB…) because memory and disks
// report powers of two and the numbers then match `free -h` / `df -h` on the device.
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return 'n/a';
  let v = Math.max(0, n);
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${UNITS[i]}`;
}

export function percent(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return 'n/a';
  return `${Math.round(fraction * 100)} %`;
}

/** "42 s", "5 min 3 s", "3 h 12 min", "2 d 4 h": two units at most. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return 'n/a';
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const hr = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return `${d} d ${hr} h`;
  if (hr > 0) return `${hr} h ${m} min`;
  if (m > 0) return `${m} min ${sec} s`;
  return `${sec} s`;
}

/** "12 s ago" for a past epoch-ms, "in 3 s" for a future one. */
export function relative(atMs: number, nowMs: number = Date.now()): string {
  const delta = (atMs - nowMs) / 1000;
  return delta > 0.5 ? `in ${duration(delta)}` : `${duration(-delta)} ago`;
}

export function clockTime(atMs: number): string {
  return new Date(atMs).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function dateTime(atMs: number): string {
  return new Date(atMs).toLocaleString();
}
