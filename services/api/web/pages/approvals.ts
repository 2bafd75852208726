// Approvals (admins): every pending two-person request — emergency controls, admin grants,
// another admin's password or wallets — with who asked and why. Another, independent admin
// approves (the server says why one may not: AUTH_ERR_APPROVAL_NOT_INDEPENDENT). While no
// account can approve a request (a fresh appliance with one admin), it takes the one-time code
// a long press of the appliance's button prints on its console. Also: set your own password
// (an admin someone else made must, before that admin may approve or be approved for them).
import { h } from '../dom.js';
import type { Page } from '../page.js';
import { getSession } from '../session.js';
import { button, form, input, outcome, when } from '../components/form.js';

interface Approval {
  id: string; kind: string; params: Record<string, unknown>; requestedBy: { id: string; username: string };
  reason: string; createdAt: number; expiresAt: number; deviceCode: boolean;
}

const describe = (a: Approval): string => {
  const p = a.params;
  if (a.kind === 'user.update') return `${String(p['username'])}: ${p['role'] ? `make ${String(p['role'])}` : ''}${p['role'] && p['credentials'] ? ', ' : ''}${p['credentials'] ? String(p['credentials']) : ''}`;
  if (a.kind === 'user.wallet.link') return `link ${String(p['address'])} to ${String(p['username'])}`;
  if (a.kind === 'user.wallet.unlink') return `unlink ${String(p['address'])} from ${String(p['username'])}`;
  return a.kind;
};

export const approvalsPage: Page = {
  path: '/approvals',
  title: 'Approvals',
  role: 'admin',
  render(root, ctx) {
    const { api, signal } = ctx;
    const out = outcome('approvals-result');
    const list = h('div', { 'data-testid': 'approvals' }, h('p', { class: 'muted' }, 'Loading…'));
    const act = async (what: string, run: () => Promise<unknown>): Promise<void> => {
      try {
        await run();
        out.ok(what);
      } catch (err) { out.fail(err); }
      await load();
    };

    const row = (a: Approval, me: string | undefined): HTMLElement => {
      const code = input(`code-${a.id}`, 'Device code (long press of the button)');
      const approve = (body: object) => () => act(`${describe(a)} approved`, () => api.post(`/api/v1/approvals/${a.id}/approve`, body, { signal }));
      return h('li', { 'data-testid': `approval-${a.id}`, 'data-kind': a.kind },
        h('strong', null, describe(a)), ` — asked by ${a.requestedBy.username}: “${a.reason}” (expires ${when(a.expiresAt)}) `,
        a.requestedBy.id === me ? h('em', { class: 'muted' }, 'needs another admin') : button('Approve', `approve-${a.id}`, approve({}), signal, true),
        ...(a.deviceCode ? [h('div', { class: 'btn-row' }, code.row, button('Approve with device code', `approve-code-${a.id}`, () => approve({ deviceCode: code.el.value.trim() })(), signal, true))] : []));
    };

    async function load(): Promise<void> {
      try {
        const { approvals } = await api.get<{ approvals: Approval[] }>('/api/v1/approvals', { signal });
        ctx.connection.ok();
        const me = getSession()?.user.id;
        list.replaceChildren(approvals.length === 0 ? h('p', { class: 'muted small', 'data-testid': 'no-approvals' }, 'Nothing waits for approval.') : h('ul', { class: 'requests' }, ...approvals.map((a) => row(a, me))));
      } catch (err) { out.fail(err); }
    }

    const current = input('current-password', 'Current password', { type: 'password', autocomplete: 'current-password' });
    const next = input('own-password', 'New password (12+ characters)', { type: 'password', autocomplete: 'new-password' });
    const own = form('own-password-form', 'Set my password', [current.row, next.row], () =>
      act('your password is set', () => api.post('/api/v1/auth/me/password', { currentPassword: current.el.value, newPassword: next.el.value }, { signal })), signal);

    root.append(h('div', { class: 'page' }, h('div', { class: 'page-head' }, h('h1', null, 'Approvals')), out.el,
      h('section', { class: 'card' }, h('h2', null, 'Waiting for a second admin'), list),
      h('section', { class: 'section card' }, h('h2', null, 'My password'), own)));
    void load();
  },
};
