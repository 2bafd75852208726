// An operator's earnings: for this appliance's node (or `#/earnings/<operator>`), what each
// epoch's statement says it earned — credits, gross share, 5 % commission, 2 % bonus, carried
// amounts, payable — and what was paid, with the transaction ids.
import { WEB_ERR_ABORTED, toApiError } from '../api.js';
import { h } from '../dom.js';
import type { Page, PageContext } from '../page.js';
import { outcome, table, td, when } from '../components/form.js';
import { usdt } from '../components/payout-tx.js';

interface Earnings {
  operator: string;
  address: { address: string; version: number } | null;
  lines: Array<{ epoch: number; hash: string; line: Record<string, string | number | boolean> }>;
  payouts: Array<{ id: string; epoch: number; amount: string; state: string; paidAt?: number; attempts: Array<{ txid: string }>; failure?: { reason: string } }>;
}

function render(root: HTMLElement, ctx: PageContext): void {
  const { api, signal } = ctx;
  const out = outcome('earnings-result');
  const body = h('div', { 'data-testid': 'earnings' }, h('p', { class: 'muted' }, 'Loading…'));
  root.append(h('div', { class: 'page' }, h('div', { class: 'page-head' }, h('h1', null, 'Earnings')), out.el, body));
  const op = ctx.params['operator'];
  void (async () => {
    try {
      const e = await api.get<Earnings>(`/api/v1/payouts/earnings${op ? `?operator=${encodeURIComponent(op)}` : ''}`, { signal });
      ctx.connection.ok();
      const total = (k: string): bigint => e.lines.reduce((a, l) => a + BigInt(String(l.line[k] ?? '0')), 0n);
      const paid = e.payouts.filter((p) => p.state === 'paid').reduce((a, p) => a + BigInt(p.amount), 0n);
      body.replaceChildren(
        h('section', { class: 'card' }, h('h2', null, 'Operator'), h('dl', { class: 'facts' },
          h('div', null, h('dt', null, 'Node'), h('dd', { class: 'mono', 'data-testid': 'operator' }, e.operator)),
          h('div', null, h('dt', null, 'Payout address'), h('dd', { class: 'mono', 'data-testid': 'payout-address' }, e.address?.address ?? 'none registered (ask an admin)')),
          h('div', null, h('dt', null, 'Earned (net)'), h('dd', { 'data-testid': 'earned' }, usdt(String(total('gross') - total('commission') + total('bonus'))))),
          h('div', null, h('dt', null, 'Paid'), h('dd', { 'data-testid': 'paid' }, usdt(String(paid)))),
          h('div', null, h('dt', null, 'Carried to next epoch'), h('dd', { 'data-testid': 'carried' }, usdt(String(e.lines.at(-1)?.line['carriedOut'] ?? '0')))))),
        h('section', { class: 'section card' }, h('h2', null, 'Per epoch'), e.lines.length === 0 ? h('p', { class: 'muted', 'data-testid': 'no-lines' }, 'No statement names this operator yet.') :
          table('earnings-table', ['Epoch', 'Credits', 'Gross', 'Commission', 'Bonus', 'Payable', 'Carried out'], e.lines.map((l) =>
            h('tr', { 'data-testid': `epoch-${l.epoch}` }, h('th', { scope: 'row' }, String(l.epoch)), td('Credits', String(l.line['credits'])), td('Gross', usdt(String(l.line['gross']))),
              td('Commission', usdt(String(l.line['commission']))), td('Bonus', usdt(String(l.line['bonus']))), td('Payable', usdt(String(l.line['payable']))), td('Carried out', usdt(String(l.line['carriedOut']))))))),
        h('section', { class: 'section card' }, h('h2', null, 'Payouts'), e.payouts.length === 0 ? h('p', { class: 'muted', 'data-testid': 'no-payouts' }, 'None yet.') :
          table('earnings-payouts', ['Epoch', 'Amount', 'State', 'Transaction'], e.payouts.map((p) =>
            h('tr', { 'data-testid': `earning-payout-${p.epoch}`, 'data-state': p.state }, h('th', { scope: 'row' }, String(p.epoch)), td('Amount', usdt(p.amount)),
              td('State', `${p.state}${p.paidAt ? ` ${when(p.paidAt)}` : ''}${p.failure ? `: ${p.failure.reason}` : ''}`), td('Transaction', h('span', { class: 'mono small' }, p.attempts.at(-1)?.txid ?? '—')))))));
    } catch (err) {
      const e = toApiError(err);
      if (e.code === WEB_ERR_ABORTED) return;
      if (e.code === 'PAYOUT_ERR_DISABLED' || e.code === 'API_ERR_NOT_FOUND') body.replaceChildren(h('p', { class: 'muted' }, 'Payouts are not enabled on this appliance.'));
      else out.fail(e);
    }
  })();
}

export const earningsPage: Page = { path: '/earnings', title: 'Earnings', role: 'node_operator', render };
export const operatorEarningsPage: Page = { path: '/earnings/:operator', title: 'Earnings', nav: false, role: 'node_operator', render };
