// Requests children make over IPC. Each answers once; unknown ops and bad arguments are coded
// errors, never a crash of the supervisor.
import type { ButtonAction, RequestMap, RequestOp } from '../../services/common/ipc.js';

export interface RequestTarget {
  readonly locks: {
    acquire(name: string, holder: string): string[];
    release(name: string, holder: string): string[];
  };
  /** update.prepare: resolves once other children hold no lock (false on timeout). */
  prepareUpdate(holder: string, timeoutMs: number): Promise<{ ok: true } | { ok: false; holders: Array<{ name: string; holders: string[] }> }>;
  /** Who holds the update hand-over (null: nobody). */
  readonly updateHolder: string | null;
  cancelUpdate(holder: string): void;
  /** update.switch: stop the tree and exit for a restart into the other slot. */
  switchSlots(holder: string, reason: string): void;
  requestRestart(name: string): boolean;
  setFlag(name: string, value: boolean): void;
  pressButton(action: ButtonAction): 'armed' | 'confirmed' | null;
  /** Only the simulated button may be pressed over IPC: a real one needs a finger. */
  readonly buttonSimulated: boolean;
  markDirty(): void;
}

const NAME = /^[a-z][a-z0-9-]{0,63}$/;
const BUTTON_ACTIONS: readonly ButtonAction[] = ['short', 'long', 'factory-reset'];

class RequestError extends Error {
  constructor(readonly code: string, message: string) { super(message); }
}

function nameArg(args: unknown): string {
  const name = (args as { name?: unknown } | null)?.name;
  if (typeof name !== 'string' || !NAME.test(name)) throw new RequestError('SUP_ERR_BAD_REQUEST', 'args.name must be a lower-case name');
  return name;
}

export async function handleRequest(
  target: RequestTarget,
  from: string,
  op: RequestOp,
  args: unknown,
): Promise<RequestMap[RequestOp]['result']> {
  switch (op) {
    case 'lock.acquire': {
      const name = nameArg(args);
      // While the OTA agent hands over for a slot switch, nothing new may start that a stop would cut.
      if (target.updateHolder !== null && target.updateHolder !== from) {
        throw new RequestError('SUP_ERR_UPDATE_PENDING', `the appliance is about to restart for an update (${target.updateHolder}); retry after it`);
      }
      const holders = target.locks.acquire(name, from);
      target.markDirty();
      return { name, holders };
    }
    case 'lock.release': {
      const name = nameArg(args);
      const holders = target.locks.release(name, from);
      target.markDirty();
      return { name, holders };
    }
    case 'child.restart': {
      const name = nameArg(args);
      if (!target.requestRestart(name)) throw new RequestError('SUP_ERR_UNKNOWN_CHILD', `no child named ${name}`);
      return { name };
    }
    case 'flag.set': {
      const name = nameArg(args);
      const value = (args as { value?: unknown }).value;
      if (typeof value !== 'boolean') throw new RequestError('SUP_ERR_BAD_REQUEST', 'args.value must be a boolean');
      target.setFlag(name, value);
      return { name, value };
    }
    case 'hal.button': {
      // Two presses reset the appliance: no child (a compromised sandboxed one, say) may stand in
      // for a finger on real hardware.
      if (!target.buttonSimulated) throw new RequestError('HAL_ERR_NOT_SIMULATED', 'the button is real on this device; press it');
      const action = (args as { action?: unknown } | null)?.action;
      if (!BUTTON_ACTIONS.includes(action as ButtonAction)) {
        throw new RequestError('SUP_ERR_BAD_REQUEST', `args.action must be one of ${BUTTON_ACTIONS.join(', ')}`);
      }
      return { accepted: true, factoryReset: target.pressButton(action as ButtonAction) };
    }
    case 'update.prepare': {
      const timeoutMs = (args as { timeoutMs?: unknown } | null)?.timeoutMs;
      if (!Number.isInteger(timeoutMs) || (timeoutMs as number) < 0 || (timeoutMs as number) > 4000) {
        throw new RequestError('SUP_ERR_BAD_REQUEST', 'args.timeoutMs must be an integer 0..4000 (the request itself times out at 5 s)');
      }
      const r = await target.prepareUpdate(from, timeoutMs as number);
      if (!r.ok) throw new RequestError('SUP_ERR_LOCKS_BUSY', `update locks held: ${r.holders.map((l) => `${l.name} (${l.holders.join(', ')})`).join('; ')}`);
      target.markDirty();
      return { pending: true };
    }
    case 'update.cancel':
      target.cancelUpdate(from);
      target.markDirty();
      return { pending: false };
    case 'update.switch': {
      const reason = (args as { reason?: unknown } | null)?.reason;
      if (typeof reason !== 'string' || reason.length > 200) throw new RequestError('SUP_ERR_BAD_REQUEST', 'args.reason must be a string of at most 200 characters');
      if (target.updateHolder !== from) throw new RequestError('SUP_ERR_BAD_REQUEST', 'update.switch needs update.prepare first');
      target.switchSlots(from, reason);
      return { accepted: true };
    }
    default:
      throw new RequestError('SUP_ERR_BAD_REQUEST', `unknown request ${String(op)}`);
  }
}
