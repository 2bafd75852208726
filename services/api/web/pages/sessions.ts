// Sessions: upload a file from the browser (with a progress bar) and the list of sessions,
// newest first, filtered by state and label, polled every 3 s.
import { WEB_ERR_ABORTED, toApiError } from '../api.js';
import { h, setAttr, setText } from '../dom.js';
import { bytes, dateTime } from '../format.js';
import type { Page, PageContext } from '../page.js';
import { poll } from '../poller.js';
import type { SessionList, SessionView } from '../types.js';
import { uploadFile } from '../upload.js';
import { ratioText, stateBadge } from './session-detail.js';

const STATES = ['', 'created', 'recording', 'paused', 'stopped', 'processing', 'completed', 'failed', 'deleted'];

function uploadPanel(ctx: PageContext, onDone: () => void): HTMLElement {
  const file = h('input', { type: 'file', id: 'upload-file', 'data-testid': 'upload-file' });
  const label = h('input', { type: 'text', id: 'upload-label', placeholder: 'name (optional)', maxlength: 256, 'data-testid': 'upload-label' });
  const start = h('button', { type: 'button', class: 'btn', 'data-testid': 'upload-start' }, 'Upload');
  const progress = h('progress', { max: 100, value: 0, 'data-testid': 'upload-progress', 'aria-label': 'Upload progress', hidden: true });
  const status = h('p', { class: 'small', 'data-testid': 'upload-status', 'aria-live': 'polite' });
  let running: AbortController | null = null;

  start.addEventListener('click', () => {
    const f = file.files?.[0];
    if (!f || running) return;
    running = new AbortController();
    ctx.signal.addEventListener('abort', () => running?.abort(), { once: true });
    start.disabled = true;
    progress.hidden = false;
    setAttr(status, 'data-outcome', null);
    const name = label.value.trim() || f.name;
    void uploadFile(ctx.api, f, {
      labels: { name: name.slice(0, 256) },
      signal: running.signal,
      onProgress: (p) => {
        const pct = p.total > 0 ? Math.floor((p.sent / p.total) * 100) : 100;
        progress.value = pct;
        setAttr(progress, 'data-phase', p.phase);
        setText(status, p.phase === 'creating' ? 'Creating session…' : p.phase === 'finalizing' ? 'Sealing and signing…'
          : p.phase === 'retrying' ? `Connection lost; resuming from ${bytes(p.sent)}…` : `${bytes(p.sent)} of ${bytes(p.total)} (${pct} %)`);
      },
    }).then((s: SessionView) => {
      setAttr(status, 'data-outcome', 'ok');
      status.replaceChildren('Uploaded and signed: ', h('a', { href: `#/sessions/${s.id}`, 'data-testid': 'upload-result' }, s.id));
      onDone();
    }, (err: unknown) => {
      const e = toApiError(err);
      if (e.code === WEB_ERR_ABORTED) return;
      setAttr(status, 'data-outcome', 'error');
      setText(status, `Upload failed: ${e.message} [${e.code}]`);
    }).finally(() => {
      running = null;
      start.disabled = false;
    });
  }, { signal: ctx.signal });

  return h('section', { class: 'card', 'aria-labelledby': 'upload-title' },
    h('h2', { id: 'upload-title' }, 'Upload a recording'),
    h('div', { class: 'form-row' },
      h('label', { for: 'upload-file', class: 'visually-hidden' }, 'File'), file,
      h('label', { for: 'upload-label', class: 'visually-hidden' }, 'Name'), label, start),
    progress, status);
}

function row(s: SessionView): HTMLTableRowElement {
  const name = s.labels['name'];
  return h('tr', { 'data-testid': `session-row-${s.id}`, 'data-state': s.state },
    h('th', { scope: 'row', 'data-label': 'Session' }, h('a', { href: `#/sessions/${s.id}` }, name ?? s.id.slice(0, 13)), name ? h('div', { class: 'muted small mono' }, s.id) : null),
    h('td', { 'data-label': 'State' }, stateBadge(s.state)),
    h('td', { 'data-label': 'Size' }, bytes(s.received)),
    h('td', { 'data-label': 'Chunks' }, String(s.chunkCount)),
    h('td', { 'data-label': 'Ratio' }, ratioText(s.compressionRatio)),
    h('td', { 'data-label': 'Created' }, dateTime(Date.parse(s.createdAt))));
}

function render(root: HTMLElement, ctx: PageContext): void {
  const stateFilter = h('select', { id: 'filter-state', 'data-testid': 'filter-state' }, ...STATES.map((s) => h('option', { value: s }, s || 'all but deleted')));
  const labelFilter = h('input', { type: 'search', id: 'filter-label', placeholder: 'label or label=value', 'data-testid': 'filter-label' });
  const body = h('tbody');
  const empty = h('p', { class: 'muted', 'data-testid': 'sessions-empty', hidden: true }, 'No sessions yet.');
  const more = h('button', { type: 'button', class: 'btn', 'data-testid': 'sessions-more', hidden: true }, 'Older sessions');
  let cursor: string | null = null;
  let extra: SessionView[] = [];

  const query = (after: string | null): string => {
    const q = new URLSearchParams({ limit: '50' });
    if (stateFilter.value) q.set('state', stateFilter.value);
    if (labelFilter.value.trim()) q.set('label', labelFilter.value.trim());
    if (after) q.set('cursor', after);
    return `/api/v1/sessions?${q}`;
  };
  const show = (list: SessionView[]): void => {
    const key = list.map((s) => `${s.id}:${s.state}:${s.received}:${s.chunkCount}`).join('|');
    if (body.dataset['key'] !== key) {
      body.dataset['key'] = key;
      body.replaceChildren(...list.map(row));
    }
    empty.hidden = list.length > 0;
  };

  const poller = poll(async (signal) => {
    try {
      const page = await ctx.api.get<SessionList>(query(null), { signal });
      ctx.connection.ok();
      cursor = page.next;
      more.hidden = cursor === null;
      show([...page.sessions, ...extra]);
    } catch (err) {
      const e = toApiError(err);
      if (e.code !== WEB_ERR_ABORTED) ctx.connection.failed(e);
    }
  }, 3000, ctx.signal);

  const refilter = (): void => { extra = []; poller.refresh(); };
  stateFilter.addEventListener('change', refilter, { signal: ctx.signal });
  labelFilter.addEventListener('change', refilter, { signal: ctx.signal });
  more.addEventListener('click', () => {
    if (!cursor) return;
    void ctx.api.get<SessionList>(query(cursor), { signal: ctx.signal }).then((page) => {
      extra = [...extra, ...page.sessions];
      cursor = page.next;
      more.hidden = cursor === null;
      poller.refresh();
    }, (err: unknown) => ctx.connection.failed(toApiError(err)));
  }, { signal: ctx.signal });

  root.append(h('div', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', null, 'Sessions')),
    uploadPanel(ctx, () => poller.refresh()),
    h('section', { class: 'section', 'aria-labelledby': 'list-title' },
      h('div', { class: 'page-head' }, h('h2', { id: 'list-title' }, 'All sessions'),
        h('div', { class: 'form-row' }, h('label', { for: 'filter-state', class: 'small muted' }, 'State'), stateFilter,
          h('label', { for: 'filter-label', class: 'small muted' }, 'Label'), labelFilter)),
      h('div', { class: 'card flush' },
        h('div', { class: 'table-wrap' },
          h('table', { class: 'children sessions', 'data-testid': 'sessions' },
            h('caption', { class: 'visually-hidden' }, 'Sessions, newest first'),
            h('thead', null, h('tr', null, ...['Session', 'State', 'Size', 'Chunks', 'Ratio', 'Created'].map((c) => h('th', { scope: 'col' }, c)))),
            body),
          empty)),
      h('div', { class: 'btn-row' }, more))));
}

export const sessionsPage: Page = { path: '/sessions', title: 'Sessions', render };
