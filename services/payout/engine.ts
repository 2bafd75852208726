// Moves approved payouts through build → sign → broadcast → confirm, one step at a time, each
// step ending in a durable write. Every step can be cut by a crash and redone from the record:
//
// - built:     nothing signed yet. Redone freely; a stale reference block means a new attempt.
// - signed:    the signature is on disk before anything is sent; re-sending the same bytes is
//              harmless (the node answers DUP, and a txid is paid at most once on chain).
// - broadcast: waits for 20 blocks over the transaction's block. If it vanishes (dropped, a
//              fork), it is re-sent while it can still be included; after its expiration has
//              passed by the node's own head time, and the node answers that it has no such
//              transaction, the attempt is abandoned and a new one built — only then.
// - A refusal that will not change (bad signature, contract error) fails the payout, but also
//   only once the attempt is proven dead; REVERT after 20 blocks fails it (no tokens moved).
import { LucidError, isLucidError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { buildTransfer } from './tron/builder.js';
import { checkHeaderFresh, checkTransfer, MAX_EXPIRATION_MS, type RefBlock } from './tron/check.js';
import type { TronNode } from './tron/node-client.js';
import { recoverSigner } from './tron/signature.js';
import { signedTransaction } from './tron/transaction.js';
import type { PayoutSigner } from './signing/signer.js';
import { checkAmount, checkDaily, type PayoutLimits } from './limits.js';
import type { Registry } from './registry.js';
import { current, type Attempt, type PayoutRecord } from './state/record.js';
import type { PayoutStore } from './state/store.js';

export interface EngineConfig {
  readonly contract: string;
  readonly feeLimit: number;
  /** Expiration of a transaction after its reference block. */
  readonly ttlMs: number;
  /** How old a reference block may be when we sign with it. */
  readonly maxRefAgeMs: number;
  readonly confirmations: number;
  readonly limits: PayoutLimits;
}

export interface EngineDeps {
  readonly store: PayoutStore;
  readonly registry: Registry;
  readonly node: TronNode;
  readonly signer: PayoutSigner;
  readonly config: EngineConfig;
  readonly log: Logger;
  readonly now: () => number;
  /** Test hook: named points where a test may kill the process (inert in production). */
  readonly crashPoint?: (name: string) => void;
  /** tronweb's offline build (tests put a tampering builder here to prove the check holds). */
  readonly build?: typeof buildTransfer;
}

/** Codes after which rebuilding cannot help: the payout fails once the attempt is dead. */
const FINAL_REFUSALS = new Set(['SIGERROR', 'CONTRACT_VALIDATE_ERROR', 'CONTRACT_EXE_ERROR', 'OTHER_ERROR', 'TOO_BIG_TRANSACTION_ERROR']);

export class PayoutEngine {
  /** Last error per payout (shown in the UI; the step is retried on the next tick). */
  readonly lastError = new Map<string, { code: string; message: string; at: number }>();

  constructor(private readonly d: EngineDeps) {}

  private crash(name: string): void { this.d.crashPoint?.(name); }

  /** One step for every payout that can move; errors are kept per payout, never thrown. */
  async tick(): Promise<void> {
    for (const r of this.d.store.all()) {
      if (!['approved', 'built', 'signed', 'broadcast'].includes(r.state)) continue;
      try {
        await this.step(r.id);
        this.lastError.delete(r.id);
      } catch (err) {
        const code = isLucidError(err) ? err.code : 'PAYOUT_ERR_NODE';
        this.lastError.set(r.id, { code, message: (err as Error).message, at: this.d.now() });
        this.d.log.warn({ payout: r.id, code, err: (err as Error).message }, 'payout step failed; retrying later');
      }
    }
  }

  /** Advances one payout until it waits on the chain, a person or an error. */
  async step(id: string): Promise<void> {
    for (let i = 0; i < 8; i++) {
      const r = this.d.store.get(id);
      if (!r) throw new LucidError('PAYOUT_ERR_NOT_FOUND', id);
      const before = `${r.state}:${r.attempts.length}`;
      switch (r.state) {
        case 'approved': await this.build(r); break;
        case 'built': await this.sign(r); break;
        case 'signed': await this.send(r); break;
        case 'broadcast': await this.confirm(r); break;
        default: return;
      }
      const after = this.d.store.get(id)!;
      if (`${after.state}:${after.attempts.length}` === before) return;
    }
  }

  private expected(r: PayoutRecord, a: Pick<Attempt, 'ref' | 'expiration'>, wallet: string): Parameters<typeof checkTransfer>[1] {
    return {
      owner: wallet, contract: this.d.config.contract, recipient: r.recipient, amount: BigInt(r.amount), feeLimit: this.d.config.feeLimit,
      ref: a.ref, expiration: a.expiration, maxRefAgeMs: this.d.config.maxRefAgeMs, now: this.d.now(),
    };
  }

  private async wallet(): Promise<string> {
    const w = await this.d.signer.address();
    if (!w) throw new LucidError('PAYOUT_ERR_NO_SIGNER');
    return w;
  }

  private async build(r: PayoutRecord): Promise<void> {
    checkAmount(BigInt(r.amount), this.d.config.limits);
    const registered = this.d.registry.address(r.operator);
    if (registered?.address !== r.recipient) {
      await this.fail(r, 'PAYOUT_ERR_ADDRESS_CHANGE', 'the operator\'s registered address changed after this payout was requested; nothing was signed');
      return;
    }
    const wallet = await this.wallet();
    const ref = await this.d.node.nowBlock();
    checkHeaderFresh(ref, this.d.now(), this.d.config.maxRefAgeMs);
    const expiration = ref.timestamp + Math.min(this.d.config.ttlMs, MAX_EXPIRATION_MS);
    const plan = { owner: wallet, contract: this.d.config.contract, recipient: r.recipient, amount: BigInt(r.amount), feeLimit: this.d.config.feeLimit, ref, expiration };
    const { rawData, txid } = await (this.d.build ?? buildTransfer)(plan);
    try {
      checkTransfer(rawData, this.expected(r, { ref, expiration }, wallet));
    } catch (err) {
      // tronweb built something else than asked: nothing was signed; a person must look.
      if (isLucidError(err) && (err.code === 'PAYOUT_ERR_TX_MISMATCH' || err.code === 'PAYOUT_ERR_TX_MALFORMED')) await this.fail(r, err.code, err.message);
      throw err;
    }
    const n = r.attempts.length + 1;
    await this.d.store.update(r.id, 'built', (x) => {
      x.attempts.push({ n, txid, rawData: Buffer.from(rawData).toString('hex'), ref, expiration, builtAt: this.d.now() });
    }, `attempt ${n}: ${txid}`);
    this.crash('built');
  }

  private async sign(r: PayoutRecord): Promise<void> {
    const a = current(r)!;
    const wallet = await this.wallet();
    const raw = Uint8Array.from(Buffer.from(a.rawData, 'hex'));
    try {
      checkTransfer(raw, this.expected(r, a, wallet));
    } catch (err) {
      if (isLucidError(err, 'PAYOUT_ERR_HEADER_EXPIRED')) {
        // Never signed, so it can never be on chain: drop it and build afresh.
        await this.d.store.update(r.id, 'approved', (x) => { current(x)!.outcome = 'abandoned'; current(x)!.note = 'reference block too old before signing'; });
        return;
      }
      throw err;
    }
    const day = checkDaily(this.d.store.all(), r, this.d.now(), this.d.config.limits);
    const signature = await this.d.signer.sign(raw, a.txid);
    if (recoverSigner(a.txid, signature) !== wallet) throw new LucidError('PAYOUT_ERR_SIGNER_MISMATCH', 'the signature does not recover to the payout wallet');
    this.crash('signed-not-recorded');
    await this.d.store.update(r.id, 'signed', (x) => {
      const c = current(x)!;
      c.signature = Buffer.from(signature).toString('hex');
      c.signedAt = this.d.now();
      x.signedDay ??= day;
    }, a.txid);
    this.crash('signed');
  }

  private signedHex(a: Attempt): string {
    return Buffer.from(signedTransaction(Buffer.from(a.rawData, 'hex'), Buffer.from(a.signature!, 'hex'))).toString('hex');
  }

  private async send(r: PayoutRecord): Promise<void> {
    const a = current(r)!;
    const result = await this.d.node.broadcastHex(this.signedHex(a));
    this.crash('sent-not-recorded');
    if (result.accepted || result.code === 'DUP_TRANSACTION_ERROR' || (await this.d.node.hasTransaction(a.txid))) {
      await this.d.store.update(r.id, 'broadcast', (x) => { current(x)!.broadcastAt = this.d.now(); }, a.txid);
      this.crash('broadcast');
      return;
    }
    await this.d.store.update(r.id, null, (x) => { current(x)!.note = `refused: ${result.code} ${result.message}`.trim(); });
    await this.settleDead(r.id, FINAL_REFUSALS.has(result.code) ? result.code : null);
  }

  private async confirm(r: PayoutRecord): Promise<void> {
    const a = current(r)!;
    const info = await this.d.node.transactionInfo(a.txid);
    const head = await this.d.node.nowBlock();
    if (!info) {
      if (head.timestamp <= a.expiration) {
        // Dropped from the node's pool, or orphaned: it may still be included. Re-send.
        await this.d.node.broadcastHex(this.signedHex(a));
        return;
      }
      await this.settleDead(r.id, null, head);
      return;
    }
    if (info.blockNumber !== a.blockNumber) await this.d.store.update(r.id, null, (x) => { current(x)!.blockNumber = info.blockNumber; });
    const confirmations = head.number - info.blockNumber + 1;
    if (confirmations < this.d.config.confirmations) return;
    if (info.result === 'SUCCESS') {
      await this.d.store.update(r.id, 'paid', (x) => { current(x)!.outcome = 'confirmed'; x.paidAt = this.d.now(); }, `${a.txid} in block ${info.blockNumber}`);
      this.crash('paid');
    } else {
      await this.d.store.update(r.id, 'failed', (x) => {
        current(x)!.outcome = 'reverted';
        x.failure = { code: info.result, reason: `the transaction ${a.txid} failed on chain (${info.result}); no tokens moved`, at: this.d.now() };
      }, info.result);
    }
  }

  /**
   * An attempt is dead when the node's head time is past its expiration and the node has no such
   * transaction: then it can never be included. Only then a new attempt is built (or, after a
   * final refusal, the payout fails).
   */
  private async settleDead(id: string, finalCode: string | null, knownHead?: RefBlock): Promise<void> {
    const r = this.d.store.get(id)!;
    const a = current(r)!;
    const head = knownHead ?? await this.d.node.nowBlock();
    if (head.timestamp <= a.expiration) return;
    if (await this.d.node.hasTransaction(a.txid) || await this.d.node.transactionInfo(a.txid)) return;
    if (finalCode) {
      await this.d.store.update(id, 'failed', (x) => {
        current(x)!.outcome = 'abandoned';
        x.failure = { code: finalCode, reason: `the node refused the transaction (${finalCode}); it expired unpaid`, at: this.d.now() };
      }, finalCode);
      return;
    }
    await this.d.store.update(id, 'approved', (x) => {
      current(x)!.outcome = 'abandoned';
      current(x)!.note = `expired at ${a.expiration}, absent at node head ${head.number}`;
    }, `attempt ${a.n} expired unpaid; rebuilding`);
    this.crash('abandoned');
  }

  private async fail(r: PayoutRecord, code: string, reason: string): Promise<void> {
    await this.d.store.update(r.id, 'failed', (x) => { x.failure = { code, reason, at: this.d.now() }; }, code);
  }
}
