// The OTA agent's hand-over with the supervisor (requests update.prepare / update.cancel /
// update.switch) on the real Supervisor: the agent waits until no other child holds an update
// lock — a finalize or a vote in progress is never cut — then new locks are refused until the
// restart; the hand-over dies with its holder; the switch needs the hand-over first.
import { describe, expect, it } from 'vitest';
import { Supervisor } from '../../../appliance/supervisor/index.js';
import { handleRequest } from '../../../appliance/supervisor/requests.js';
import { silentLogger } from '../../../services/common/log.js';

function supervisor(onSlotSwitch?: (reason: string) => void): Supervisor {
  return new Supervisor({
    log: silentLogger(), version: 'test', children: [], childEnv: {},
    led: { show: () => {}, view: () => ({ state: 'ready', steps: [], since: 0, drivers: [], simulatedOn: null }) },
    notifier: { notify: async () => true }, sdWatchdogMs: null, hardwareWatchdog: null, hal: { mode: 'sim', watchdog: null, button: null },
    ...(onSlotSwitch ? { onSlotSwitch } : {}),
  });
}

describe('update hand-over', () => {
  it('waits for other children\'s locks, then refuses new ones to others until cancelled', async () => {
    const s = supervisor();
    await handleRequest(s, 'core', 'lock.acquire', { name: 'finalize' });
    // Held by core: the agent's wait times out with the holders named.
    await expect(handleRequest(s, 'ota-agent', 'update.prepare', { timeoutMs: 50 })).rejects.toMatchObject({ code: 'SUP_ERR_LOCKS_BUSY', message: expect.stringContaining('finalize (core)') });
    expect(s.updateHolder).toBeNull();
    // Released while the agent waits: the hand-over is granted.
    const waiting = handleRequest(s, 'ota-agent', 'update.prepare', { timeoutMs: 2000 });
    setTimeout(() => void handleRequest(s, 'core', 'lock.release', { name: 'finalize' }), 30);
    await expect(waiting).resolves.toEqual({ pending: true });
    expect(s.updateHolder).toBe('ota-agent');
    await expect(handleRequest(s, 'core', 'lock.acquire', { name: 'vote' })).rejects.toMatchObject({ code: 'SUP_ERR_UPDATE_PENDING' });
    // The holder's own locks are still fine (it may take ota-install), and it may ask again.
    await expect(handleRequest(s, 'ota-agent', 'lock.acquire', { name: 'ota-install' })).resolves.toMatchObject({ name: 'ota-install' });
    await expect(handleRequest(s, 'ota-agent', 'update.prepare', { timeoutMs: 10 })).resolves.toEqual({ pending: true });
    // Another child cannot take the hand-over.
    await expect(handleRequest(s, 'payout', 'update.prepare', { timeoutMs: 10 })).rejects.toMatchObject({ code: 'SUP_ERR_LOCKS_BUSY' });
    await handleRequest(s, 'ota-agent', 'update.cancel', {});
    await expect(handleRequest(s, 'core', 'lock.acquire', { name: 'vote' })).resolves.toMatchObject({ holders: ['core'] });
  });

  it('update.switch needs the hand-over, then asks the entry to stop for the restart', async () => {
    const reasons: string[] = [];
    const s = supervisor((r) => reasons.push(r));
    await expect(handleRequest(s, 'ota-agent', 'update.switch', { reason: 'trial of 2.0.0' })).rejects.toMatchObject({ code: 'SUP_ERR_BAD_REQUEST' });
    await handleRequest(s, 'ota-agent', 'update.prepare', { timeoutMs: 10 });
    await expect(handleRequest(s, 'core', 'update.switch', { reason: 'not mine' })).rejects.toMatchObject({ code: 'SUP_ERR_BAD_REQUEST' });
    await expect(handleRequest(s, 'ota-agent', 'update.switch', { reason: 'trial of 2.0.0' })).resolves.toEqual({ accepted: true });
    await new Promise((r) => setTimeout(r, 0));
    expect(reasons).toEqual(['trial of 2.0.0']);
    await expect(handleRequest(s, 'ota-agent', 'update.prepare', { timeoutMs: 99_999 })).rejects.toMatchObject({ code: 'SUP_ERR_BAD_REQUEST' });
  });

  it('concurrent prepares from the agent all resolve; the hand-over is one', async () => {
    const s = supervisor();
    const results = await Promise.all(Array.from({ length: 10 }, () => handleRequest(s, 'ota-agent', 'update.prepare', { timeoutMs: 100 })));
    expect(results.every((r) => (r as { pending: boolean }).pending)).toBe(true);
    expect(s.updateHolder).toBe('ota-agent');
  });
});
