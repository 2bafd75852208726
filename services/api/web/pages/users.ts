// Users (admins): the list with role, lock and wallets; create a user; change a role, unlock,
// link a TRON address, delete. The server enforces every rule (no role above your own, the
// last super_admin, two people for admin grants and other admins' credentials); the page shows
// its coded answers, and when a change waits for a second admin.
import { h } from '../dom.js';
import type { Page } from '../page.js';
import { button, form, input, outcome, select, table, td, when } from '../components/form.js';

const ROLES = ['user', 'node_operator', 'admin', 'super_admin'] as const;
interface User { id: string; username: string; role: string; wallets: string[]; createdAt: number; locked: boolean; lockedUntil: number }

export const usersPage: Page = {
  path: '/users',
  title: 'Users',
  role: 'admin',
  render(root, ctx) {
    const { api, signal } = ctx;
    const out = outcome('users-result');
    const list = h('div', { 'data-testid': 'users' }, h('p', { class: 'muted' }, 'Loading…'));
    // A two-person change answers 202 { user, approval }: say that it waits, not that it is done.
    const act = async (what: string, run: () => Promise<unknown>): Promise<void> => {
      try {
        const answer = await run() as { approval?: { id: string } } | undefined;
        out.ok(answer?.approval ? `${what} — waits for a second admin's approval (Approvals page, request ${answer.approval.id})` : what);
        await load();
      } catch (err) { out.fail(err); }
    };

    const row = (u: User): HTMLElement => {
      const role = h('select', { 'data-testid': `role-${u.username}`, 'aria-label': `Role of ${u.username}` }, ...ROLES.map((r) => h('option', { value: r, selected: r === u.role }, r)));
      role.addEventListener('change', () => void act(`${u.username} is now ${role.value}`, () => api.patch(`/api/v1/users/${u.id}`, { role: role.value }, { signal })), { signal });
      const wallet = h('input', { placeholder: 'T… address', 'aria-label': `Link a wallet to ${u.username}`, 'data-testid': `wallet-${u.username}`, size: 20 });
      return h('tr', { 'data-testid': `user-${u.username}`, 'data-locked': String(u.locked) },
        h('th', { scope: 'row', 'data-label': 'User' }, u.username), td('Role', role),
        td('Wallets', h('span', { class: 'small mono' }, u.wallets.join(', ') || '—'), wallet,
          button('Link', `link-${u.username}`, () => act(`wallet linked to ${u.username}`, () => api.post(`/api/v1/users/${u.id}/wallets`, { address: wallet.value.trim() }, { signal })), signal)),
        td('Locked', u.locked ? `until ${when(u.lockedUntil)}` : 'no'),
        td('Created', when(u.createdAt)),
        td('', ...(u.locked ? [button('Unlock', `unlock-${u.username}`, () => act(`${u.username} unlocked`, () => api.post(`/api/v1/users/${u.id}/unlock`, {}, { signal })), signal)] : []),
          button('Delete', `delete-${u.username}`, () => (confirm(`Delete ${u.username}?`) ? act(`${u.username} deleted`, () => api.del(`/api/v1/users/${u.id}`, { signal })) : undefined), signal, true)));
    };

    async function load(): Promise<void> {
      try {
        const { users } = await api.get<{ users: User[] }>('/api/v1/users', { signal });
        ctx.connection.ok();
        list.replaceChildren(table('user-table', ['User', 'Role', 'Wallets', 'Locked', 'Created', ''], users.map(row)));
      } catch (err) { out.fail(err); }
    }

    const name = input('new-username', 'Username');
    const pass = input('new-password', 'Password (12+ characters)', { type: 'password', autocomplete: 'new-password' });
    const role = select('new-role', 'Role', ROLES);
    const create = form('create-user', 'Create user', [name.row, pass.row, role.row], () =>
      act(`${name.el.value} created`, () => api.post('/api/v1/users', { username: name.el.value, password: pass.el.value, role: role.el.value }, { signal })), signal);

    root.append(h('div', { class: 'page' }, h('div', { class: 'page-head' }, h('h1', null, 'Users')), out.el, list,
      h('section', { class: 'section card' }, h('h2', null, 'New user'), create)));
    void load();
  },
};
