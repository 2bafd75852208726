// The audit log (admins): chain status from GET /api/v1/audit/verify (the whole hash chain from
// the signed checkpoint to the signed head), filters, and pages of entries, newest first.
import { h, setAttr, setText } from '../dom.js';
import type { Page } from '../page.js';
import { button, input, outcome, select, table, td, when } from '../components/form.js';

interface Entry { seq: number; at: number; actor: { username: string; role: string } | null; action: string; target: string | null; ip: string | null; outcome: string; details: Record<string, unknown> | null }
interface Verify { ok: boolean; entries: number; headSeq: number; checkpoint: { seq: number } | null; firstBad: { seq: number; reason: string } | null }

export const auditPage: Page = {
  path: '/audit',
  title: 'Audit',
  role: 'admin',
  render(root, ctx) {
    const { api, signal } = ctx;
    const out = outcome('audit-result');
    const chain = h('span', { class: 'badge', 'data-testid': 'chain-status' }, 'Checking…');
    const chainInfo = h('span', { class: 'muted small', 'data-testid': 'chain-info' });
    const action = input('action', 'Action (e.g. auth.login)');
    const result = select('outcome', 'Outcome', ['', 'success', 'failure', 'denied']);
    const list = h('div', null);
    let before: number | null = null;

    async function verify(): Promise<void> {
      try {
        const v = await api.get<Verify>('/api/v1/audit/verify', { signal });
        setAttr(chain, 'data-healthy', String(v.ok));
        setText(chain, v.ok ? 'Chain intact' : 'Chain broken');
        setText(chainInfo, v.ok ? `${v.entries} entries verified up to #${v.headSeq}${v.checkpoint ? ` from checkpoint #${v.checkpoint.seq}` : ''}`
          : `first bad entry #${v.firstBad?.seq}: ${v.firstBad?.reason}`);
      } catch (err) { out.fail(err); }
    }

    async function load(reset: boolean): Promise<void> {
      if (reset) before = null;
      const q = new URLSearchParams({ limit: '50' });
      if (action.el.value.trim()) q.set('action', action.el.value.trim());
      if (result.el.value) q.set('outcome', result.el.value);
      if (before !== null) q.set('before', String(before));
      try {
        const page = await api.get<{ entries: Entry[]; next: number | null }>(`/api/v1/audit?${q}`, { signal });
        ctx.connection.ok();
        before = page.next;
        more.hidden = page.next === null;
        list.replaceChildren(table('audit-table', ['#', 'When', 'Who', 'Action', 'Target', 'From', 'Outcome', 'Details'], page.entries.map((e) =>
          h('tr', { 'data-testid': `audit-${e.seq}`, 'data-action': e.action, 'data-outcome': e.outcome },
            h('th', { scope: 'row', 'data-label': '#' }, String(e.seq)), td('When', when(e.at)),
            td('Who', e.actor ? `${e.actor.username} (${e.actor.role})` : '—'), td('Action', e.action), td('Target', e.target ?? '—'),
            td('From', e.ip ?? '—'), td('Outcome', h('span', { class: 'pill', 'data-tone': e.outcome === 'success' ? 'ok' : 'crit' }, e.outcome)),
            td('Details', h('code', { class: 'small' }, e.details ? JSON.stringify(e.details) : ''))))));
      } catch (err) { out.fail(err); }
    }

    const more = button('Older entries', 'audit-more', () => load(false), signal);
    more.hidden = true;
    root.append(h('div', { class: 'page' }, h('div', { class: 'page-head' }, h('h1', null, 'Audit log')),
      h('section', { class: 'card' }, h('h2', null, 'Hash chain'), h('div', { class: 'btn-row' }, chain, chainInfo, button('Verify again', 'audit-verify', verify, signal))),
      h('section', { class: 'section' }, h('div', { class: 'form inline' }, action.row, result.row, button('Filter', 'audit-filter', () => load(true), signal)), out.el, list, more)));
    void verify();
    void load(true);
  },
};
