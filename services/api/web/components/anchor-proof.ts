// Looks up a manifest's anchor and checks its proof in the browser with WebCrypto SHA-256:
// leaf = H(0x00 ‖ tx), the RFC 6962 path to the header's txRoot, the header's hash (SHA-256 of
// its canonical bytes) against the commit, and the commit's signers' power. (Ed25519 signature
// checks need WebCrypto Ed25519, which not every browser has: the page counts them; the README's
// offline check verifies them.)
import { toApiError, type Api } from '../api.js';
import { h, setAttr, setText } from '../dom.js';

export interface AnchorProofJson {
  height: number; txIndex: number; txCount: number; tx: string; path: string[];
  header: { chainId: string; time: number; txRoot: string; hash: string; bytes: string };
  commit: { round: number; blockHash: string; signatures: Array<{ validator: string }> };
}

const hex = (b: ArrayBuffer): string => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');
const unhex = (s: string): Uint8Array => new Uint8Array((s.match(/../g) ?? []).map((x) => parseInt(x, 16)));
const sha = async (...parts: Uint8Array[]): Promise<Uint8Array> => {
  const all = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { all.set(p, o); o += p.length; }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', all));
};

/** RFC 9162 §2.1.3.2 in the browser; true when the path from the tx reaches the header's txRoot. */
export async function checkPath(p: AnchorProofJson): Promise<boolean> {
  const tx = Uint8Array.from(atob(p.tx), (c) => c.charCodeAt(0));
  let r = await sha(Uint8Array.of(0), tx);
  let fn = p.txIndex;
  let sn = p.txCount - 1;
  for (const s of p.path.map(unhex)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await sha(Uint8Array.of(1), s, r);
      while (fn % 2 === 0 && fn !== 0) { fn >>= 1; sn >>= 1; }
    } else {
      r = await sha(Uint8Array.of(1), r, s);
    }
    fn >>= 1; sn >>= 1;
  }
  return sn === 0 && hex(r.buffer as ArrayBuffer) === p.header.txRoot;
}

export function createAnchorLookup(api: Api, signal: AbortSignal, validators: () => Promise<Map<string, number>>): { el: HTMLElement; lookup(hash: string): void } {
  const input = h('input', { id: 'anchor-hash', type: 'text', spellcheck: 'false', autocomplete: 'off', placeholder: '64 hex characters', 'data-testid': 'anchor-input', pattern: '[0-9a-fA-F]{64}', required: true, class: 'mono' });
  const result = h('div', { 'data-testid': 'anchor-result', 'aria-live': 'polite' });
  const form = h('form', { class: 'btn-row', 'data-testid': 'anchor-form' },
    h('label', { for: 'anchor-hash' }, 'Manifest hash'), input, h('button', { class: 'btn', type: 'submit', 'data-testid': 'anchor-lookup' }, 'Look up'));
  const row = (label: string, value: string, id: string): HTMLElement => h('div', null, h('dt', null, label), h('dd', { 'data-testid': id, class: 'mono' }, value));

  const lookup = async (raw: string): Promise<void> => {
    const hash = raw.trim().toLowerCase();
    input.value = hash;
    if (!/^[0-9a-f]{64}$/.test(hash)) {
      setAttr(result, 'data-outcome', 'invalid');
      setText(result, 'A manifest hash is 64 hex characters.');
      return;
    }
    setAttr(result, 'data-outcome', 'loading');
    setText(result, 'Looking up…');
    try {
      const p = await api.get<AnchorProofJson>(`/api/v1/anchors/${hash}`, { signal });
      const pathOk = await checkPath(p);
      const headerOk = hex((await sha(unhex(p.header.bytes))).buffer as ArrayBuffer) === p.header.hash && p.header.hash === p.commit.blockHash;
      const powers = await validators();
      const total = [...powers.values()].reduce((a, b) => a + b, 0);
      const signed = p.commit.signatures.reduce((a, s) => a + (powers.get(s.validator) ?? 0), 0);
      const quorum = total > 0 && 3 * signed > 2 * total;
      const ok = pathOk && headerOk && quorum;
      setAttr(result, 'data-outcome', ok ? 'verified' : 'failed');
      result.replaceChildren(
        h('p', { class: 'pill', 'data-tone': ok ? 'ok' : 'crit', 'data-testid': 'anchor-verdict' }, ok ? 'Anchored in a final block — proof checks out' : 'Proof does NOT check out'),
        h('dl', { class: 'facts' },
          row('Block', `${p.height} (round ${p.commit.round})`, 'anchor-height'),
          row('Position', `transaction ${p.txIndex + 1} of ${p.txCount}`, 'anchor-position'),
          row('Block hash', p.header.hash, 'anchor-block-hash'),
          row('Transaction root', p.header.txRoot, 'anchor-tx-root'),
          row('Path', `${p.path.length} hashes, ${pathOk ? 'reaches the root' : 'does not reach the root'}`, 'anchor-path'),
          row('Header', headerOk ? 'hash matches the commit' : 'hash does not match', 'anchor-header'),
          row('Commit', `${p.commit.signatures.length} signatures, power ${signed} of ${total}${quorum ? ' (> 2/3)' : ''}`, 'anchor-commit'),
          row('Block time', new Date(p.header.time).toLocaleString(), 'anchor-time'),
        ),
      );
    } catch (err) {
      const e = toApiError(err);
      const missing = e.code === 'LEDGER_ERR_ANCHOR_NOT_FOUND';
      setAttr(result, 'data-outcome', missing ? 'not-found' : 'error');
      setText(result, missing ? 'Not anchored in a final block yet.' : `${e.message} [${e.code}]`);
    }
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); void lookup(input.value); }, { signal });
  return { el: h('div', null, form, result), lookup: (x) => void lookup(x) };
}
