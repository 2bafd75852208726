// The validity rule of payout statements (chain/statements.ts): a block carrying a `statement`
// transaction is valid only if its hash equals what the validator computes from the chain's own
// credits for that epoch — the next closed epoch to state, once; anything else is an invalid
// block with a coded reason, so honest validators never prevote it.
import { describe, expect, it } from 'vitest';
import { checkAndApply, InvalidBlock } from '../../../services/ledger/chain/apply.js';
import { encodeBlock, type Block } from '../../../services/ledger/codec/block.js';
import { signTx } from '../../../services/ledger/codec/tx.js';
import { merkleRoot } from '../../../services/common/merkle.js';
import { credits, epochOf } from '../../../services/ledger/chain/state.js';
import { statementDue, STATEMENT_MISMATCH, STATEMENT_INVALID } from '../../../services/ledger/chain/statements.js';
import { computeStatement, epochStatement, lineFromJson, statementDocument, statementHash, MICRO } from '../../../services/statement/index.js';
import { verifier, type Key } from './chain-kit.js';
import { CreditChain, hex } from './credits-kit.js';

const T0 = 1_000_000_000_000; // the kit's genesis time: 40 s into a one-minute epoch
const POOL = 1_000n * MICRO;

function chain(pool: bigint = POOL): CreditChain {
  return new CreditChain(4, { epochMs: 60_000, windowMs: 600_000, uptimeMaxGapMs: 30_000, ...(pool > 0n ? { payoutPool: Number(pool) } : {}) });
}

/** Blocks every 10 s until epoch `e`'s record is closed. */
function closeEpoch(c: CreditChain, e: number): void {
  while (c.state.epochs[String(e)]?.closedBy == null) c.block([]);
}

const stmtTx = (c: CreditChain, k: Key, epoch: number, hash: string): Buffer =>
  signTx(c.state.chainId, { type: 'statement', node: k.publicKey, epoch, hash: Buffer.from(hash, 'hex') }, k.sign);

/** States the first epoch (the genesis one: a block, no commit, so no credits) and returns its hash. */
function stateFirst(c: CreditChain): string {
  const E0 = epochOf(c.state.params, T0);
  closeEpoch(c, E0);
  const due = statementDue(c.state)!;
  expect(due.epoch).toBe(E0);
  c.block([stmtTx(c, c.ks[0]!, E0, due.hash)]);
  expect(c.state.stated?.carried).toEqual({});
  return due.hash;
}

/** A block the proposer made with exactly these transactions (a dishonest proposer skips the builder's checks). */
function forged(c: CreditChain, txs: Buffer[]): Buffer {
  const honest = c.build([]).applied.block;
  const block: Block = { ...honest, header: { ...honest.header, txRoot: merkleRoot(txs), txCount: txs.length }, txs };
  return encodeBlock(block);
}

describe('payout statements on chain: the validators\' rule', () => {
  it('the statement of a closed epoch is exactly the shared computation over the chain\'s credits; it becomes final once', () => {
    const c = chain();
    const E0 = epochOf(c.state.params, T0);
    c.block([]);
    expect(statementDue(c.state)).toBeNull(); // E0 still open
    // E0 holds one block and no commit (all of its pool is commission); E0 + 1 has everyone's credits.
    const prev = stateFirst(c);
    const E1 = E0 + 1;
    closeEpoch(c, E1);
    const due = statementDue(c.state)!;
    expect(due.epoch).toBe(E1);
    // Independently from the record: capped credits, uptime share in time, the genesis pool, what E0 carried out.
    const ep = c.state.epochs[String(E1)]!;
    const operators = Object.entries(ep.nodes).map(([operator, w]) => ({ operator, credits: credits(w, c.state.params).total, uptime: w.uptimeMs, window: ep.chainMs }));
    expect(operators.length).toBe(4);
    expect(operators.every((o) => o.credits > 0)).toBe(true);
    const doc = statementDocument(computeStatement({ epoch: E1, pool: POOL, operators, carriedIn: new Map() }), c.state.chainId, prev);
    expect(due.hash).toBe(statementHash(doc));

    const [a, b] = c.ks as [Key, Key];
    c.block([stmtTx(c, a, E1, due.hash)]);
    expect(c.state.stated).toMatchObject({ epoch: E1, hash: due.hash, height: c.state.height, txIndex: 0 });
    // Carried out by the chain = what the document carries out.
    const lines = doc.lines.map(lineFromJson);
    expect(lines.reduce((t, l) => t + l.payable + l.carriedOut, 0n) + BigInt(doc.totals['commission']!)).toBe(POOL);
    for (const l of lines) expect(BigInt(c.state.stated!.carried[l.operator] ?? '0')).toBe(l.carriedOut);
    // A second statement of E1 — another validator's, same hash — is invalid now; the builder drops it.
    expect(c.kept([stmtTx(c, b, E1, due.hash)])).toBe(0);
    expect(() => checkAndApply(c.state, forged(c, [stmtTx(c, b, E1, due.hash)]), { verifier, recentAnchors: c.anchors })).toThrow(new RegExp(`${STATEMENT_INVALID}.*stated already`));
    // Two in one block: only the first can be there.
    const c2 = chain();
    closeEpoch(c2, E0);
    const h2 = statementDue(c2.state)!.hash;
    expect(() => checkAndApply(c2.state, forged(c2, [stmtTx(c2, a, E0, h2), stmtTx(c2, b, E0, h2)]), { verifier, recentAnchors: c2.anchors })).toThrow(/transaction 1: LEDGER_ERR_STATEMENT_INVALID/);
    expect(c2.kept([stmtTx(c2, a, E0, h2), stmtTx(c2, b, E0, h2)])).toBe(1);
  });

  it('a false statement (a proposer inflating its own amount) makes the block invalid with LEDGER_ERR_STATEMENT_MISMATCH', () => {
    const c = chain();
    const E0 = epochOf(c.state.params, T0);
    const prev = stateFirst(c);
    closeEpoch(c, E0 + 1);
    const due = statementDue(c.state)!;
    const p = c.proposer();
    const ep = c.state.epochs[String(E0 + 1)]!;
    const inflated = Object.entries(ep.nodes).map(([operator, w]) => ({ operator, credits: credits(w, c.state.params).total * (operator === hex(p) ? 10 : 1), uptime: w.uptimeMs, window: ep.chainMs }));
    const lie = epochStatement({ chainId: c.state.chainId, epoch: E0 + 1, pool: POOL, operators: inflated, prev: { hash: prev, carried: new Map() } });
    expect(lie.hash).not.toBe(due.hash);
    const bad = forged(c, [stmtTx(c, p, E0 + 1, lie.hash)]);
    let err: unknown;
    try {
      checkAndApply(c.state, bad, { verifier, recentAnchors: c.anchors });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidBlock);
    expect((err as InvalidBlock).message).toContain(`${STATEMENT_MISMATCH}: statement of epoch ${E0 + 1} is ${lie.hash}, the chain's credits give ${due.hash}`);
    expect((err as InvalidBlock).txIndex).toBe(0);
    // The honest one from the same proposer is fine.
    expect(() => checkAndApply(c.state, forged(c, [stmtTx(c, p, E0 + 1, due.hash)]), { verifier, recentAnchors: c.anchors })).not.toThrow();
  });

  it('refused: an epoch not closed, a later epoch before an earlier one, a non-validator, a chain without a pool', () => {
    const c = chain();
    const [a] = c.ks as [Key];
    const E0 = epochOf(c.state.params, T0);
    c.block([]);
    const open = epochStatement({ chainId: c.state.chainId, epoch: E0, pool: POOL, operators: [], prev: null }).hash;
    expect(() => checkAndApply(c.state, forged(c, [stmtTx(c, a, E0, open)]), { verifier, recentAnchors: c.anchors })).toThrow(/LEDGER_ERR_STATEMENT_INVALID: epoch \d+ is not the next to state \(none is closed yet\)/);
    closeEpoch(c, E0 + 1);
    // E0 and E0 + 1 are closed: E0 + 1 cannot go first, even with its right hash computed on top of E0's.
    expect(() => checkAndApply(c.state, forged(c, [stmtTx(c, a, E0 + 1, open)]), { verifier, recentAnchors: c.anchors })).toThrow(new RegExp(`next: ${E0}`));
    const stranger = new CreditChain(5).ks[4]!;
    const h = statementDue(c.state)!.hash;
    expect(() => checkAndApply(c.state, forged(c, [stmtTx(c, stranger, E0, h)]), { verifier, recentAnchors: c.anchors })).toThrow(/not a validator/);
    // In order, each on the previous: E0, then E0 + 1 (carrying in what E0 carried out).
    c.block([stmtTx(c, a, E0, h)]);
    const next = statementDue(c.state)!;
    expect(next.epoch).toBe(E0 + 1);
    c.block([stmtTx(c, a, E0 + 1, next.hash)]);
    expect(c.state.stated!.epoch).toBe(E0 + 1);
    const noPool = chain(0n);
    closeEpoch(noPool, E0);
    expect(statementDue(noPool.state)).toBeNull();
    expect(() => checkAndApply(noPool.state, forged(noPool, [stmtTx(noPool, a, E0, h)]), { verifier, recentAnchors: noPool.anchors })).toThrow(/no payout pool/);
  });
});
