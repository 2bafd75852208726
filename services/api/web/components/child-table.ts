// The supervised processes, one row per child, keyed by name so rows update in place. On a
// phone the CSS turns each row into a small card, using the cells' data-label as captions.
import { h, setAttr, setText } from '../dom.js';
import { dateTime, relative } from '../format.js';
import type { ChildStatus } from '../types.js';

const COLUMNS = ['Process', 'State', 'PID', 'Restarts', 'Last exit', 'Critical'] as const;

/** Colour class of a state: green when serving, amber when on its way, red when given up. */
export function stateTone(state: string): 'ok' | 'warn' | 'crit' | 'idle' {
  if (state === 'ready') return 'ok';
  if (state === 'starting' || state === 'backoff' || state === 'stopping') return 'warn';
  if (state === 'failed') return 'crit';
  return 'idle';
}

function exitText(c: ChildStatus, now: number): { text: string; title: string | null } {
  if (c.state === 'failed' && c.failedReason) {
    return { text: c.nextStartAt !== null ? `${c.failedReason} · retry ${relative(c.nextStartAt, now)}` : c.failedReason, title: null };
  }
  const parts: string[] = [];
  if (c.lastExit) {
    const how = c.lastExit.signal ? `signal ${c.lastExit.signal}` : c.lastExit.code !== null ? `code ${c.lastExit.code}` : '';
    parts.push(`${c.lastExit.reason}${how ? ` (${how})` : ''}, ${relative(c.lastExit.at, now)}`);
  }
  if (c.state === 'backoff' && c.nextStartAt !== null) parts.push(`restart ${relative(c.nextStartAt, now)}`);
  return { text: parts.join(' · ') || '—', title: c.lastExit ? dateTime(c.lastExit.at) : null };
}

interface Row {
  readonly tr: HTMLTableRowElement;
  readonly cells: HTMLElement[];
  readonly pill: HTMLElement;
}

export interface ChildTableView {
  readonly el: HTMLElement;
  update(children: readonly ChildStatus[], now: number): void;
}

export function createChildTable(): ChildTableView {
  const body = h('tbody');
  const empty = h('p', { class: 'muted', hidden: true }, 'No supervised processes reported.');
  const table = h('table', { class: 'children', 'data-testid': 'children' },
    h('caption', { class: 'visually-hidden' }, 'Supervised processes'),
    h('thead', null, h('tr', null, ...COLUMNS.map((c) => h('th', { scope: 'col' }, c)))),
    body,
  );
  const el = h('div', { class: 'table-wrap' }, table, empty);
  const rows = new Map<string, Row>();

  const createRow = (name: string): Row => {
    const pill = h('span', { class: 'pill' });
    const cells = COLUMNS.map((label, i) => h(i === 0 ? 'th' : 'td', i === 0 ? { scope: 'row', 'data-label': label } : { 'data-label': label }));
    cells[1]!.append(pill);
    const tr = h('tr', { 'data-testid': `child-${name}` }, ...cells);
    return { tr, cells, pill };
  };

  return {
    el,
    update(children, now) {
      const seen = new Set<string>();
      for (const c of children) {
        seen.add(c.name);
        let row = rows.get(c.name);
        if (!row) {
          row = createRow(c.name);
          rows.set(c.name, row);
        }
        body.appendChild(row.tr); // keeps the API's order; a no-op move when already in place
        const tone = stateTone(c.state);
        setAttr(row.tr, 'data-state', c.state);
        setAttr(row.pill, 'data-tone', tone);
        setText(row.pill, c.state);
        const [name, , pid, restarts, exit, critical] = row.cells;
        setText(name!, c.name);
        setText(pid!, c.pid === null ? '—' : String(c.pid));
        setText(restarts!, String(c.restarts));
        const e = exitText(c, now);
        setText(exit!, e.text);
        setAttr(exit!, 'title', e.title);
        setText(critical!, c.critical ? 'yes' : 'no');
      }
      for (const [name, row] of rows) {
        if (!seen.has(name)) {
          row.tr.remove();
          rows.delete(name);
        }
      }
      table.hidden = children.length === 0;
      empty.hidden = children.length > 0;
    },
  };
}
