// One session: state, sizes, compression ratio, chunk count, Merkle root, manifest hash, its
// anchor on the chain (filled by the ledger), the last verify; actions (lifecycle, verify,
// download, delete). Polls every 2 s while the session can still change.
import { WEB_ERR_ABORTED, toApiError } from '../api.js';
import { h, setAttr, setText } from '../dom.js';
import { bytes, dateTime } from '../format.js';
import type { Page, PageContext } from '../page.js';
import { poll } from '../poller.js';
import type { SessionView, VerifyView } from '../types.js';

const TONES: Record<string, string> = { recording: 'ok', completed: 'ok', paused: 'warn', processing: 'warn', failed: 'crit' };

export function stateBadge(state: string): HTMLElement {
  return h('span', { class: 'pill', 'data-tone': TONES[state] ?? 'idle', 'data-testid': 'state-pill' }, state);
}

export function ratioText(ratio: number | null): string {
  return ratio === null ? '—' : `${ratio.toFixed(2)} : 1`;
}

const FIELDS = [
  ['State', 'state'], ['Received', 'received'], ['Stored', 'stored'], ['Chunks', 'chunk-count'], ['Compression', 'ratio'],
  ['Chunk size', 'chunk-size'], ['Cipher', 'cipher'], ['Labels', 'labels'], ['Created', 'created'], ['Completed', 'completed'],
  ['Merkle root', 'merkle-root'], ['Manifest hash', 'manifest-hash'], ['Anchor', 'anchor'], ['Last verify', 'last-verify'],
] as const;

/** "block H, tx i of n", linked to the chain page's offline-verifiable proof of the anchor. */
function renderAnchor(el: HTMLElement, s: SessionView): void {
  const a = s.anchor as { height?: unknown; txIndex?: unknown; txCount?: unknown } | null;
  const key = a ? `${String(a.height)}/${String(a.txIndex)}/${String(a.txCount)}` : s.manifestHash ? 'pending' : 'none';
  if (el.dataset['key'] === key) return;
  el.dataset['key'] = key;
  setAttr(el, 'data-anchored', String(a !== null));
  if (a && s.manifestHash) {
    const text = `block ${String(a.height)}, tx ${Number(a.txIndex) + 1} of ${String(a.txCount)}`;
    el.replaceChildren(h('a', { href: `#/chain/anchor/${s.manifestHash}`, title: `transaction index ${String(a.txIndex)} (0-based) in block ${String(a.height)}`, 'data-testid': 'anchor-link' }, text));
  } else {
    el.replaceChildren(s.manifestHash ? 'not anchored yet' : '—');
  }
}

function render(root: HTMLElement, ctx: PageContext): void {
  const id = ctx.params['id'] ?? '';
  const base = `/api/v1/sessions/${encodeURIComponent(id)}`;
  const values: Record<string, HTMLElement> = {};
  const facts = h('dl', { class: 'facts' });
  for (const [label, key] of FIELDS) {
    values[key] = h('dd', { 'data-testid': key, class: key === 'merkle-root' || key === 'manifest-hash' ? 'mono' : null }, '—');
    facts.append(h('div', null, h('dt', null, label), values[key]!));
  }
  const actions = h('div', { class: 'btn-group', 'data-testid': 'actions' });
  const verifyBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'verify-button' }, 'Verify');
  // A link cannot send the bearer header: a click asks for a 60 s token for that one path and
  // opens the path with ?token= (the content and manifest routes accept it, nothing else does).
  const download = h('button', { type: 'button', class: 'btn', 'data-testid': 'download-link', hidden: true }, 'Download');
  const manifest = h('button', { type: 'button', class: 'btn', 'data-testid': 'manifest-link', hidden: true }, 'Manifest');
  const open = async (path: string, attrs: Record<string, string>): Promise<void> => {
    const t = await ctx.api.post<{ url: string }>('/api/v1/auth/download-token', { path }, { signal: ctx.signal });
    const a = h('a', { href: t.url, ...attrs, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
  };
  const openFailed = (err: unknown): void => {
    const e = toApiError(err);
    setAttr(result, 'data-outcome', 'error');
    setText(result, `Download failed: ${e.message} [${e.code}]`);
  };
  download.addEventListener('click', () => void open(`${base}/content`, { download: `${id}.bin` }).catch(openFailed), { signal: ctx.signal });
  manifest.addEventListener('click', () => void open(`${base}/manifest`, { target: '_blank', rel: 'noopener' }).catch(openFailed), { signal: ctx.signal });
  const result = h('p', { class: 'small', 'data-testid': 'action-result', 'aria-live': 'polite' });
  const title = h('h1', null, 'Session');
  let current: SessionView | null = null;
  // A settled session (completed or deleted, anchor known) is not polled; an action re-reads it.
  let changed = false;

  const act = (label: string, run: () => Promise<unknown>): void => {
    for (const b of root.querySelectorAll<HTMLButtonElement>('button')) b.disabled = true;
    setAttr(result, 'data-outcome', null);
    setText(result, `${label}…`);
    run().then(() => {
      setAttr(result, 'data-outcome', 'ok');
      if (label !== 'Verify') setText(result, `${label}: done`);
    }, (err: unknown) => {
      const e = toApiError(err);
      setAttr(result, 'data-outcome', 'error');
      setText(result, `${label} failed: ${e.message} [${e.code}]`);
    }).finally(() => {
      for (const b of root.querySelectorAll<HTMLButtonElement>('button')) b.disabled = false;
      changed = true;
      poller.refresh();
    });
  };

  verifyBtn.addEventListener('click', () => act('Verify', async () => {
    const v = await ctx.api.post<VerifyView>(`${base}/verify`, undefined, { signal: ctx.signal, timeoutMs: 600_000 });
    setAttr(result, 'data-ok', String(v.ok));
    setText(result, v.ok ? `Verified ${v.chunkCount} chunks: all intact${v.rootMatches ? ', root matches the manifest' : ''}.`
      : `Bad chunks: ${v.bad.map((b) => `#${b.index} (${b.reason})`).join(', ')}${v.rootMatches === false ? '; the root does not match the manifest' : ''}.`);
  }), { signal: ctx.signal });

  const update = (s: SessionView): void => {
    current = s;
    setText(title, s.labels['name'] ?? `Session ${s.id.slice(0, 13)}`);
    values['state']!.replaceChildren(stateBadge(s.state), s.pausedReason ? ` (${s.pausedReason})` : '', s.failure ? ` — ${s.failure.message}` : '');
    setAttr(values['state']!, 'data-state', s.state);
    setText(values['received']!, `${bytes(s.received)} (${s.received} bytes)`);
    setText(values['stored']!, bytes(s.storedBytes));
    setText(values['chunk-count']!, String(s.chunkCount));
    setText(values['ratio']!, ratioText(s.compressionRatio));
    setText(values['chunk-size']!, bytes(s.chunkSize));
    setText(values['cipher']!, s.cipher);
    setText(values['labels']!, Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(', ') || '—');
    setText(values['created']!, dateTime(Date.parse(s.createdAt)));
    setText(values['completed']!, s.completedAt ? dateTime(Date.parse(s.completedAt)) : '—');
    setText(values['merkle-root']!, s.merkleRoot ?? 'after finalize');
    setText(values['manifest-hash']!, s.manifestHash ?? 'after finalize');
    // The ledger fills `anchor` once the manifest hash is final on the chain.
    renderAnchor(values['anchor']!, s);
    const lv = s.lastVerify;
    setText(values['last-verify']!, lv ? `${lv.ok ? 'intact' : `bad: ${lv.bad.map((b) => `#${b.index}`).join(', ')}`} (${dateTime(Date.parse(lv.at))})` : 'never');
    download.hidden = manifest.hidden = s.state !== 'completed';
    verifyBtn.hidden = s.state === 'deleted';
    const key = s.actions.join(',');
    if (actions.dataset['key'] !== key) {
      actions.dataset['key'] = key;
      actions.replaceChildren(...s.actions.map((a) => {
        const b = h('button', { type: 'button', class: a === 'delete' ? 'btn danger' : 'btn', 'data-testid': `action-${a}` }, a[0]!.toUpperCase() + a.slice(1));
        b.addEventListener('click', () => {
          if (a === 'delete' && !confirm('Delete this session? Its data key is destroyed: the data cannot be recovered.')) return;
          act(b.textContent ?? a, () => (a === 'delete' ? ctx.api.del(base, { signal: ctx.signal }) : ctx.api.post(`${base}/${a}`, undefined, { signal: ctx.signal, timeoutMs: 120_000 })));
        }, { signal: ctx.signal });
        return b;
      }));
    }
  };

  const poller = poll(async (signal) => {
    if (!changed && current && (current.state === 'deleted' || (current.state === 'completed' && current.anchor))) return;
    changed = false;
    try {
      const s = await ctx.api.get<SessionView>(base, { signal });
      ctx.connection.ok();
      update(s);
    } catch (err) {
      const e = toApiError(err);
      if (e.code === WEB_ERR_ABORTED) return;
      if (e.statusCode === 404 || e.statusCode === 400) setText(title, `No session ${id}`);
      else ctx.connection.failed(e);
    }
  }, 2000, ctx.signal);

  root.append(h('div', { class: 'page', 'data-testid': 'session-detail', 'data-id': id },
    h('div', { class: 'page-head' }, title, h('a', { href: '#/sessions', class: 'small' }, '← All sessions')),
    h('section', { class: 'card', 'aria-labelledby': 'facts-title' }, h('h2', { id: 'facts-title' }, 'Session'), h('p', { class: 'mono small muted' }, id), facts),
    h('section', { class: 'section', 'aria-labelledby': 'actions-title' }, h('h2', { id: 'actions-title' }, 'Actions'),
      h('div', { class: 'btn-row' }, actions, verifyBtn, download, manifest), result)));
}

export const sessionDetailPage: Page = { path: '/sessions/:id', title: 'Session', nav: false, render };
