// Approvers and operators' payout addresses, as the payout process keeps them, and the forms
// that change them: enrolling an approver (the new approver's signature plus min(2, enrolled)
// approvers', collected here) and setting an operator's address — two people: the first admin
// signs with their wallet and files the request, a second, independent admin reviews the same
// text and signs with theirs (the list of changes waiting for them is shown here).
import type { Api } from '../api.js';
import { h } from '../dom.js';
import { button, form, input, table, td, when } from './form.js';
import { signBox, type SignBox } from './sign-box.js';

export interface Registry {
  approvers: Array<{ address: string; name: string; enrolledAt: number }>;
  addresses: Record<string, { address: string; version: number; changedAt: number; signedBy: string[] }>;
}

/** A two-person request waiting for its second admin (services/auth approvals). */
export interface PendingChange { id: string; kind: string; params: Record<string, unknown>; requestedBy: { id: string; username: string }; expiresAt: number }

const short = (hex: string): string => `${hex.slice(0, 8)}…${hex.slice(-4)}`;

export function registryView(reg: Registry, pendingChanges: PendingChange[], me: string | null, api: Api, signal: AbortSignal, done: (what: string, run: () => Promise<unknown>) => Promise<void>): HTMLElement {
  const approvers = table('approver-table', ['Approver', 'Address', 'Enrolled'], reg.approvers.map((a) =>
    h('tr', { 'data-testid': `approver-${a.name}` }, h('th', { scope: 'row', 'data-label': 'Approver' }, a.name), td('Address', h('span', { class: 'mono small' }, a.address)), td('Enrolled', when(a.enrolledAt)))));
  const addresses = table('address-table', ['Operator', 'Payout address', 'Version', 'Signed by'], Object.entries(reg.addresses).map(([op, e]) =>
    h('tr', { 'data-testid': `address-${op.slice(0, 8)}` }, h('th', { scope: 'row', 'data-label': 'Operator', class: 'mono small', title: op }, short(op)),
      td('Payout address', h('span', { class: 'mono small' }, e.address)), td('Version', String(e.version)), td('Signed by', String(e.signedBy.length)))));

  // Two-step forms: first ask for the text, then collect signatures over exactly that text.
  const stepForm = (id: string, fields: Array<{ row: HTMLElement; el: HTMLInputElement }>, textOf: () => Promise<{ text: string; version: number }>,
    submit: (version: number, signatures: string[]) => Promise<unknown>, what: string): HTMLElement => {
    const slot = h('div', { 'data-testid': `${id}-step2` });
    let box: SignBox | null = null;
    let version = 0;
    const f = form(id, 'Show the text to sign', fields.map((x) => x.row), async () => {
      try {
        const t = await textOf();
        version = t.version;
        box = signBox(`${id}-sign`, t.text, signal, 'Signatures (one per line)');
        slot.replaceChildren(box.el, form(`${id}-submit`, 'Submit signatures', [], () => done(what, () => submit(version, box!.signatures())), signal));
      } catch (err) { await done('', () => Promise.reject(err)); }
    }, signal);
    return h('div', null, f, slot);
  };

  const who = input('approver-address', 'New approver\'s TRON address', { spellcheck: false });
  const name = input('approver-name', 'Name (e.g. the admin\'s username)');
  const enroll = stepForm('enroll', [who, name],
    () => api.post('/api/v1/payouts/approvers/text', { approver: who.el.value.trim(), name: name.el.value.trim() }, { signal }),
    (version, signatures) => api.post('/api/v1/payouts/approvers', { approver: who.el.value.trim(), name: name.el.value.trim(), version, signatures }, { signal }),
    'approver enrolled');
  const op = input('address-operator', 'Operator (node key, 64 hex)', { spellcheck: false });
  const to = input('address-to', 'Payout address (T…)', { spellcheck: false });
  const change = stepForm('address', [op, to],
    () => api.post('/api/v1/payouts/addresses/text', { operator: op.el.value.trim(), to: to.el.value.trim() }, { signal }),
    (version, signatures) => api.post('/api/v1/payouts/addresses', { operator: op.el.value.trim(), to: to.el.value.trim(), version, signature: signatures[0] ?? '' }, { signal }),
    'signed: a second admin must approve the change');

  // Changes waiting for a second admin: review the same text, sign with your own wallet.
  const waiting = pendingChanges.filter((c) => c.kind === 'payout.address');
  const review = h('div', { 'data-testid': 'address-review' });
  const open = async (c: PendingChange): Promise<void> => {
    const p = c.params as { operator: string; to: string; version: number };
    try {
      const t = await api.post<{ text: string; version: number }>('/api/v1/payouts/addresses/text', { operator: p.operator, to: p.to }, { signal });
      const box = signBox('address-approve', t.text, signal);
      review.replaceChildren(box.el, form('address-approve-submit', 'Approve the change', [], () =>
        done('payout address set', () => api.post('/api/v1/payouts/addresses', { operator: p.operator, to: p.to, version: p.version, signature: box.signatures()[0] ?? '' }, { signal })), signal));
    } catch (err) { await done('', () => Promise.reject(err)); }
  };
  const waitingList = waiting.length === 0 ? null : h('div', { class: 'section' }, h('h3', null, 'Address changes waiting for a second admin'),
    table('address-pending', ['Operator', 'New address', 'Asked by', ''], waiting.map((c) => {
      const p = c.params as { operator: string; to: string };
      return h('tr', { 'data-testid': `address-pending-${p.operator.slice(0, 8)}` }, h('th', { scope: 'row', class: 'mono small' }, short(p.operator)),
        td('New address', h('span', { class: 'mono small' }, p.to)), td('Asked by', c.requestedBy.username),
        td('', c.requestedBy.id === me ? h('em', { class: 'muted' }, 'needs another admin') : button('Review and approve', `address-review-${p.operator.slice(0, 8)}`, () => open(c), signal)));
    })), review);

  return h('div', null,
    h('h3', null, 'Approvers'), reg.approvers.length ? approvers : h('p', { class: 'muted', 'data-testid': 'no-approvers' }, 'No approver yet: the first one is enrolled on its own signature (trust on first use).'),
    h('details', { class: 'section' }, h('summary', null, 'Enroll an approver'), enroll),
    h('h3', { class: 'section' }, 'Payout addresses'), Object.keys(reg.addresses).length ? addresses : h('p', { class: 'muted', 'data-testid': 'no-addresses' }, 'No operator has a payout address yet.'),
    waitingList,
    h('details', { class: 'section' }, h('summary', null, 'Set or change an operator\'s payout address (two admins)'), change));
}
