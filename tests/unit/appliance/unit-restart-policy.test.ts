// The systemd unit's restart and reboot policy (image/pi/lucid-appliance.service) agrees with the
// supervisor's own limits: repeated failures of a critical child reach the reboot, while a
// supervisor that cannot start at all does not reboot the board in a tight loop.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../helpers/appliance.js';
import { SETTINGS } from '../../../appliance/config/index.js';
import { childTable } from '../../../appliance/supervisor/children.js';
import { readyDeadlineMs, type ChildState } from '../../../appliance/supervisor/plan.js';

const UNIT = readFileSync(join(ROOT, 'image/pi/lucid-appliance.service'), 'utf8');
const value = (key: string): string => {
  const m = new RegExp(`^${key}=(.*)$`, 'm').exec(UNIT);
  if (!m) throw new Error(`${key}= missing from the unit`);
  return m[1]!.trim();
};
/** A systemd time span in ms (the forms the unit uses: 30s, 90min, 2h, 300). */
const span = (text: string): number => {
  const m = /^(\d+)(ms|s|min|h)?$/.exec(text);
  if (!m) throw new Error(`cannot read time span ${text}`);
  return Number(m[1]) * { ms: 1, s: 1000, min: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'min' | 'h'];
};
const defaultOf = (env: string): number => SETTINGS.find((s) => s.env === env)!.default('device') as number;

describe('systemd restart policy of the unit', () => {
  it('reboots after more than StartLimitBurst starts in StartLimitIntervalSec, placed in [Unit]', () => {
    const unitSection = UNIT.split(/^\[Service\]$/m)[0]!;
    for (const key of ['StartLimitIntervalSec', 'StartLimitBurst', 'StartLimitAction']) expect(unitSection).toMatch(new RegExp(`^${key}=`, 'm'));
    expect(value('StartLimitAction')).toBe('reboot');
    expect(value('Restart')).toBe('always');
  });

  it('a critical child failing for good gets the board rebooted within the start-limit interval', () => {
    // One cycle: the failed limit, then systemd's watchdog timeout, RestartSec, and ~1 min for a
    // new tree to start, crash-loop (≈ 15 s of backoff) and fail again.
    const cycle = defaultOf('LUCID_FAILED_LIMIT_MS') + span(value('WatchdogSec')) + span(value('RestartSec')) + 60_000;
    const burst = Number(value('StartLimitBurst'));
    // Start number burst+1 is refused (→ reboot) only if it falls inside the interval.
    expect(burst * cycle).toBeLessThan(span(value('StartLimitIntervalSec')));
  });

  it('a supervisor that cannot start at all is restarted for minutes before a reboot, not seconds', () => {
    const burst = Number(value('StartLimitBurst'));
    expect(burst * span(value('RestartSec'))).toBeGreaterThanOrEqual(2 * 60_000);
    // The failed limit leaves the supervisor's own slow retries several chances first.
    expect(defaultOf('LUCID_FAILED_LIMIT_MS')).toBeGreaterThanOrEqual(4 * defaultOf('LUCID_FAILED_RETRY_MS'));
  });

  it('TimeoutStartSec lets a slow core start finish its third try (30, 60, 120 s deadlines), and a tree never ready still reboots', () => {
    const core = childTable({ entriesDir: '/app/dist/entries', heartbeatMs: 1000, extra: [] })[0]!;
    const tries = [0, 1, 2].map((readyTimeouts) => readyDeadlineMs({ spec: core, readyTimeouts } as ChildState));
    expect(tries).toEqual([30_000, 60_000, 120_000]);
    // The tries, their backoff (1 + 2 s) and a minute for the slot step and the supervisor's own load.
    expect(span(value('TimeoutStartSec'))).toBeGreaterThanOrEqual(tries.reduce((a, b) => a + b) + 3_000 + 60_000);
    // A tree that never gets ready: each start ends at TimeoutStartSec, then RestartSec; the
    // start after the burst must still fall inside the interval, so the board reboots.
    const burst = Number(value('StartLimitBurst'));
    expect(burst * (span(value('TimeoutStartSec')) + span(value('RestartSec')))).toBeLessThan(span(value('StartLimitIntervalSec')));
  });
});
