// The statements the payout process accepted, one file per epoch in its own data directory.
// It never takes a statement from core: it takes the epoch's credit set, has it verified
// (`CreditVerifier`), and computes the statement itself — carrying in what the previous
// statement carried out. An epoch is stated once: the same credit set again answers the same
// statement; a different one is PAYOUT_ERR_STATEMENT (core cannot restate what was owed).
//
// Anchoring (README "Anchoring"): a statement is paid only once the chain made the same hash
// final — the proof of its `statement` transaction (inclusion in a block, the block's commit) is
// checked here (services/statement/anchor-proof.ts) against the validator set pinned from the
// last anchored statement (the first one: trust on first use, like the first approver).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LucidError } from '../../common/errors.js';
import { mkdirDurable, writeFileAtomic } from '../../common/fs-atomic.js';
import {
  carriedOut, epochStatement, lineFromJson, statementHash, verifyStatementAnchor, DEFAULT_STATEMENT_PARAMS,
  type OperatorCredits, type PinnedValidators, type StatementAnchorProof, type StatementDocument, type StatementParams,
} from '../../statement/index.js';

/** One epoch's verified work credits, as core sends them (and, with a proof, as the chain has them). */
export interface CreditSet {
  readonly chainId: string;
  readonly epoch: number;
  /** The epoch's reward pool, micro-USDT. */
  readonly pool: bigint;
  readonly operators: readonly OperatorCredits[];
  /** Evidence for the verifier (chain blocks and commits); opaque here. */
  readonly proof?: unknown;
}

/**
 * Checks a credit set against data the payout process verifies itself. `core-reported` (the
 * only one until the chain's per-epoch credits are provable) accepts what core says — the
 * README says what that leaves open.
 */
export interface CreditVerifier {
  readonly name: string;
  verify(set: CreditSet): Promise<void>;
}

export const coreReportedCredits: CreditVerifier = { name: 'core-reported', verify: async () => {} };

export interface StoredStatement {
  readonly epoch: number;
  readonly hash: string;
  readonly document: StatementDocument;
  readonly verifiedBy: string;
  readonly acceptedAt: number;
  /** Where the chain made this statement final; null until then (nothing is paid before). */
  readonly anchor?: StatementAnchor | null;
}

export interface StatementAnchor {
  readonly height: number;
  readonly blockHash: string;
  readonly blockTime: number;
  readonly txIndex: number;
  /** The validator whose statement transaction the chain took. */
  readonly submitter: string;
  readonly anchoredAt: number;
}

const PIN_FILE = 'chain-pin.json';

export class StatementBook {
  private readonly byEpoch = new Map<number, StoredStatement>();
  private pin: PinnedValidators | null = null;

  constructor(
    private readonly dir: string,
    private readonly verifier: CreditVerifier,
    private readonly params: StatementParams = DEFAULT_STATEMENT_PARAMS,
    private readonly now: () => number = Date.now,
  ) {}

  async load(): Promise<void> {
    await mkdirDurable(this.dir);
    try {
      this.pin = JSON.parse(await readFile(join(this.dir, PIN_FILE), 'utf8')) as PinnedValidators;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const f of await readdir(this.dir)) {
      if (!/^\d+\.json$/.test(f)) continue;
      const s = JSON.parse(await readFile(join(this.dir, f), 'utf8')) as StoredStatement;
      if (statementHash(s.document) !== s.hash) throw new LucidError('PAYOUT_ERR_STATEMENT', `statement ${f} does not match its hash`);
      this.byEpoch.set(s.epoch, s);
    }
  }

  get(epoch: number): StoredStatement | undefined { return this.byEpoch.get(epoch); }
  all(): StoredStatement[] { return [...this.byEpoch.values()].sort((a, b) => a.epoch - b.epoch); }
  latest(): StoredStatement | undefined { return this.all().at(-1); }

  /** The statement line of one operator, with the amounts as bigint. */
  line(epoch: number, operator: string): ReturnType<typeof lineFromJson> | null {
    const raw = this.byEpoch.get(epoch)?.document.lines.find((l) => l['operator'] === operator);
    return raw ? lineFromJson(raw) : null;
  }

  async accept(set: CreditSet): Promise<StoredStatement> {
    if (!Number.isSafeInteger(set.epoch) || set.epoch < 0) throw new LucidError('PAYOUT_ERR_STATEMENT', 'bad epoch');
    const latest = this.latest();
    if (latest && latest.document.chainId !== set.chainId) throw new LucidError('PAYOUT_ERR_STATEMENT', `statements here are for chain ${latest.document.chainId}`);
    const existing = this.byEpoch.get(set.epoch);
    // Carried in: what the last statement before this epoch carried out.
    const before = this.all().filter((s) => s.epoch < set.epoch).at(-1);
    if (!existing && latest && set.epoch < latest.epoch) throw new LucidError('PAYOUT_ERR_STATEMENT', `epoch ${set.epoch} is before the last stated epoch ${latest.epoch}`);
    await this.verifier.verify(set);
    let computed;
    try {
      computed = epochStatement({ chainId: set.chainId, epoch: set.epoch, pool: set.pool, operators: set.operators, prev: before ? { hash: before.hash, carried: carriedOut(before.document) } : null }, this.params);
    } catch (err) {
      throw new LucidError('PAYOUT_ERR_STATEMENT', `credit set refused: ${(err as Error).message}`);
    }
    const { document, hash } = computed;
    if (existing) {
      if (existing.hash !== hash) throw new LucidError('PAYOUT_ERR_STATEMENT', `epoch ${set.epoch} was stated already with another result`, { hash: existing.hash });
      return existing;
    }
    const stored: StoredStatement = { epoch: set.epoch, hash, document, verifiedBy: this.verifier.name, acceptedAt: this.now(), anchor: null };
    await writeFileAtomic(join(this.dir, `${set.epoch}.json`), `${JSON.stringify(stored)}\n`, { mode: 0o600, mkdir: false });
    this.byEpoch.set(set.epoch, stored);
    return stored;
  }

  /**
   * Records where the chain made epoch `epoch`'s statement final, after checking the proof: the
   * transaction names this epoch and exactly our hash (else PAYOUT_ERR_STATEMENT_MISMATCH — the
   * chain stated something else than this process computed: nothing of it is paid), it is in the
   * block, and the block's commit holds > 2/3 of its validators and > 1/3 of the pinned set
   * (else PAYOUT_ERR_STATEMENT_NOT_ANCHORED). Idempotent.
   */
  async anchor(epoch: number, proof: StatementAnchorProof): Promise<StoredStatement> {
    const s = this.byEpoch.get(epoch);
    if (!s) throw new LucidError('PAYOUT_ERR_STATEMENT', `no statement for epoch ${epoch}`);
    if (s.anchor) return s;
    const pin = this.pin ?? { chainId: s.document.chainId, validators: proof.validators };
    let v;
    try {
      v = verifyStatementAnchor(proof, { epoch, hash: s.hash }, pin);
    } catch (err) {
      const why = (err as Error).message;
      const code = /^the chain's statement of epoch/.test(why) ? 'PAYOUT_ERR_STATEMENT_MISMATCH' : 'PAYOUT_ERR_STATEMENT_NOT_ANCHORED';
      throw new LucidError(code, `epoch ${epoch}: ${why}`, { epoch, hash: s.hash });
    }
    if (v.chainId !== s.document.chainId) throw new LucidError('PAYOUT_ERR_STATEMENT_NOT_ANCHORED', `anchor on chain ${v.chainId}, statement of ${s.document.chainId}`);
    const anchored: StoredStatement = { ...s, anchor: { height: v.height, blockHash: v.blockHash, blockTime: v.blockTime, txIndex: v.txIndex, submitter: v.submitter, anchoredAt: this.now() } };
    // The statement first, then the pin: a crash between leaves the old pin, which the next proof
    // is checked against again (a set only moves on once an anchored statement is durable).
    await writeFileAtomic(join(this.dir, `${epoch}.json`), `${JSON.stringify(anchored)}\n`, { mode: 0o600, mkdir: false });
    this.byEpoch.set(epoch, anchored);
    await writeFileAtomic(join(this.dir, PIN_FILE), `${JSON.stringify(v.pin)}\n`, { mode: 0o600, mkdir: false });
    this.pin = v.pin;
    return anchored;
  }

  /** The statement of `epoch` if the chain made it final; else a coded refusal. */
  anchored(epoch: number): StoredStatement {
    const s = this.byEpoch.get(epoch);
    if (!s) throw new LucidError('PAYOUT_ERR_STATEMENT', `no statement for epoch ${epoch}`);
    if (!s.anchor) throw new LucidError('PAYOUT_ERR_STATEMENT_NOT_ANCHORED', `the statement of epoch ${epoch} is not final on the chain yet: nothing of it is paid`, { epoch, hash: s.hash });
    return s;
  }
}
