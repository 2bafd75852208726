// The payout transaction decoded for the person about to approve it: recipient, amount, token
// contract, fee limit, expiration, reference block — decoded by the payout process from the
// raw bytes tronweb built, the same check it makes again before signing.
import { h } from '../dom.js';
import { when } from './form.js';

export interface Decoded { owner: string; recipient: string; amount: string; contract: string; feeLimit: number; expiration: number; refBlockBytes: string; refBlockHash: string }
export interface Preview { txid: string; rawData: string; decoded: Decoded; refBlock: number }

export const usdt = (micro: string): string => {
  const v = BigInt(micro);
  return `${(v / 1_000_000n).toLocaleString('en-US')}.${(v % 1_000_000n).toString().padStart(6, '0')} USDT`;
};

export function decodedTx(p: Preview | null, error: string | null): HTMLElement {
  if (!p) return h('p', { class: 'muted small', 'data-testid': 'tx-preview-error' }, `The transaction could not be built now (${error ?? 'unknown'}); it is built and checked again after approval.`);
  const d = p.decoded;
  const row = (k: string, v: string, id: string): HTMLElement => h('div', null, h('dt', null, k), h('dd', { class: 'mono', 'data-testid': `tx-${id}` }, v));
  return h('dl', { class: 'facts', 'data-testid': 'tx-preview' },
    row('From (payout wallet)', d.owner, 'owner'), row('To', d.recipient, 'recipient'), row('Amount', usdt(d.amount), 'amount'),
    row('Token contract', d.contract, 'contract'), row('Fee limit', `${(d.feeLimit / 1e6).toLocaleString('en-US')} TRX`, 'fee-limit'),
    row('Expires', when(d.expiration), 'expiration'), row('Reference block', `${p.refBlock} (${d.refBlockBytes}/${d.refBlockHash})`, 'ref'),
    row('Transaction id (this build)', p.txid, 'txid'));
}
