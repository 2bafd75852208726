// The chain page: height, this node's role, validators with power, PoOT score and credits,
// recent blocks with their proposers and finality, the anchor lookup with its proof, and
// validator admission (open approvals; approve a joining node / join, for admins).
// #/chain/anchor/<manifestHash> opens the lookup directly (the session page links there).
import { WEB_ERR_ABORTED, toApiError } from '../api.js';
import { createAnchorLookup } from '../components/anchor-proof.js';
import { createAdmission } from '../components/admission.js';
import { h, setAttr, setText } from '../dom.js';
import { relative } from '../format.js';
import type { Page, PageContext } from '../page.js';
import { poll } from '../poller.js';

interface LedgerStatus {
  chainId: string; height: number; headHash: string; headTime: number; slotMs: number; validators: number; totalPower: number;
  consensus: { height: number; round: number; step: string };
  node: { nodeId: string; validator: boolean; role: string };
  mempool: { transactions: number }; peers: unknown[]; multiNode: boolean;
}
interface ValidatorRow { publicKey: string; nodeId: string; power: number; rank: number; inCooldown: boolean; self: boolean; credits: number; signed: number; blocks: number; score: number }
interface BlockRow { height: number; round: number; time: number; proposerNodeId: string; txCount: number; anchors: number; signatures: number; finalityMs: number | null }

const short = (id: string): string => `${id.slice(0, 10)}…`;

function table(id: string, caption: string, columns: string[]): { el: HTMLElement; body: HTMLElement } {
  const body = h('tbody');
  const el = h('div', { class: 'table-wrap' }, h('table', { class: 'children', 'data-testid': id },
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', null, h('tr', null, ...columns.map((c) => h('th', { scope: 'col' }, c)))), body));
  return { el, body };
}

const cells = (columns: string[], values: string[]): HTMLElement[] => values.map((v, i) => h('td', { 'data-label': columns[i]! }, v));

function render(root: HTMLElement, ctx: PageContext): void {
  const fact = (label: string, id: string): [HTMLElement, HTMLElement] => {
    const dd = h('dd', { 'data-testid': id }, '—');
    return [h('div', null, h('dt', null, label), dd), dd];
  };
  const rows = {
    chain: fact('Chain', 'chain-id'), height: fact('Height', 'chain-height'), head: fact('Last block', 'chain-head'),
    consensus: fact('Consensus', 'chain-consensus'), role: fact('This node', 'chain-role'), net: fact('Network', 'chain-network'),
  };
  setAttr(rows.height[1], 'aria-live', 'polite');
  const vCols = ['Rank', 'Node', 'Power', 'Score', 'Credits', 'Signed', 'Cooldown'];
  const bCols = ['Height', 'Time', 'Proposer', 'Transactions', 'Anchors', 'Signatures', 'Finality'];
  const validators = table('validators', 'Validators', vCols);
  const blocks = table('blocks', 'Recent blocks', bCols);
  let powers = new Map<string, number>();
  const lookup = createAnchorLookup(ctx.api, ctx.signal, async () => {
    if (powers.size === 0) {
      const v = await ctx.api.get<{ validators: ValidatorRow[] }>('/api/v1/ledger/validators', { signal: ctx.signal });
      powers = new Map(v.validators.map((x) => [x.publicKey, x.power]));
    }
    return powers;
  });

  root.append(h('div', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', null, 'Chain')),
    h('section', { class: 'card', 'aria-labelledby': 'chain-title' }, h('h2', { id: 'chain-title' }, 'PoOT chain'),
      h('dl', { class: 'facts' }, ...Object.values(rows).map((r) => r[0]))),
    h('section', { class: 'section', 'aria-labelledby': 'anchor-title' }, h('h2', { id: 'anchor-title' }, 'Anchor lookup'), h('div', { class: 'card' }, lookup.el)),
    h('section', { class: 'section', 'aria-labelledby': 'val-title' }, h('h2', { id: 'val-title' }, 'Validators'), h('div', { class: 'card flush' }, validators.el)),
    h('section', { class: 'section', 'aria-labelledby': 'blk-title' }, h('h2', { id: 'blk-title' }, 'Recent blocks'), h('div', { class: 'card flush' }, blocks.el)),
    h('section', { class: 'section', 'aria-labelledby': 'adm-title' }, h('h2', { id: 'adm-title' }, 'Validator admission'), h('div', { class: 'card' }, createAdmission(ctx.api, ctx.signal).el)),
  ));

  poll(async (signal) => {
    try {
      const [s, v, b] = await Promise.all([
        ctx.api.get<LedgerStatus>('/api/v1/ledger/status', { signal }),
        ctx.api.get<{ validators: ValidatorRow[] }>('/api/v1/ledger/validators', { signal }),
        ctx.api.get<{ blocks: BlockRow[] }>('/api/v1/ledger/blocks?limit=10', { signal }),
      ]);
      ctx.connection.ok();
      const now = Date.now();
      setText(rows.chain[1], `${s.chainId}${s.multiNode ? '' : ' (standalone)'}`);
      setText(rows.height[1], String(s.height));
      setText(rows.head[1], s.height > 0 ? `${short(s.headHash)} · ${relative(s.headTime, now)}` : 'none yet');
      setText(rows.consensus[1], `height ${s.consensus.height}, round ${s.consensus.round}, ${s.consensus.step} · slot ${s.slotMs / 1000} s`);
      setText(rows.role[1], `${s.node.role} · ${short(s.node.nodeId)}`);
      setAttr(rows.role[1], 'data-role', s.node.role);
      setText(rows.net[1], `${s.validators} validators (power ${s.totalPower}) · ${s.peers.length} peers · ${s.mempool.transactions} waiting`);
      powers = new Map(v.validators.map((x) => [x.publicKey, x.power]));
      validators.body.replaceChildren(...v.validators.map((x) => h('tr', { 'data-self': x.self ? 'true' : null },
        ...cells(vCols, [String(x.rank), `${short(x.nodeId)}${x.self ? ' (this node)' : ''}`, String(x.power), x.score.toFixed(1), String(x.credits), `${x.signed} / ${x.blocks}`, x.inCooldown ? 'yes' : 'no']))));
      blocks.body.replaceChildren(...b.blocks.map((x) => h('tr', null,
        ...cells(bCols, [String(x.height), relative(x.time, now), short(x.proposerNodeId), String(x.txCount), String(x.anchors), String(x.signatures), x.finalityMs === null ? '—' : `${x.finalityMs} ms`]))));
    } catch (err) {
      const e = toApiError(err);
      if (e.code !== WEB_ERR_ABORTED) ctx.connection.failed(e);
    }
  }, 2000, ctx.signal);
  if (ctx.params['hash']) lookup.lookup(ctx.params['hash']);
}

export const chainPage: Page = { path: '/chain', title: 'Chain', render };
export const anchorPage: Page = { path: '/chain/anchor/:hash', title: 'Anchor', nav: false, render };
