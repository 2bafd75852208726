// Approvers and operators' payout addresses, as the payout process keeps them, and the two forms
// that change them: enrolling an approver (the new approver's signature plus min(2, enrolled)
// approvers') and setting an operator's address (two approvers). The page gets the exact text
// to sign from the payout process, collects the signatures, and submits them.
import type { Api } from '../api.js';
import { h } from '../dom.js';
import { form, input, table, td, when } from './form.js';
import { signBox, type SignBox } from './sign-box.js';

export interface Registry {
  approvers: Array<{ address: string; name: string; enrolledAt: number }>;
  addresses: Record<string, { address: string; version: number; changedAt: number; signedBy: string[] }>;
}

const short = (hex: string): string => `${hex.slice(0, 8)}…${hex.slice(-4)}`;

export function registryView(reg: Registry, api: Api, signal: AbortSignal, done: (what: string, run: () => Promise<unknown>) => Promise<void>): HTMLElement {
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
    (version, signatures) => api.post('/api/v1/payouts/addresses', { operator: op.el.value.trim(), to: to.el.value.trim(), version, signatures }, { signal }),
    'payout address set');

  return h('div', null,
    h('h3', null, 'Approvers'), reg.approvers.length ? approvers : h('p', { class: 'muted', 'data-testid': 'no-approvers' }, 'No approver yet: the first one is enrolled on its own signature (trust on first use).'),
    h('details', { class: 'section' }, h('summary', null, 'Enroll an approver'), enroll),
    h('h3', { class: 'section' }, 'Payout addresses'), Object.keys(reg.addresses).length ? addresses : h('p', { class: 'muted', 'data-testid': 'no-addresses' }, 'No operator has a payout address yet.'),
    h('details', { class: 'section' }, h('summary', null, 'Set or change an operator\'s payout address (two approvers)'), change));
}
