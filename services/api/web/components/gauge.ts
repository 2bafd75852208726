// A labelled meter: a big value, a bar and a detail line. `fraction` null means "no reading"
// (shown as an empty bar, e.g. a board without a temperature sensor).
import { h, setAttr, setText } from '../dom.js';

export type GaugeLevel = 'ok' | 'warn' | 'crit';

export interface GaugeReading {
  readonly fraction: number | null;
  readonly value: string;
  readonly detail?: string;
  readonly level?: GaugeLevel;
}

export interface GaugeView {
  readonly el: HTMLElement;
  update(reading: GaugeReading): void;
}

/** ok below `warn`, warn below `crit`, crit from there (fractions 0…1). */
export function levelFor(fraction: number | null, warn: number, crit: number): GaugeLevel {
  if (fraction === null) return 'ok';
  return fraction >= crit ? 'crit' : fraction >= warn ? 'warn' : 'ok';
}

export function createGauge(id: string, label: string): GaugeView {
  const labelId = `gauge-${id}-label`;
  const value = h('span', { class: 'gauge-value', 'data-testid': `gauge-${id}-value` }, '—');
  const fill = h('span', { class: 'gauge-fill' });
  const bar = h('span', {
    class: 'gauge-bar', role: 'meter', 'aria-labelledby': labelId, 'aria-valuemin': 0, 'aria-valuemax': 100,
  }, fill);
  const detail = h('span', { class: 'gauge-detail muted small' }, '');
  const el = h('div', { class: 'card gauge', 'data-testid': `gauge-${id}`, 'data-level': 'ok' },
    h('h3', { id: labelId, class: 'gauge-label' }, label), value, bar, detail);

  return {
    el,
    update({ fraction, value: text, detail: more = '', level = 'ok' }) {
      setText(value, text);
      setText(detail, more);
      setAttr(el, 'data-level', level);
      if (fraction === null) {
        setAttr(bar, 'aria-valuenow', null);
        setAttr(bar, 'aria-valuetext', 'no reading');
        fill.style.width = '0';
      } else {
        const pct = Math.round(Math.min(1, Math.max(0, fraction)) * 100);
        setAttr(bar, 'aria-valuenow', String(pct));
        setAttr(bar, 'aria-valuetext', text);
        fill.style.width = `${pct}%`;
      }
    },
  };
}
