// Which status pattern the LED shows, derived purely from the children and the flags children
// report. Priority: fault > lockdown > updating > degraded > booting > ready.
import type { ChildStatus, LedState } from '../../services/common/ipc.js';

export interface LedInputs {
  readonly children: readonly Pick<ChildStatus, 'name' | 'critical' | 'phase'>[];
  /** True once every critical child has been ready at the same time (booting is over). */
  readonly bootCompleted: boolean;
  readonly flags: Readonly<Record<string, boolean>>;
  readonly heldLocks: readonly string[];
}

export function ledStateFor(inputs: LedInputs): LedState {
  if (inputs.children.some((c) => c.critical && c.phase === 'failed')) return 'fault';
  if (inputs.flags['lockdown']) return 'lockdown';
  if (inputs.flags['updating'] || inputs.heldLocks.includes('ota-install')) return 'updating';
  const allReady = inputs.children.every((c) => c.phase === 'ready' || (!c.critical && c.phase === 'stopped'));
  if (!inputs.bootCompleted) return allReady ? 'ready' : 'booting';
  return allReady ? 'ready' : 'degraded';
}

/** /healthz: healthy when every critical child is ready. Reasons name the ones that are not. */
export function healthOf(children: readonly Pick<ChildStatus, 'name' | 'critical' | 'phase' | 'failedReason'>[]): { healthy: boolean; reasons: string[] } {
  const reasons: string[] = [];
  for (const c of children) {
    if (!c.critical || c.phase === 'ready') continue;
    reasons.push(c.phase === 'failed' ? `${c.name} failed: ${c.failedReason ?? 'unknown'}` : `${c.name} is ${c.phase}`);
  }
  return { healthy: reasons.length === 0, reasons };
}
