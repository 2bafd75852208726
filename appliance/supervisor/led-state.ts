// Which status pattern the LED shows, derived purely from the children and the flags children
// report. Priority: reset-pending > fault > lockdown > updating > degraded > booting > ready.
import type { ChildStatus, LedState } from '../../services/common/ipc.js';

type ChildFacts = Pick<ChildStatus, 'name' | 'critical' | 'phase'> & Partial<Pick<ChildStatus, 'failedSince'>>;

export interface LedInputs {
  readonly children: readonly ChildFacts[];
  /** True once every critical child has been ready at the same time (booting is over). */
  readonly bootCompleted: boolean;
  readonly flags: Readonly<Record<string, boolean>>;
  readonly heldLocks: readonly string[];
  /** A factory reset waits for its confirming press (factory-reset.ts). */
  readonly resetPending?: boolean;
}

/** A critical child that failed, or is being retried after failing and is not ready yet. */
export function isFaulted(c: ChildFacts): boolean {
  return c.critical && (c.phase === 'failed' || (c.phase !== 'ready' && (c.failedSince ?? null) !== null));
}

export function ledStateFor(inputs: LedInputs): LedState {
  // The operator is at the button and waiting for the answer to "really reset?": nothing else.
  if (inputs.resetPending) return 'reset-pending';
  // The fault pattern stays on through the slow retries of a failed child, not only while it
  // sits in `failed`: a retry that starts is not yet a recovery.
  if (inputs.children.some(isFaulted)) return 'fault';
  if (inputs.flags['lockdown']) return 'lockdown';
  if (inputs.flags['updating'] || inputs.heldLocks.includes('ota-install')) return 'updating';
  const allReady = inputs.children.every((c) => c.phase === 'ready' || (!c.critical && c.phase === 'stopped'));
  if (!inputs.bootCompleted) return allReady ? 'ready' : 'booting';
  return allReady ? 'ready' : 'degraded';
}

/** /healthz: healthy when every critical child is ready. Reasons name the ones that are not. */
export function healthOf(
  children: readonly (Pick<ChildStatus, 'name' | 'critical' | 'phase' | 'failedReason'> & Partial<Pick<ChildStatus, 'failedSince' | 'nextStartAt'>>)[],
): { healthy: boolean; reasons: string[] } {
  const reasons: string[] = [];
  for (const c of children) {
    if (!c.critical || c.phase === 'ready') continue;
    if (c.phase === 'failed') {
      const retry = c.nextStartAt ? `; next retry ${new Date(c.nextStartAt).toISOString()}` : '';
      reasons.push(`${c.name} failed: ${c.failedReason ?? 'unknown'}${retry}`);
    } else if ((c.failedSince ?? null) !== null) {
      reasons.push(`${c.name} is ${c.phase} (retrying after a failure${c.failedReason ? `: ${c.failedReason}` : ''})`);
    } else {
      reasons.push(`${c.name} is ${c.phase}`);
    }
  }
  return { healthy: reasons.length === 0, reasons };
}
