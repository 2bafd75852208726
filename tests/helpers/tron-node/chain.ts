// The state of the TRON node double: blocks, the pending pool, included transactions with their
// receipts, TRC-20 balances, and counters of every broadcast per txid. Transfers are applied
// when a block includes them (REVERT when the sender lacks the tokens); a "fork" includes a
// transaction and then orphans its block, so it never confirms; a "drop" pools it and never
// includes it; a "late" one is included only 30 blocks after it arrived (a slow network: it
// looks lost, then lands). Rules follow java-tron (notes §3.1): TAPOS against the last 65,536 blocks,
// head time < expiration ≤ head time + 24 h, signatures recovered to the owner.
import { createHash } from 'node:crypto';
import { decodeSigned, transferCall, type DecodedTx } from './tx-codec.js';

export interface Block { readonly number: number; readonly id: string; readonly timestamp: number; readonly parentHash: string; readonly txids: string[] }
export interface Included { readonly tx: DecodedTx; blockNumber: number; readonly result: 'SUCCESS' | 'REVERT' | 'OUT_OF_ENERGY'; readonly fee: number }
export interface Transfer { readonly txid: string; readonly from: string; readonly to: string; readonly amount: bigint; readonly block: number }
export type BroadcastCode = 'SUCCESS' | 'SIGERROR' | 'TAPOS_ERROR' | 'TRANSACTION_EXPIRATION_ERROR' | 'DUP_TRANSACTION_ERROR' | 'CONTRACT_VALIDATE_ERROR' | 'OTHER_ERROR';

const MAX_EXPIRATION_MS = 24 * 3600 * 1000;

export class TronChain {
  readonly blocks: Block[] = [];
  readonly pool = new Map<string, { tx: DecodedTx; fate: 'include' | 'drop' | 'fork' | 'late'; arrived: number }>();
  readonly included = new Map<string, Included>();
  readonly balances = new Map<string, bigint>();
  readonly trx = new Map<string, number>();
  readonly broadcasts = new Map<string, number>();
  /** Every broadcast per recipient of its transfer (a payout's idempotency key names one recipient), per txid. */
  private readonly sentTo = new Map<string, Map<string, number>>();
  readonly transfers: Transfer[] = [];
  /** Next accepted broadcasts: pooled but never included ('drop'), included then orphaned ('fork'), included 30 blocks late ('late'). */
  readonly fates: Array<'drop' | 'fork' | 'late'> = [];
  private readonly forks: Array<{ txid: string; orphanAt: number }> = [];
  /** Orphaned by a fork: accepted again if re-sent, but never included (it "never confirms"). */
  private readonly orphaned = new Set<string>();

  constructor(readonly usdt: string, private readonly now: () => number = Date.now, genesisBlocks = 30) {
    for (let i = 0; i < genesisBlocks; i++) this.mine();
  }

  get head(): Block { return this.blocks[this.blocks.length - 1]!; }

  balanceOf(address: string): bigint { return this.balances.get(address) ?? 0n; }
  setBalance(address: string, amount: bigint): void { this.balances.set(address, amount); }
  broadcastCount(txid: string): number { return this.broadcasts.get(txid) ?? 0; }
  /** Broadcasts of transfers to `address`: txid → how many times it was sent. */
  broadcastsTo(address: string): ReadonlyMap<string, number> { return this.sentTo.get(address) ?? new Map(); }

  mine(count = 1): void {
    for (let k = 0; k < count; k++) {
      const parent = this.blocks[this.blocks.length - 1];
      const number = (parent?.number ?? -1) + 1;
      const timestamp = Math.max((parent?.timestamp ?? 0) + 1, this.now());
      const txids: string[] = [];
      for (const [txid, p] of this.pool) {
        if (p.tx.expiration <= timestamp) { this.pool.delete(txid); continue; }
        if (p.fate === 'drop' || (p.fate === 'late' && number < p.arrived + 30)) continue;
        txids.push(txid);
        this.pool.delete(txid);
        this.include(p.tx, number);
        if (p.fate === 'fork') this.forks.push({ txid, orphanAt: number + 2 });
      }
      const parentHash = parent?.id ?? '0'.repeat(64);
      const digest = createHash('sha256').update(`${number}|${parentHash}|${timestamp}|${txids.join(',')}`).digest('hex');
      this.blocks.push({ number, id: number.toString(16).padStart(16, '0') + digest.slice(16), timestamp, parentHash, txids });
      for (const f of this.forks.filter((x) => x.orphanAt === number)) this.orphan(f.txid);
    }
  }

  private include(tx: DecodedTx, blockNumber: number): void {
    const call = transferCall(tx.data);
    let result: Included['result'] = 'REVERT';
    if (tx.feeLimit < 1_000_000) result = 'OUT_OF_ENERGY';
    else if (call && this.balanceOf(tx.owner) >= call.amount) {
      this.balances.set(tx.owner, this.balanceOf(tx.owner) - call.amount);
      this.balances.set(call.to, this.balanceOf(call.to) + call.amount);
      this.transfers.push({ txid: tx.txid, from: tx.owner, to: call.to, amount: call.amount, block: blockNumber });
      result = 'SUCCESS';
    }
    this.included.set(tx.txid, { tx, blockNumber, result, fee: 345_000 });
  }

  /** A reorganisation drops the block's transaction: its transfer is undone, it never comes back. */
  private orphan(txid: string): void {
    const inc = this.included.get(txid);
    if (!inc) return;
    this.included.delete(txid);
    this.orphaned.add(txid);
    const i = this.transfers.findIndex((t) => t.txid === txid);
    if (i >= 0) {
      const t = this.transfers[i]!;
      this.balances.set(t.to, this.balanceOf(t.to) - t.amount);
      this.balances.set(t.from, this.balanceOf(t.from) + t.amount);
      this.transfers.splice(i, 1);
    }
  }

  broadcast(hex: string): { code: BroadcastCode; txid: string | null; message?: string; tx?: DecodedTx } {
    let tx: DecodedTx;
    try {
      tx = decodeSigned(hex);
    } catch (err) {
      return { code: 'OTHER_ERROR', txid: null, message: (err as Error).message };
    }
    this.broadcasts.set(tx.txid, this.broadcastCount(tx.txid) + 1);
    const to = transferCall(tx.data)?.to;
    if (to) {
      const sent = this.sentTo.get(to) ?? new Map<string, number>();
      sent.set(tx.txid, (sent.get(tx.txid) ?? 0) + 1);
      this.sentTo.set(to, sent);
    }
    const head = this.head;
    if (tx.signer !== tx.owner) return { code: 'SIGERROR', txid: tx.txid, message: 'validate signature error' };
    const ref = this.blocks.slice(-65_536).find((b) => (b.number & 0xffff).toString(16).padStart(4, '0') === tx.refBlockBytes && b.id.slice(16, 32) === tx.refBlockHash);
    if (!ref) return { code: 'TAPOS_ERROR', txid: tx.txid, message: `Tapos check error` };
    if (tx.expiration <= head.timestamp || tx.expiration > head.timestamp + MAX_EXPIRATION_MS) {
      return { code: 'TRANSACTION_EXPIRATION_ERROR', txid: tx.txid, message: 'transaction expired' };
    }
    if (tx.contractType !== 31 || tx.contract !== this.usdt) return { code: 'CONTRACT_VALIDATE_ERROR', txid: tx.txid, message: 'No contract or not a smart contract' };
    if (this.pool.has(tx.txid) || this.included.has(tx.txid)) return { code: 'DUP_TRANSACTION_ERROR', txid: tx.txid, message: 'dup transaction' };
    this.pool.set(tx.txid, { tx, fate: this.orphaned.has(tx.txid) ? 'drop' : this.fates.shift() ?? 'include', arrived: head.number });
    return { code: 'SUCCESS', txid: tx.txid, tx };
  }
}
