// Small view helpers for the fleet pages: pills for states, a stage progress bar, tables, forms
// and a message line. Text goes in as text nodes (h from the appliance UI), never as markup.
import { h, type Child } from '../../../services/api/web/dom.js';
import { FleetError } from './api.js';

export { h };
export type { Child };

const TONES: Record<string, string> = {
  ok: 'ok', healthy: 'ok', committed: 'ok', completed: 'ok', running: 'ok', online: 'ok', current: 'ok',
  degraded: 'warn', paused: 'warn', 'pending-approval': 'warn', trial: 'warn', downloading: 'warn', installing: 'warn', assigned: 'warn', deferred: 'warn', reverting: 'warn',
  failed: 'crit', halted: 'crit', unhealthy: 'crit', 'rolled-back': 'crit', offline: 'crit', aborted: 'crit',
};

export function pill(text: string, testId?: string): HTMLElement {
  return h('span', { class: 'pill', 'data-tone': TONES[text] ?? null, 'data-testid': testId ?? null }, text);
}

export function ago(at: number | null | undefined): string {
  if (!at) return '—';
  const s = Math.max(0, Math.round((Date.now() - at) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return new Date(at).toISOString().slice(0, 16).replace('T', ' ');
}

export function table(testId: string, head: readonly string[], rows: readonly HTMLTableRowElement[], empty = 'Nothing here yet.'): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'muted', 'data-testid': `${testId}-empty` }, empty);
  return h('table', { 'data-testid': testId }, h('thead', null, h('tr', null, ...head.map((x) => h('th', null, x)))), h('tbody', null, ...rows));
}

export function row(attrs: Record<string, string>, ...cells: Child[]): HTMLTableRowElement {
  return h('tr', attrs, ...cells.map((c) => h('td', null, c)));
}

/** A progress bar: healthy (green), failed (red), in progress (amber) of a stage's devices. */
export function stageBar(states: Record<string, number>, devices: number): HTMLElement {
  const n = (k: readonly string[]): number => k.reduce((a, s) => a + (states[s] ?? 0), 0);
  const ok = n(['healthy']);
  const bad = n(['failed', 'rolled-back', 'unhealthy', 'reverting', 'reverted']);
  const busy = n(['assigned', 'downloading', 'installing', 'trial', 'committed', 'deferred']);
  // Widths through the CSSOM (a style attribute would need 'unsafe-inline' in the CSP).
  const part = (cls: string, x: number): HTMLElement => {
    const el = h('span', { class: cls });
    el.style.width = `${devices ? (100 * x) / devices : 0}%`;
    return el;
  };
  return h('div', { class: 'bar', role: 'img', 'aria-label': `${ok} healthy, ${bad} failed, ${busy} updating of ${devices}` },
    part('ok', ok), part('crit', bad), part('warn', busy));
}

/** The page's message line: errors show their code (e.g. FLEET_ERR_INVALID_TRANSITION). */
export function messageLine(): { el: HTMLElement; show(e: unknown): void; ok(text: string): void } {
  const el = h('p', { 'data-testid': 'message', role: 'status' });
  return {
    el,
    show(e) {
      el.className = 'error';
      el.textContent = e instanceof FleetError ? `${e.code}: ${e.message}` : String(e);
    },
    ok(text) { el.className = 'muted'; el.textContent = text; },
  };
}

export function button(label: string, testId: string, onClick: () => Promise<void> | void, cls = ''): HTMLButtonElement {
  const b = h('button', { type: 'button', class: cls || null, 'data-testid': testId }, label);
  b.addEventListener('click', () => {
    b.disabled = true;
    void Promise.resolve(onClick()).finally(() => { b.disabled = false; });
  });
  return b;
}

export function field(label: string, input: HTMLElement): HTMLElement {
  return h('label', { class: 'field' }, h('span', { class: 'muted' }, label), input);
}
