// Small form helpers shared by the auth pages: labelled inputs, a form that reports its outcome
// in a live region (data-outcome ok|error, the server's code in the text), and a data table.
import { toApiError } from '../api.js';
import { h, setAttr, setText } from '../dom.js';

export function input(name: string, label: string, attrs: Record<string, string | boolean> = {}): { row: HTMLElement; el: HTMLInputElement } {
  const el = h('input', { name, id: `f-${name}`, 'data-testid': `input-${name}`, autocomplete: 'off', ...attrs });
  return { row: h('label', { class: 'field', for: `f-${name}` }, h('span', null, label), el), el };
}

export function select(name: string, label: string, options: readonly string[]): { row: HTMLElement; el: HTMLSelectElement } {
  const el = h('select', { name, id: `f-${name}`, 'data-testid': `input-${name}` }, ...options.map((o) => h('option', { value: o }, o)));
  return { row: h('label', { class: 'field', for: `f-${name}` }, h('span', null, label), el), el };
}

export function outcome(testId: string): { el: HTMLElement; ok(text: string): void; fail(err: unknown): void; busy(text: string): void } {
  const el = h('p', { class: 'small outcome', role: 'status', 'aria-live': 'polite', 'data-testid': testId });
  return {
    el,
    ok(text) { setAttr(el, 'data-outcome', 'ok'); setText(el, text); },
    fail(err) { const e = toApiError(err); setAttr(el, 'data-outcome', 'error'); setText(el, `${e.message} [${e.code}]`); },
    busy(text) { setAttr(el, 'data-outcome', null); setText(el, text); },
  };
}

/** A <form> that calls `submit` (errors are reported, never thrown) with its button disabled meanwhile. */
export function form(testId: string, label: string, rows: Node[], submit: () => Promise<void>, signal: AbortSignal): HTMLFormElement {
  const button = h('button', { type: 'submit', class: 'btn primary', 'data-testid': `${testId}-submit` }, label);
  const f = h('form', { class: 'form', 'data-testid': testId, novalidate: true }, ...rows, h('div', { class: 'btn-row' }, button));
  f.addEventListener('submit', (e) => {
    e.preventDefault();
    button.disabled = true;
    void submit().finally(() => { button.disabled = false; });
  }, { signal });
  return f;
}

export function button(label: string, testId: string, onClick: () => Promise<void> | void, signal: AbortSignal, danger = false): HTMLButtonElement {
  const b = h('button', { type: 'button', class: danger ? 'btn danger' : 'btn', 'data-testid': testId }, label);
  b.addEventListener('click', () => {
    b.disabled = true;
    void Promise.resolve(onClick()).finally(() => { b.disabled = false; });
  }, { signal });
  return b;
}

export function table(testId: string, head: readonly string[], rows: Node[]): HTMLElement {
  return h('div', { class: 'card flush table-wrap' }, h('table', { class: 'children', 'data-testid': testId },
    h('thead', null, h('tr', null, ...head.map((c) => h('th', { scope: 'col' }, c)))), h('tbody', null, ...rows)));
}

export const td = (label: string, ...children: (Node | string)[]): HTMLElement => h('td', { 'data-label': label }, ...children);
export const when = (ms: number | null): string => (ms ? new Date(ms).toLocaleString() : '—');
