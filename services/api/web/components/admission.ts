// Validator admission on the chain page: the open approvals (who is joining, with what power, how
// much of the voting power approved it), and for admins the two controls — approve a joining
// node by its public key (this node must be a validator), or ask for this node to join once
// validators holding more than 2/3 of the power approved it. Each becomes a transaction signed by
// this node's key (services/ledger/admission-routes.ts).
import type { Api } from '../api.js';
import { WEB_ERR_ABORTED, toApiError } from '../api.js';
import { h, setText } from '../dom.js';
import { poll, type Poller } from '../poller.js';
import { atLeast } from '../session.js';
import { form, input, outcome, td } from './form.js';

interface Pending {
  joiner: string; joinerNodeId: string; power: number; approvedPower: number; enough: boolean;
  approvals: Array<{ approver: string; approverNodeId: string; approverPower: number; validUntil: number }>;
}
interface Admission {
  height: number; totalPower: number; maxJoinPower: number; ttlHeights: number;
  self: { publicKey: string; validator: boolean }; pending: Pending[];
}

const short = (id: string): string => `${id.slice(0, 10)}…`;

export function createAdmission(api: Api, signal: AbortSignal): { el: HTMLElement } {
  const out = outcome('admission-result');
  const summary = h('p', { class: 'muted small', 'data-testid': 'admission-summary' }, '—');
  const body = h('tbody');
  const cols = ['Joining node', 'Power', 'Approved by', 'Approved power', 'Can join'];
  const rows = h('div', { class: 'table-wrap' }, h('table', { class: 'children', 'data-testid': 'admission' },
    h('caption', { class: 'visually-hidden' }, 'Open approvals'),
    h('thead', null, h('tr', null, ...cols.map((c) => h('th', { scope: 'col' }, c)))), body));
  const controls = h('div', { 'data-testid': 'admission-controls' });
  let poller: Poller | null = null;

  const key = input('joiner-key', 'Public key of the joining node (its GET /api/v1/node)', { maxlength: '64', spellcheck: 'false', pattern: '[0-9a-fA-F]{64}' });
  const power = input('joiner-power', 'Power', { type: 'number', min: '1', value: '1' });
  const approveForm = form('approve-form', 'Approve', [key.row, power.row], async () => {
    try {
      const r = await api.post<{ validUntil: number }>('/api/v1/ledger/validators/approve', { publicKey: key.el.value.trim(), power: Number(power.el.value) || 1 }, { signal });
      out.ok(`approval sent; valid until height ${r.validUntil}`);
      key.el.value = '';
      poller?.refresh();
    } catch (err) { out.fail(err); }
  }, signal);
  const joinForm = form('join-form', 'Join the validator set', [], async () => {
    try {
      await api.post('/api/v1/ledger/validators/join', { power: Number(power.el.value) || 1 }, { signal });
      out.ok('join sent; this node votes from the block after it');
    } catch (err) { out.fail(err); }
  }, signal);

  async function load(pollSignal: AbortSignal): Promise<void> {
    try {
      const a = await api.get<Admission>('/api/v1/ledger/admission', { signal: pollSignal });
      setText(summary, `A join needs approvals from validators holding more than 2/3 of the power (now ${a.totalPower}); approvals expire after at most ${a.ttlHeights} blocks; power 1–${a.maxJoinPower}.`);
      body.replaceChildren(...a.pending.map((p) => h('tr', { 'data-joiner': p.joiner, 'data-enough': String(p.enough) },
        td(cols[0]!, `${short(p.joinerNodeId)}${p.joiner === a.self.publicKey ? ' (this node)' : ''}`), td(cols[1]!, String(p.power)),
        td(cols[2]!, p.approvals.map((x) => short(x.approverNodeId)).join(', ')), td(cols[3]!, `${p.approvedPower} of ${a.totalPower}`),
        td(cols[4]!, p.enough ? 'yes' : 'not yet'))));
      if (a.pending.length === 0) body.replaceChildren(h('tr', null, h('td', { colspan: String(cols.length), class: 'muted' }, 'No open approvals.')));
      if (atLeast('admin')) controls.replaceChildren(h('h3', null, a.self.validator ? 'Approve a node joining' : 'Join the validator set'), a.self.validator ? approveForm : joinForm);
    } catch (err) {
      if (toApiError(err).code !== WEB_ERR_ABORTED) out.fail(err);
    }
  }
  poller = poll(load, 2000, signal);
  return { el: h('div', null, summary, rows, controls, out.el) };
}
