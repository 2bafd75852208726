// IPC requests of children (appliance/supervisor/requests.ts): the button over IPC.
import { describe, expect, it } from 'vitest';
import { handleRequest, type RequestTarget } from '../../../appliance/supervisor/requests.js';
import type { ButtonAction } from '../../../services/common/ipc.js';

function target(buttonSimulated: boolean): RequestTarget & { presses: ButtonAction[] } {
  const presses: ButtonAction[] = [];
  return {
    presses,
    buttonSimulated,
    locks: { acquire: () => [], release: () => [] },
    requestRestart: () => true,
    setFlag: () => {},
    markDirty: () => {},
    pressButton: (a) => { presses.push(a); return a === 'factory-reset' ? 'armed' : null; },
    updateHolder: null,
    prepareUpdate: async () => ({ ok: true }),
    cancelUpdate: () => {},
    switchSlots: () => {},
  };
}

describe('hal.button over IPC', () => {
  it('presses the simulated button and says what the press did for a factory reset', async () => {
    const t = target(true);
    expect(await handleRequest(t, 'presser', 'hal.button', { action: 'factory-reset' })).toEqual({ accepted: true, factoryReset: 'armed' });
    expect(t.presses).toEqual(['factory-reset']);
    await expect(handleRequest(t, 'presser', 'hal.button', { action: 'hold' })).rejects.toMatchObject({ code: 'SUP_ERR_BAD_REQUEST' });
  });

  it('is refused on real hardware: no child stands in for a finger (two presses reset the appliance)', async () => {
    const t = target(false);
    await expect(handleRequest(t, 'payout', 'hal.button', { action: 'factory-reset' })).rejects.toMatchObject({ code: 'HAL_ERR_NOT_SIMULATED' });
    expect(t.presses).toEqual([]);
  });
});
