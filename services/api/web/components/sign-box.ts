// What a person signs with their TRON wallet (TIP-191, signMessageV2): the exact text, shown in
// full, and a signature field — filled by the browser's wallet extension (TronLink) when there
// is one, else pasted from any wallet. Used for payout approvals, approver enrollments and
// payout-address changes; the payout process verifies every signature itself.
import { h } from '../dom.js';
import { button } from './form.js';

interface TronLink { trx?: { signMessageV2?: (message: string) => Promise<string> } }

export function walletExtension(): TronLink['trx'] | null {
  const tron = (window as unknown as { tronWeb?: TronLink }).tronWeb;
  return tron?.trx?.signMessageV2 ? tron.trx : null;
}

export interface SignBox {
  readonly el: HTMLElement;
  /** Signatures entered so far (one per line in the field). */
  signatures(): string[];
}

export function signBox(testId: string, text: string, signal: AbortSignal, label = 'Signature (0x…, from signMessageV2)'): SignBox {
  // A textarea: several approvers' signatures go one per line.
  const name = `${testId}-signature`;
  const el = h('textarea', { name, id: `f-${name}`, 'data-testid': `input-${name}`, rows: 2, spellcheck: 'false', autocomplete: 'off', class: 'mono small' });
  const sig = { el, row: h('label', { class: 'field', for: `f-${name}` }, h('span', null, label), el) };
  const sign = walletExtension()
    ? button('Sign with my wallet', `${testId}-sign`, async () => {
      const s = await walletExtension()!.signMessageV2!(text);
      sig.el.value = sig.el.value.trim() ? `${sig.el.value.trim()}\n${s}` : s;
    }, signal)
    : h('p', { class: 'muted small' }, 'No wallet extension here: sign the text with your TRON wallet (signMessageV2) and paste the signature.');
  return {
    el: h('div', { class: 'sign-box', 'data-testid': testId },
      h('pre', { class: 'mono small sign-text', 'data-testid': `${testId}-text` }, text), sign, sig.row),
    signatures: () => sig.el.value.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean),
  };
}
