// Groups (pure parts): a static group lists its devices; a dynamic one is a filter on tags,
// version and architecture, evaluated when a rollout starts (the rollout's members are fixed
// then). Maintenance windows: a device of the group starts installing only inside one.
import { createHash } from 'node:crypto';
import { LucidError } from '../../../services/common/errors.js';
import type { DeviceRecord, GroupFilter, GroupRecord, MaintenanceWindow } from '../store/types.js';

export const TAG = /^[a-z0-9][a-z0-9._:-]{0,62}$/;
const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;

export function matchesFilter(d: DeviceRecord, f: GroupFilter): boolean {
  if (f.tags && !f.tags.every((t) => d.tags.includes(t))) return false;
  if (f.arch !== undefined && d.status.arch !== f.arch) return false;
  if (f.version !== undefined) {
    const v = d.status.version;
    if (f.version.endsWith('*') ? !v.startsWith(f.version.slice(0, -1)) : v !== f.version) return false;
  }
  return true;
}

export function inGroup(d: DeviceRecord, g: GroupRecord): boolean {
  return g.kind === 'static' ? g.members.includes(d.id) : matchesFilter(d, g.filter ?? {});
}

const minutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));

/** True when `now` (ms) falls in one of the windows (UTC); no windows = always. */
export function inWindow(windows: readonly MaintenanceWindow[], now: number): boolean {
  if (windows.length === 0) return true;
  const d = new Date(now);
  const day = d.getUTCDay();
  const min = d.getUTCHours() * 60 + d.getUTCMinutes();
  return windows.some((w) => {
    const start = minutes(w.start);
    const end = minutes(w.end);
    if (start <= end) return w.days.includes(day) && min >= start && min < end;
    // Past midnight: the evening part belongs to the day, the morning part to the day before.
    return (w.days.includes(day) && min >= start) || (w.days.includes((day + 6) % 7) && min < end);
  });
}

export function checkWindows(windows: readonly MaintenanceWindow[]): void {
  for (const w of windows) {
    if (!HHMM.test(w.start) || !HHMM.test(w.end) || w.start === w.end || w.days.length === 0 || w.days.some((x) => !Number.isInteger(x) || x < 0 || x > 6)) {
      throw new LucidError('API_ERR_VALIDATION', `maintenance window ${JSON.stringify(w)}: days 0..6 (Sunday = 0), start and end 'HH:MM' UTC, not equal`);
    }
  }
}

/**
 * The rollout's device order: sorted by SHA-256(rollout id ‖ device id), so stages are random
 * samples of the group (a canary is not always the oldest device) yet every instance computes
 * the same order.
 */
export function rolloutOrder(rolloutId: string, deviceIds: readonly string[]): string[] {
  const keyed = deviceIds.map((id) => ({ id, k: createHash('sha256').update(`${rolloutId}\n${id}`).digest('hex') }));
  return keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0)).map((x) => x.id);
}
