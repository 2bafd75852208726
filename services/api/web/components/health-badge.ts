// Overall health: a badge ("Healthy" / "Unhealthy") and the reasons the API gives. The whole
// block is a polite live region, so a change of health is announced; it is rewritten only when
// the text changes (see setText).
import { h, setAttr, setText } from '../dom.js';

export interface HealthBadgeView {
  readonly el: HTMLElement;
  update(healthy: boolean | null, reasons: readonly string[]): void;
}

export function createHealthBadge(): HealthBadgeView {
  const badge = h('span', { class: 'badge', 'data-testid': 'health', 'data-healthy': 'unknown' }, 'Checking…');
  const list = h('ul', { class: 'reasons', 'data-testid': 'health-reasons' });
  const note = h('p', { class: 'muted small health-note' }, '');
  const el = h('div', { class: 'health', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' }, badge, list, note);
  let shown = '';

  return {
    el,
    update(healthy, reasons) {
      setAttr(badge, 'data-healthy', healthy === null ? 'unknown' : String(healthy));
      setText(badge, healthy === null ? 'Unknown' : healthy ? 'Healthy' : 'Unhealthy');
      const key = reasons.join('\n');
      if (key !== shown) {
        shown = key;
        list.replaceChildren(...reasons.map((r) => h('li', null, r)));
      }
      list.hidden = reasons.length === 0;
      setText(note, healthy === true ? 'Every critical process is ready.' : healthy === false ? '' : 'Waiting for the first answer from the appliance.');
      note.hidden = note.textContent === '';
    },
  };
}
