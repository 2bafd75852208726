// The approval queue (two-person rule: a production rollout waits for a second admin) and the
// hash-chained audit log.
import { call } from './api.js';
import type { FleetPage } from './page.js';
import { ago, button, h, messageLine, row, table } from './ui.js';

interface Approval { id: string; kind: string; reason: string; createdAt: number; expiresAt: number; requestedBy?: string; params?: Record<string, unknown> }
interface Audit { seq: number; at: number; actor: string; action: string; target?: string | null; outcome: string; hash: string }

export const approvalsPage: FleetPage = {
  path: '/approvals', title: 'Approvals',
  async render(main, poll) {
    const msg = messageLine();
    const list = h('div');
    const draw = async (): Promise<void> => {
      try {
        const queue = await call<Approval[]>('GET', '/api/v1/approvals');
        list.replaceChildren(table('approvals-table', ['Request', 'Reason', 'Asked', 'Expires', ''], queue.map((a) => row({ 'data-approval': a.id },
          h('span', null, a.kind, h('br'), h('code', { class: 'muted' }, a.id)), a.reason, ago(a.createdAt), new Date(a.expiresAt).toISOString().slice(0, 16).replace('T', ' '),
          button('Approve', `approve-${a.id}`, async () => {
            try { await call('POST', `/api/v1/approvals/${a.id}/approve`); msg.ok('Approved: the rollout starts.'); await draw(); } catch (e) { msg.show(e); }
          }, 'primary'))), 'No requests waiting.'));
      } catch (e) { msg.show(e); }
    };
    main.replaceChildren(h('h1', null, 'Approvals'), h('p', { class: 'muted' }, 'A rollout to a group tagged production starts only when a second, independent admin approves it.'), h('div', { class: 'card' }, msg.el, list));
    await draw();
    poll(draw, 4000);
  },
};

export const auditPage: FleetPage = {
  path: '/audit', title: 'Audit log',
  async render(main) {
    const msg = messageLine();
    const list = h('div');
    main.replaceChildren(h('h1', null, 'Audit log'), h('div', { class: 'card' }, msg.el, list));
    try {
      const entries = await call<Audit[]>('GET', '/api/v1/audit?limit=200');
      list.replaceChildren(table('audit-table', ['#', 'When', 'Who', 'What', 'Target', 'Outcome'], entries.map((e) => row({ 'data-seq': String(e.seq) },
        String(e.seq), ago(e.at), e.actor, e.action, e.target ?? '', e.outcome))));
    } catch (e) { msg.show(e); }
  },
};
