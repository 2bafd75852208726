// Emergency controls (admins): lockdown and stop-all-sessions are requested by one admin and
// approved by another; lifting a lockdown and (dis)allowing new sessions take one admin.
import { h } from '../dom.js';
import type { Page } from '../page.js';
import { getSession } from '../session.js';
import { button, input, outcome, when } from '../components/form.js';

interface Switch { active: boolean; since: number | null; until: number | null; by: string | null }
interface Pending { id: string; action: string; requestedBy: { id: string; username: string }; reason: string; at: number; expiresAt: number }
interface State { lockdown: Switch; sessionsDisabled: Switch; requests: Pending[] }

export const emergencyPage: Page = {
  path: '/emergency',
  title: 'Emergency',
  role: 'admin',
  render(root, ctx) {
    const { api, signal } = ctx;
    const out = outcome('emergency-result');
    const view = h('div', { 'data-testid': 'emergency-state' });
    const reason = input('reason', 'Reason (recorded in the audit log)');
    const act = async (what: string, run: () => Promise<unknown>): Promise<void> => {
      try {
        await run();
        out.ok(what);
      } catch (err) { out.fail(err); }
      await load();
    };
    const sw = (label: string, testId: string, s: Switch): HTMLElement => h('div', { class: 'facts-row', 'data-testid': testId, 'data-active': String(s.active) },
      h('strong', null, `${label}: `), s.active ? `ON since ${when(s.since)}, reverts ${when(s.until)} (${s.by ?? ''})` : 'off');

    async function load(): Promise<void> {
      try {
        const s = await api.get<State>('/api/v1/emergency', { signal });
        ctx.connection.ok();
        const me = getSession()?.user.id;
        view.replaceChildren(
          sw('Lockdown', 'lockdown', s.lockdown), sw('New sessions disabled', 'sessions-disabled', s.sessionsDisabled),
          h('h3', null, 'Pending requests'),
          s.requests.length === 0 ? h('p', { class: 'muted small', 'data-testid': 'no-requests' }, 'None.') : h('ul', { class: 'requests' }, ...s.requests.map((r) =>
            h('li', { 'data-testid': `request-${r.action}` }, `${r.action} by ${r.requestedBy.username}: “${r.reason}” (expires ${when(r.expiresAt)}) `,
              r.requestedBy.id === me ? h('em', { class: 'muted' }, 'needs another admin') :
                button('Approve', `approve-${r.action}`, () => act(`${r.action} approved`, () => api.post(`/api/v1/emergency/requests/${r.id}/approve`, {}, { signal })), signal, true)))),
          h('div', { class: 'btn-row' },
            s.lockdown.active ? button('Lift lockdown', 'lift-lockdown', () => act('lockdown lifted', () => api.post('/api/v1/emergency/lockdown/lift', {}, { signal })), signal) : '',
            button(s.sessionsDisabled.active ? 'Allow new sessions' : 'Disable new sessions (12 h)', 'toggle-sessions',
              () => act('done', () => api.post('/api/v1/emergency/sessions', { disabled: !s.sessionsDisabled.active }, { signal })), signal)));
      } catch (err) { out.fail(err); }
    }

    const ask = (action: string) => () => act(`${action} requested; another admin must approve`, () => api.post('/api/v1/emergency/requests', { action, reason: reason.el.value.trim() || 'no reason given' }, { signal }));
    root.append(h('div', { class: 'page' }, h('div', { class: 'page-head' }, h('h1', null, 'Emergency controls')), out.el,
      h('section', { class: 'card' }, h('h2', null, 'State'), view),
      h('section', { class: 'section card' }, h('h2', null, 'Request (a second admin approves)'), reason.row,
        h('div', { class: 'btn-row' }, button('Request lockdown (24 h)', 'request-lockdown', ask('lockdown'), signal, true),
          button('Request stop of all sessions', 'request-stop-all-sessions', ask('stop-all-sessions'), signal, true)))));
    void load();
  },
};
