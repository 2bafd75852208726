// Payout statements in the simulation (issue 23): in the seeds that have them the genesis has a
// payout pool, every validator submits the statement of each closed epoch as the production
// service does (services/ledger/service.ts submitStatement), and in most of them one validator
// (< 1/3 of the power, not a twin) is a dishonest proposer: whenever a statement is due, the
// block it proposes carries a false one instead — its own credits inflated — signed with its key.
// Checked on the reference chain: no false statement ever in a final block, at most one statement
// per epoch and in epoch order, each final statement the one the chain's credits give.
import type { ChainState } from '../../../services/ledger/chain/state.js';
import { credits } from '../../../services/ledger/chain/state.js';
import type { Applied } from '../../../services/ledger/chain/apply.js';
import { decodeBlock, encodeBlock } from '../../../services/ledger/codec/block.js';
import { decodeTx, signTx } from '../../../services/ledger/codec/tx.js';
import { statementDue, statementPrecheck } from '../../../services/ledger/chain/statements.js';
import { merkleRoot } from '../../../services/common/merkle.js';
import type { Signer } from '../../../services/ledger/crypto.js';
import type { Tx } from '../../../services/ledger/codec/tx.js';
import { epochStatement, MICRO } from '../../../services/statement/index.js';

export const SIM_PAYOUT_POOL = Number(1_000n * MICRO);

export class StatementSim {
  /** Hashes of every false statement the liar put in a proposal. */
  readonly lies = new Set<string>();
  attempts = 0;
  final = 0;
  readonly violations: string[] = [];
  private lastEpoch = -1;

  /** What a node submits after each durable block (and at boot): the next due statement. */
  submit(state: ChainState, signer: Signer, submitTx: (tx: Buffer) => void): void {
    if (!state.validators.some((v) => v.publicKey === signer.publicKey.toString('hex'))) return;
    const due = statementDue(state);
    if (due) submitTx(signTx(state.chainId, { type: 'statement', node: signer.publicKey, epoch: due.epoch, hash: Buffer.from(due.hash, 'hex') }, signer.sign));
  }

  /** The mempool's door check, as production's. */
  static admissible(state: ChainState, tx: Tx): boolean {
    return tx.type !== 'statement' || statementPrecheck(state, tx) === null;
  }

  /**
   * The liar's block: any statement replaced by its own false one (its credits × 10 + 7) for the
   * epoch due; when none is due, a third of its blocks restate the last stated epoch inflated
   * (a second payout of an epoch). `chance` comes from the seed.
   */
  liar(signer: Signer, state: () => ChainState | undefined, chance: (p: number) => boolean): (bytes: Buffer) => Buffer | null {
    return (bytes) => {
      const st = state();
      let due = st ? statementDue(st) : null;
      let base = st;
      if (st && !due && st.stated && st.epochs[String(st.stated.epoch)] && chance(1 / 3)) {
        // Restating: computed as if the last statement had not been made (an honest-looking hash).
        base = { ...st, stated: undefined };
        due = { epoch: st.stated.epoch, hash: st.stated.hash };
      }
      if (!st || !base || !due) return null;
      const me = signer.publicKey.toString('hex');
      const ep = st.epochs[String(due.epoch)]!;
      const carried = new Map(Object.entries(base.stated?.carried ?? {}).map(([k, v]) => [k, BigInt(v)]));
      const operators = Object.entries(ep.nodes).map(([operator, w]) => ({ operator, credits: credits(w, st.params).total, uptime: w.uptimeMs, window: ep.chainMs }));
      if (!operators.some((o) => o.operator === me)) operators.push({ operator: me, credits: 0, uptime: 0, window: ep.chainMs });
      const inflated = operators.map((o) => (o.operator === me ? { ...o, credits: o.credits * 10 + 7 } : o));
      const lie = epochStatement({ chainId: st.chainId, epoch: due.epoch, pool: BigInt(SIM_PAYOUT_POOL), operators: inflated, prev: base.stated ? { hash: base.stated.hash, carried } : null });
      if (lie.hash === due.hash) return null;
      this.lies.add(lie.hash);
      this.attempts++;
      const b = decodeBlock(bytes);
      const txs = [...b.txs.filter((t) => t[1] !== 0x06), signTx(st.chainId, { type: 'statement', node: signer.publicKey, epoch: due.epoch, hash: Buffer.from(lie.hash, 'hex') }, signer.sign)];
      return encodeBlock({ ...b, header: { ...b.header, txRoot: merkleRoot(txs), txCount: txs.length }, txs });
    };
  }

  /** Every block of the reference chain: statements only true ones, once per epoch, in order. */
  onApplied(a: Applied): void {
    for (const bytes of a.block.txs) {
      const tx = decodeTx(bytes);
      if (tx.type !== 'statement') continue;
      const hash = tx.hash.toString('hex');
      if (this.lies.has(hash)) this.violations.push(`statement: a false statement of epoch ${tx.epoch} is final at h${a.block.header.height}`);
      if (tx.epoch <= this.lastEpoch) this.violations.push(`statement: epoch ${tx.epoch} stated again (or out of order) at h${a.block.header.height}`);
      if (a.state.stated?.hash !== hash || a.state.stated.epoch !== tx.epoch) this.violations.push(`statement: h${a.block.header.height} carries a statement the state did not take`);
      this.lastEpoch = tx.epoch;
      this.final++;
    }
  }
}
