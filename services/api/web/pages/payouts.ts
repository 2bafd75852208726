// Payouts (admins): the payout wallet (signing method, address, balances, keystore lock), the
// payouts waiting for approval — each with the transaction decoded before anyone signs —, the
// statements per epoch, the history with txids, and the approvers and payout addresses.
// Every number comes from the payout process; the page only asks and shows.
import { WEB_ERR_ABORTED, toApiError } from '../api.js';
import { h, setText } from '../dom.js';
import type { Page } from '../page.js';
import { getSession } from '../session.js';
import { button, form, input, outcome, table, td } from '../components/form.js';
import { decodedTx, usdt, type Preview } from '../components/payout-tx.js';
import { signBox } from '../components/sign-box.js';
import { registryView, type PendingChange, type Registry } from '../components/payout-registry.js';

interface Status extends Registry {
  signer: { method: string; address: string | null; ready: boolean; detail: string };
  balance: { usdt: string | { error: string } | null; trxSun: number | { error: string } | null };
  limits: { min: string; max: string; secondApprovalFrom: string; daily: string };
  dailyUsed: string; confirmations: number; contract: string; verifier: string;
  node: { url: string; head: { number: number } | { error: string } };
}
interface Attempt { n: number; txid: string; outcome?: string; blockNumber?: number; signedAt?: number }
interface Payout { id: string; epoch: number; operator: string; recipient: string; amount: string; state: string; approvals: Array<{ approver: string; name: string | null }>; approvalsNeeded: number; attempts: Attempt[]; failure?: { code: string; reason: string }; lastError: { code: string; message: string } | null }
interface Statement { epoch: number; hash: string; verifiedBy: string; anchor?: { height: number; blockHash: string; submitter: string } | null; document: { prev: string | null; lines: Array<Record<string, string | number | boolean>>; totals: Record<string, string> } }

const money = (v: string | { error: string } | null): string => (v === null ? '—' : typeof v === 'string' ? usdt(v) : `unavailable (${v.error})`);
const short = (hex: string): string => `${hex.slice(0, 8)}…${hex.slice(-4)}`;

export const payoutsPage: Page = {
  path: '/payouts',
  title: 'Payouts',
  role: 'admin',
  render(root, ctx) {
    const { api, signal } = ctx;
    const out = outcome('payouts-result');
    const wallet = h('div', { 'data-testid': 'wallet' });
    const pending = h('div', { 'data-testid': 'pending' });
    const history = h('div', { 'data-testid': 'history' });
    const statements = h('div', { 'data-testid': 'statements' });
    const registry = h('div', { 'data-testid': 'registry' });
    const review = h('div', { 'data-testid': 'review' });
    // Parts with inputs are rebuilt only when what they show changed: polling must not wipe
    // what a person is typing.
    const shown = new Map<string, string>();
    const changed = (part: string, data: unknown): boolean => {
      const key = JSON.stringify(data);
      if (shown.get(part) === key) return false;
      shown.set(part, key);
      return true;
    };
    const act = async (what: string, run: () => Promise<unknown>): Promise<void> => {
      try {
        await run();
        if (what) out.ok(what);
      } catch (err) { out.fail(err); }
      // A refusal may still have changed something (a first approval is kept): show it.
      await load();
    };

    const facts = h('div');
    const walletActions = h('div', { class: 'section' });
    wallet.replaceChildren(facts, walletActions);
    function walletActionsOf(s: Status): Node[] {
      const pass = input('passphrase', 'Keystore passphrase', { type: 'password', autocomplete: 'off' });
      const actions: Node[] = [];
      if (s.signer.method === 'keystore' && !s.signer.address && getSession()?.user.role === 'super_admin') {
        actions.push(form('keystore-create', 'Create the keystore', [pass.row], () => act('keystore created', () => api.post('/api/v1/payouts/keystore', { passphrase: pass.el.value }, { signal, timeoutMs: 30_000 })), signal));
      } else if (s.signer.method === 'keystore' && s.signer.address && !s.signer.ready) {
        actions.push(form('keystore-unlock', 'Unlock for this session', [pass.row], () => act('keystore unlocked', () => api.post('/api/v1/payouts/keystore/unlock', { passphrase: pass.el.value }, { signal, timeoutMs: 30_000 })), signal));
      } else if (s.signer.method === 'keystore' && s.signer.ready) {
        actions.push(button('Lock the keystore', 'keystore-lock', () => act('keystore locked', () => api.post('/api/v1/payouts/keystore/lock', {}, { signal })), signal));
      } else if (s.signer.method === 'ledger' && !s.signer.address) {
        actions.push(button('Use the Ledger (confirm the address on it)', 'ledger-setup', () => act('Ledger set up', () => api.post('/api/v1/payouts/ledger', {}, { signal, timeoutMs: 130_000 })), signal));
      }
      return actions;
    }

    function walletFacts(s: Status): HTMLElement {
      const row = (k: string, v: string, id: string): HTMLElement => h('div', null, h('dt', null, k), h('dd', { 'data-testid': id }, v));
      return h('dl', { class: 'facts' },
        row('Signing method', s.signer.method === 'ledger' ? 'Ledger (TRON app)' : 'encrypted keystore', 'signing-method'),
        row('Payout wallet', s.signer.address ?? 'not set up', 'wallet-address'),
        row('Signer', `${s.signer.ready ? 'ready' : 'not ready'} — ${s.signer.detail}`, 'signer-state'),
        row('USDT balance', money(s.balance.usdt), 'balance-usdt'),
        row('TRX (fees)', s.balance.trxSun === null ? '—' : typeof s.balance.trxSun === 'number' ? `${(s.balance.trxSun / 1e6).toLocaleString('en-US')} TRX` : `unavailable (${s.balance.trxSun.error})`, 'balance-trx'),
        row('Signed today', `${usdt(s.dailyUsed)} of ${usdt(s.limits.daily)}`, 'daily'),
        row('Limits', `${usdt(s.limits.min)} – ${usdt(s.limits.max)} per payout; two approvers from ${usdt(s.limits.secondApprovalFrom)}; ${s.confirmations} confirmations`, 'limits'),
        row('TRON node', `${s.node.url} — ${'number' in s.node.head ? `head ${s.node.head.number}` : `unreachable (${s.node.head.error})`}`, 'node'),
        row('Credits checked by', s.verifier, 'verifier'));
    }

    let reviewing: string | null = null;
    async function showReview(p: Payout): Promise<void> {
      reviewing = p.id;
      review.replaceChildren(h('p', { class: 'muted' }, 'Building the transaction…'));
      try {
        const a = await api.get<{ text: string; preview: Preview | null; previewError: string | null }>(`/api/v1/payouts/${encodeURIComponent(p.id)}/approval`, { signal, timeoutMs: 15_000 });
        const box = signBox('approve', a.text, signal);
        review.replaceChildren(h('section', { class: 'card section', 'data-testid': `review-card-${p.epoch}-${p.operator.slice(0, 8)}` },
          h('h2', null, `Approve payout ${p.epoch} / ${short(p.operator)}`), decodedTx(a.preview, a.previewError), h('h3', null, 'You sign'), box.el,
          form('approve', 'Approve', [], async () => {
            let filed = false;
            await act('approval recorded', async () => {
              const res = await api.post<{ approval?: unknown }>(`/api/v1/payouts/${encodeURIComponent(p.id)}/approve`, { signature: box.signatures()[0] ?? '' }, { signal });
              filed = res.approval !== undefined;
            });
            if (filed) out.ok('first approval recorded: a second, independent admin must approve with their wallet');
          }, signal)));
      } catch (err) { out.fail(err); }
    }

    function lines(s: Statement): HTMLElement {
      return table(`statement-${s.epoch}`, ['Operator', 'Credits', 'Gross', 'Commission', 'Bonus', 'Carried in', 'Payable', 'Carried out'], s.document.lines.map((l) =>
        h('tr', null, h('th', { scope: 'row', class: 'mono small', title: String(l['operator']) }, short(String(l['operator']))), td('Credits', String(l['credits'])),
          td('Gross', usdt(String(l['gross']))), td('Commission', usdt(String(l['commission']))), td('Bonus', usdt(String(l['bonus']))),
          td('Carried in', usdt(String(l['carriedIn']))), td('Payable', usdt(String(l['payable']))), td('Carried out', usdt(String(l['carriedOut']))))));
    }

    async function load(): Promise<void> {
      try {
        const [{ status: s }, { items: list }, { items: stmts }, { items: changes }] = await Promise.all([
          api.get<{ status: Status }>('/api/v1/payouts/status', { signal, timeoutMs: 15_000 }),
          api.get<{ items: Payout[] }>('/api/v1/payouts', { signal }),
          api.get<{ items: Statement[] }>('/api/v1/payouts/statements', { signal }),
          api.get<{ items: PendingChange[] }>('/api/v1/payouts/approvals', { signal }),
        ]);
        ctx.connection.ok();
        facts.replaceChildren(walletFacts(s));
        if (changed('actions', [s.signer.method, s.signer.address, s.signer.ready])) walletActions.replaceChildren(...walletActionsOf(s));
        const waiting = list.filter((p) => p.state === 'requested');
        if (reviewing && !waiting.some((p) => p.id === reviewing)) {
          reviewing = null;
          review.replaceChildren();
        }
        if (changed('pending', waiting)) pending.replaceChildren(waiting.length === 0 ? h('p', { class: 'muted', 'data-testid': 'no-pending' }, 'Nothing waits for approval.') : table('pending-table', ['Payout', 'Amount', 'To', 'Approvals', ''], waiting.map((p) =>
          h('tr', { 'data-testid': `pending-${p.epoch}-${p.operator.slice(0, 8)}` }, h('th', { scope: 'row' }, `${p.epoch} / ${short(p.operator)}`), td('Amount', usdt(p.amount)),
            td('To', h('span', { class: 'mono small' }, p.recipient)), td('Approvals', `${p.approvals.length} of ${p.approvalsNeeded}${p.approvals.length ? ` (${p.approvals.map((a) => a.name ?? short(a.approver)).join(', ')})` : ''}`),
            td('', button('Review and approve', `review-${p.epoch}-${p.operator.slice(0, 8)}`, () => showReview(p), signal))))));
        const done = list.filter((p) => p.state !== 'requested');
        if (changed('history', done)) history.replaceChildren(done.length === 0 ? h('p', { class: 'muted', 'data-testid': 'no-history' }, 'No payout yet.') : table('history-table', ['Payout', 'Amount', 'State', 'Transaction', 'Note'], done.map((p) => {
          const a = p.attempts.at(-1);
          return h('tr', { 'data-testid': `payout-${p.epoch}-${p.operator.slice(0, 8)}`, 'data-state': p.state }, h('th', { scope: 'row' }, `${p.epoch} / ${short(p.operator)}`),
            td('Amount', usdt(p.amount)), td('State', h('span', { class: 'pill', 'data-tone': p.state === 'paid' ? 'ok' : p.state === 'failed' ? 'crit' : null }, p.state)),
            td('Transaction', a ? h('span', { class: 'mono small', 'data-testid': 'txid' }, a.txid) : '—', p.attempts.length > 1 ? ` (attempt ${p.attempts.length})` : ''),
            td('Note', p.failure ? `${p.failure.code}: ${p.failure.reason}` : p.lastError ? `waiting: ${p.lastError.code}` : a?.blockNumber ? `block ${a.blockNumber}` : '',
              p.state === 'failed' ? button('Request again', `retry-${p.epoch}-${p.operator.slice(0, 8)}`, () => act('requested again: approve the new round', () => api.post(`/api/v1/payouts/${encodeURIComponent(p.id)}/retry`, {}, { signal })), signal) : ''));
        })));
        if (changed('statements', stmts.map((x) => [x.hash, x.anchor?.height ?? null]))) statements.replaceChildren(stmts.length === 0 ? h('p', { class: 'muted', 'data-testid': 'no-statements' }, 'No epoch stated yet.') : h('div', null, ...stmts.slice().reverse().map((st) =>
          h('details', { class: 'section', 'data-testid': `statement-epoch-${st.epoch}`, open: st === stmts.at(-1) },
            h('summary', null, `Epoch ${st.epoch}: ${usdt(st.document.totals['payable'] ?? '0')} payable, ${usdt(st.document.totals['commission'] ?? '0')} commission, ${usdt(st.document.totals['carriedOut'] ?? '0')} carried`),
            h('p', { class: 'small muted' }, 'Statement hash ', h('span', { class: 'mono', 'data-testid': 'statement-hash' }, st.hash), ` — credits ${st.verifiedBy}`),
            // Paid only once the chain made the same hash final (services/payout/README.md "Anchoring").
            st.anchor
              ? h('p', { class: 'small', 'data-testid': 'statement-anchor' }, 'Final on the chain at height ', h('span', { 'data-testid': 'anchor-height' }, String(st.anchor.height)), ', block ', h('span', { class: 'mono', 'data-testid': 'anchor-block' }, st.anchor.blockHash))
              : h('p', { class: 'small', 'data-testid': 'statement-unanchored' }, h('span', { class: 'pill', 'data-tone': 'warn' }, 'not final on the chain yet'), ' nothing of it is paid until it is'),
            lines(st)))));
        if (changed('registry', [s.approvers, s.addresses, changes.map((c) => c.id)])) registry.replaceChildren(registryView(s, changes, getSession()?.user.id ?? null, api, signal, act));
      } catch (err) {
        const e = toApiError(err);
        if (e.code === WEB_ERR_ABORTED) return;
        if (e.code === 'PAYOUT_ERR_DISABLED' || e.code === 'API_ERR_NOT_FOUND') setText(facts, 'Payouts are not enabled on this appliance (set LUCID_TRON_URL).');
        else out.fail(e);
      }
    }

    root.append(h('div', { class: 'page' }, h('div', { class: 'page-head' }, h('h1', null, 'Payouts'), h('span', { class: 'muted small' }, 'USDT (TRC-20) on TRON, from the sandboxed payout process')), out.el,
      h('section', { class: 'card' }, h('h2', null, 'Wallet'), wallet),
      h('section', { class: 'section card' }, h('h2', null, 'Waiting for approval'), pending), review,
      h('section', { class: 'section card' }, h('h2', null, 'History'), history),
      h('section', { class: 'section card' }, h('h2', null, 'Statements'), statements),
      h('section', { class: 'section card' }, h('h2', null, 'Approvers and payout addresses'), registry)));
    void load();
    const timer = setInterval(() => { if (!document.hidden) void load(); }, 5000);
    return () => clearInterval(timer);
  },
};
