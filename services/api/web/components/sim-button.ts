// Presses the simulated button (POST /api/v1/hal/button). Only offered when the HAL runs the
// simulated drivers: on real hardware the API refuses (HAL_ERR_NOT_SIMULATED) and a finger is
// needed. The result of each press is reported in a live region.
import { toApiError, type Api } from '../api.js';
import { h, setAttr, setText } from '../dom.js';
import { clockTime } from '../format.js';
import type { ButtonAction } from '../types.js';

const ACTIONS: readonly { action: ButtonAction; label: string; hint: string }[] = [
  { action: 'short', label: 'Short press', hint: 'under 3 s' },
  { action: 'long', label: 'Long press', hint: '3–10 s: show the setup code' },
  { action: 'factory-reset', label: 'Factory reset', hint: 'over 10 s: ask for a factory reset (users and logins; the next press confirms)' },
];

export interface SimButtonView {
  readonly el: HTMLElement;
}

export function createSimButton(api: Api, signal: AbortSignal, onPressed: () => void): SimButtonView {
  const result = h('p', { class: 'muted small button-result', role: 'status', 'aria-live': 'polite', 'data-testid': 'button-result' }, '');
  const buttons = ACTIONS.map(({ action, label, hint }) => {
    const button = h('button', {
      type: 'button', class: action === 'factory-reset' ? 'btn danger' : 'btn', 'data-testid': `button-${action}`, title: hint,
    }, label);
    button.addEventListener('click', () => void press(action, label), { signal });
    return button;
  });

  async function press(action: ButtonAction, label: string): Promise<void> {
    if (action === 'factory-reset' && !confirm('Ask for a factory reset? Confirmed by the next press, it erases every user and login (sessions, keys and chain data stay).')) return;
    for (const b of buttons) b.disabled = true;
    setAttr(result, 'data-outcome', null);
    setText(result, `${label}…`);
    try {
      const answer = await api.post<{ accepted: boolean; factoryReset: 'armed' | 'confirmed' | null }>('/api/v1/hal/button', { action }, { signal });
      setAttr(result, 'data-outcome', 'ok');
      const reset = answer.factoryReset === 'armed' ? ' Factory reset asked for: press once more to confirm it.'
        : answer.factoryReset === 'confirmed' ? ' Factory reset confirmed: users and logins are being erased; set up again with the new setup code.' : '';
      setText(result, `${label} sent at ${clockTime(Date.now())}.${reset}`);
      onPressed();
    } catch (err) {
      const e = toApiError(err);
      if (signal.aborted) return;
      setAttr(result, 'data-outcome', 'error');
      setText(result, `${label} failed: ${e.message} (${e.code})`);
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  }

  const el = h('div', { class: 'card', 'data-testid': 'sim-button' },
    h('p', { class: 'muted small' }, 'This device runs simulated hardware. These controls press its push button.'),
    h('div', { class: 'btn-row' }, h('div', { class: 'btn-group', role: 'group', 'aria-label': 'Press the button' }, ...buttons), result),
  );
  return { el };
}
