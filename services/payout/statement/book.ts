// The statements the payout process accepted, one file per epoch in its own data directory.
// It never takes a statement from core: it takes the epoch's credit set, has it verified
// (`CreditVerifier`), and computes the statement itself — carrying in what the previous
// statement carried out. An epoch is stated once: the same credit set again answers the same
// statement; a different one is PAYOUT_ERR_STATEMENT (core cannot restate what was owed).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LucidError } from '../../common/errors.js';
import { mkdirDurable, writeFileAtomic } from '../../common/fs-atomic.js';
import { computeStatement, DEFAULT_STATEMENT_PARAMS, type OperatorCredits, type StatementParams } from './arithmetic.js';
import { lineFromJson, statementDocument, statementHash, type StatementDocument } from './document.js';

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
}

export class StatementBook {
  private readonly byEpoch = new Map<number, StoredStatement>();

  constructor(
    private readonly dir: string,
    private readonly verifier: CreditVerifier,
    private readonly params: StatementParams = DEFAULT_STATEMENT_PARAMS,
    private readonly now: () => number = Date.now,
  ) {}

  async load(): Promise<void> {
    await mkdirDurable(this.dir);
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
    const carriedIn = new Map<string, bigint>();
    for (const l of before?.document.lines ?? []) {
      const line = lineFromJson(l);
      if (line.carriedOut > 0n) carriedIn.set(line.operator, line.carriedOut);
    }
    let computed;
    try {
      computed = computeStatement({ epoch: set.epoch, pool: set.pool, operators: set.operators, carriedIn }, this.params);
    } catch (err) {
      throw new LucidError('PAYOUT_ERR_STATEMENT', `credit set refused: ${(err as Error).message}`);
    }
    const document = statementDocument(computed, set.chainId, before?.hash ?? null);
    const hash = statementHash(document);
    if (existing) {
      if (existing.hash !== hash) throw new LucidError('PAYOUT_ERR_STATEMENT', `epoch ${set.epoch} was stated already with another result`, { hash: existing.hash });
      return existing;
    }
    const stored: StoredStatement = { epoch: set.epoch, hash, document, verifiedBy: this.verifier.name, acceptedAt: this.now() };
    await writeFileAtomic(join(this.dir, `${set.epoch}.json`), `${JSON.stringify(stored)}\n`, { mode: 0o600, mkdir: false });
    this.byEpoch.set(set.epoch, stored);
    return stored;
  }
}
