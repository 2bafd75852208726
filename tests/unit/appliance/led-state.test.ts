import { describe, expect, it } from 'vitest';
import { ledStateFor, healthOf } from '../../../appliance/supervisor/led-state.js';
import { UpdateLocks } from '../../../appliance/supervisor/locks.js';
import { LED_STATES as IPC_LED_STATES, type ChildPhase } from '../../../services/common/ipc.js';
import { LED_STATES as HAL_LED_STATES } from '../../../hal/index.js';

const child = (name: string, phase: ChildPhase, critical = true) => ({ name, phase, critical, failedReason: phase === 'failed' ? 'crash loop' : null });

describe('LED state', () => {
  it('the IPC protocol and the HAL agree on the states', () => {
    expect([...IPC_LED_STATES]).toEqual([...HAL_LED_STATES]);
  });

  it('boots, then is ready, then degraded while a child restarts', () => {
    const base = { flags: {}, heldLocks: [] };
    expect(ledStateFor({ ...base, children: [child('core', 'starting')], bootCompleted: false })).toBe('booting');
    expect(ledStateFor({ ...base, children: [child('core', 'ready')], bootCompleted: true })).toBe('ready');
    expect(ledStateFor({ ...base, children: [child('core', 'backoff')], bootCompleted: true })).toBe('degraded');
    expect(ledStateFor({ ...base, children: [child('core', 'ready'), child('x', 'failed', false)], bootCompleted: true })).toBe('degraded');
  });

  it('fault beats lockdown beats updating', () => {
    const children = [child('core', 'failed')];
    expect(ledStateFor({ children, bootCompleted: true, flags: { lockdown: true, updating: true }, heldLocks: [] })).toBe('fault');
    const ok = [child('core', 'ready')];
    expect(ledStateFor({ children: ok, bootCompleted: true, flags: { lockdown: true, updating: true }, heldLocks: [] })).toBe('lockdown');
    expect(ledStateFor({ children: ok, bootCompleted: true, flags: {}, heldLocks: ['ota-install'] })).toBe('updating');
  });

  it('keeps the fault pattern through the slow retries of a failed critical child, until it is ready', () => {
    const base = { flags: {}, heldLocks: [], bootCompleted: true };
    const retrying = { name: 'core', critical: true, phase: 'starting' as const, failedSince: 1000 };
    expect(ledStateFor({ ...base, children: [retrying] })).toBe('fault');
    expect(ledStateFor({ ...base, children: [{ ...retrying, phase: 'ready' as const }] })).toBe('ready');
    expect(ledStateFor({ ...base, children: [{ ...retrying, critical: false }] })).toBe('degraded');
    expect(healthOf([{ ...retrying, failedReason: 'crash loop' }]).reasons).toEqual(['core is starting (retrying after a failure: crash loop)']);
    expect(healthOf([{ name: 'core', critical: true, phase: 'failed', failedReason: 'crash loop', nextStartAt: Date.UTC(2030, 0, 1) }]).reasons)
      .toEqual(['core failed: crash loop; next retry 2030-01-01T00:00:00.000Z']);
  });

  it('the pending factory reset beats everything, fault included', () => {
    expect(ledStateFor({ children: [child('core', 'failed')], bootCompleted: true, flags: { lockdown: true }, heldLocks: [], resetPending: true })).toBe('reset-pending');
  });

  it('health names each critical child that is not ready', () => {
    expect(healthOf([child('core', 'ready'), child('x', 'failed', false)])).toEqual({ healthy: true, reasons: [] });
    expect(healthOf([child('core', 'backoff'), child('y', 'failed')])).toEqual({
      healthy: false, reasons: ['core is backoff', 'y failed: crash loop'],
    });
  });
});

describe('update locks', () => {
  it('are held per holder, released with their holder, and awaited', async () => {
    const locks = new UpdateLocks();
    locks.acquire('payout', 'payout');
    locks.acquire('payout', 'core');
    expect(locks.list()).toEqual([{ name: 'payout', holders: ['core', 'payout'] }]);
    const waiting = locks.waitFree(['payout'], 1000);
    locks.release('payout', 'core');
    expect(locks.isHeld('payout')).toBe(true);
    locks.releaseAll('payout');
    await expect(waiting).resolves.toBe(true);
    locks.acquire('x', 'a');
    await expect(locks.waitFree(['x'], 20)).resolves.toBe(false);
  });
});
