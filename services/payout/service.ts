// The payout process's service: its durable parts (instance id, approver and address registry,
// statements, payout records, keystore), the engine ticking in the background, and the ops of
// the protocol. Every op that changes something runs in one queue, so N parallel requests give
// the result of N sequential ones (the engine's ticks run in the same queue).
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LucidError, errnoCode } from '../common/errors.js';
import { mkdirDurable, writeFileAtomic } from '../common/fs-atomic.js';
import type { Logger } from '../common/log.js';
import { PayoutEngine, type EngineConfig, type EngineDeps } from './engine.js';
import { approvalsNeeded, checkAmount, signedOn } from './limits.js';
import { payoutApprovalText } from './messages.js';
import type { Op } from './protocol.js';
import { approversOf, Registry } from './registry.js';
import { Keystore } from './signing/keystore.js';
import type { PayoutSigner } from './signing/signer.js';
import { StatementBook, type CreditVerifier } from './statement/book.js';
import { PayoutStore } from './state/store.js';
import { payoutId, utcDay, type PayoutRecord } from './state/record.js';
import type { TronNode } from './tron/node-client.js';
import { buildTransfer } from './tron/builder.js';
import { decodeTransfer } from './tron/transaction.js';
import { opHandlers } from './ops.js';

export interface PayoutServiceDeps {
  readonly dataDir: string;
  readonly engine: EngineConfig;
  readonly node: TronNode;
  readonly nodeUrl: string;
  /** Builds the signer once the keystore exists (the entry decides keystore or Ledger). */
  readonly makeSigner: (keystore: Keystore) => PayoutSigner;
  readonly verifier: CreditVerifier;
  readonly pollMs: number;
  readonly unlockMs: number;
  readonly log: Logger;
  readonly now?: () => number;
  readonly crashPoint?: (name: string) => void;
  /** Ledger only: reads the device's address (shown on it) for `ledger.setup`. */
  readonly ledgerAddress?: () => Promise<string>;
  /** Replaces tronweb's build (tests: a tampering builder). */
  readonly build?: EngineDeps['build'];
}

export class PayoutService {
  readonly now: () => number;
  instance = '';
  readonly registry: Registry;
  readonly book: StatementBook;
  readonly store: PayoutStore;
  readonly keystore: Keystore;
  readonly signer: PayoutSigner;
  readonly engine: PayoutEngine;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(readonly deps: PayoutServiceDeps) {
    this.now = deps.now ?? Date.now;
    this.registry = new Registry(join(deps.dataDir, 'registry.json'), () => this.instance, this.now);
    this.book = new StatementBook(join(deps.dataDir, 'statements'), deps.verifier, undefined, this.now);
    this.store = new PayoutStore(join(deps.dataDir, 'payouts'), this.now);
    this.keystore = new Keystore(join(deps.dataDir, 'keystore.json'), this.now);
    this.signer = deps.makeSigner(this.keystore);
    this.engine = new PayoutEngine({
      store: this.store, registry: this.registry, node: deps.node, signer: this.signer, config: deps.engine, log: deps.log, now: this.now,
      ...(deps.crashPoint ? { crashPoint: deps.crashPoint } : {}),
      ...(deps.build ? { build: deps.build } : {}),
    });
  }

  async start(): Promise<void> {
    await mkdirDurable(this.deps.dataDir);
    this.instance = await this.loadInstance();
    await this.registry.load();
    await this.book.load();
    await this.store.load();
    const schedule = (): void => {
      if (this.stopped) return;
      this.timer = setTimeout(() => { void this.serial(() => this.engine.tick()).finally(schedule); }, this.deps.pollMs);
    };
    // Resume whatever a crash interrupted, at once.
    void this.serial(() => this.engine.tick()).finally(schedule);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.keystore.lock();
    await this.queue.catch(() => undefined);
  }

  /** Runs `fn` after everything queued before it. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  handle(op: Op, args: unknown): Promise<unknown> {
    return opHandlers(this)[op](args as never);
  }

  private async loadInstance(): Promise<string> {
    const path = join(this.deps.dataDir, 'instance');
    try {
      return (await readFile(path, 'utf8')).trim();
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    const id = randomUUID();
    await writeFileAtomic(path, `${id}\n`, { mode: 0o600 });
    return id;
  }

  async wallet(): Promise<string> {
    const w = await this.signer.address();
    if (!w) throw new LucidError('PAYOUT_ERR_NO_SIGNER');
    return w;
  }

  record(id: string): PayoutRecord {
    const r = this.store.get(id);
    if (!r) throw new LucidError('PAYOUT_ERR_NOT_FOUND', `no payout ${id}`);
    return r;
  }

  async approvalText(r: PayoutRecord): Promise<string> {
    return payoutApprovalText({
      instance: this.instance, wallet: await this.wallet(), chainId: this.book.get(r.epoch)?.document.chainId ?? '',
      payoutId: r.id, statementHash: r.statementHash, recipient: r.recipient, amount: BigInt(r.amount), round: r.round ?? 1,
    });
  }

  /**
   * A failed payout requested again: a new round to the operator's current registered address,
   * without approvals (approvers sign the new round). Only when no attempt can still pay: each
   * was proven dead (abandoned after expiry and absence, or reverted on chain) or never signed.
   */
  async retry(id: string): Promise<PayoutRecord> {
    const r = this.record(id);
    if (r.state !== 'failed') throw new LucidError('PAYOUT_ERR_STATE', `payout ${id} is ${r.state}; only a failed payout is requested again`, { state: r.state });
    const live = r.attempts.find((a) => a.signature !== undefined && a.outcome !== 'abandoned' && a.outcome !== 'reverted');
    if (live) throw new LucidError('PAYOUT_ERR_STATE', `attempt ${live.n} (${live.txid}) is not proven dead`, { state: r.state });
    const addr = this.registry.address(r.operator);
    if (!addr) throw new LucidError('PAYOUT_ERR_ADDRESS_NOT_REGISTERED', `operator ${r.operator} has no payout address`, { operator: r.operator });
    return this.store.update(id, 'requested', (x) => {
      x.round = (x.round ?? 1) + 1;
      x.recipient = addr.address;
      x.approvals = [];
      for (const a of x.attempts) a.outcome ??= 'abandoned';
      delete x.failure;
    }, `round ${(r.round ?? 1) + 1}`);
  }

  /** A payout request from a stated, payable line to the operator's registered address. */
  async request(epoch: number, operator: string): Promise<PayoutRecord> {
    // Only a statement the chain made final (its hash anchored, > 2/3 of the validators): else
    // PAYOUT_ERR_STATEMENT / PAYOUT_ERR_STATEMENT_NOT_ANCHORED, and nothing exists to sign.
    const stmt = this.book.anchored(epoch);
    const line = this.book.line(epoch, operator);
    if (!line || line.payable === 0n) throw new LucidError('PAYOUT_ERR_BELOW_MINIMUM', `nothing payable to ${operator} for epoch ${epoch}`);
    checkAmount(line.payable, this.deps.engine.limits);
    const addr = this.registry.address(operator);
    if (!addr) throw new LucidError('PAYOUT_ERR_ADDRESS_NOT_REGISTERED', `operator ${operator} has no payout address`, { operator });
    const now = this.now();
    const r: PayoutRecord = {
      id: payoutId(epoch, operator), epoch, operator, recipient: addr.address, amount: String(line.payable), statementHash: stmt.hash,
      requestedAt: now, state: 'requested', approvals: [], attempts: [], history: [{ state: 'requested', at: now }],
    };
    await this.store.create(r);
    this.deps.crashPoint?.('requested');
    return r;
  }

  /**
   * Adds approvers' signatures. Every signature must verify over this payout's text and come
   * from an enrolled approver; two distinct ones are needed from 5,000 USDT. Signatures are kept
   * even when one is still missing (the next call needs only the second).
   */
  async approve(id: string, signatures: readonly string[]): Promise<PayoutRecord> {
    const r = this.record(id);
    if (r.state !== 'requested') throw new LucidError('PAYOUT_ERR_STATE', `payout ${id} is ${r.state}`, { state: r.state });
    const amount = BigInt(r.amount);
    checkAmount(amount, this.deps.engine.limits);
    if (this.registry.address(r.operator)?.address !== r.recipient) {
      throw new LucidError('PAYOUT_ERR_ADDRESS_CHANGE', 'the operator\'s registered address changed since this payout was requested');
    }
    const text = await this.approvalText(r);
    const fresh = approversOf(text, signatures, this.registry.enrolled());
    const known = new Set(r.approvals.map((a) => a.approver));
    const added = fresh.filter((a) => !known.has(a));
    if (added.length === 0 && fresh.length > 0 && r.approvals.length > 0) {
      throw new LucidError('PAYOUT_ERR_SAME_APPROVER', `${fresh[0]} approved this payout already`, { signer: fresh[0] });
    }
    const all = [...r.approvals, ...added.map((approver) => ({ approver, signature: signatures[fresh.indexOf(approver)]!, at: this.now() }))];
    const needed = approvalsNeeded(amount, this.deps.engine.limits);
    const done = all.length >= needed;
    const next = await this.store.update(id, done ? 'approved' : null, (x) => { x.approvals = all; }, done ? all.map((a) => a.approver).join(', ') : undefined);
    if (done) this.deps.crashPoint?.('approved');
    if (!done) throw new LucidError('PAYOUT_ERR_SECOND_APPROVAL', `payouts from ${this.deps.engine.limits.secondApprovalFrom / 1_000_000n} USDT need a second enrolled approver`, { have: all.length, needed });
    return next;
  }

  /** What the transaction would be, built and decoded now (it is rebuilt after approval). */
  async preview(id: string): Promise<Record<string, unknown>> {
    const r = this.record(id);
    const ref = await this.deps.node.nowBlock();
    const expiration = ref.timestamp + this.deps.engine.ttlMs;
    const { rawData, txid } = await buildTransfer({
      owner: await this.wallet(), contract: this.deps.engine.contract, recipient: r.recipient, amount: BigInt(r.amount), feeLimit: this.deps.engine.feeLimit, ref, expiration,
    });
    const t = decodeTransfer(rawData);
    return { txid, rawData: Buffer.from(rawData).toString('hex'), decoded: { ...t, amount: String(t.amount) }, refBlock: ref.number };
  }

  dailyUsed(): bigint { return signedOn(this.store.all(), utcDay(this.now())); }
}
