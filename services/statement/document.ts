// The statement as a document: canonical JSON (RFC 8785, like a session manifest) with every
// amount a decimal string of micro-USDT. Its hash — SHA-256 of the canonical bytes — is what
// the chain anchors; the lines also form an RFC 6962 tree (leaf = one line's canonical bytes)
// so an operator can be shown their line with an inclusion proof against the anchored root.
// A statement names the previous epoch's statement hash: what it carries in comes from there.
import { canonicalBytes, type Json } from '../chunks/index.js';
import { merkleRoot, sha256 } from '../common/merkle.js';
import type { ComputedStatement, StatementLine, StatementParams } from './arithmetic.js';

export const STATEMENT_FORMAT = 'lucid-payout-statement/1';

export interface StatementDocument {
  readonly format: typeof STATEMENT_FORMAT;
  readonly chainId: string;
  readonly epoch: number;
  /** Hash of the previous epoch's statement (null for the first). */
  readonly prev: string | null;
  readonly params: Record<string, string | number>;
  readonly lines: ReadonlyArray<Record<string, string | number | boolean>>;
  readonly totals: Record<string, string>;
  /** RFC 6962 root over the lines' canonical bytes, hex. */
  readonly linesRoot: string;
}

export function lineJson(l: StatementLine): Record<string, string | number | boolean> {
  return {
    operator: l.operator, credits: l.credits, bonusEligible: l.bonusEligible, gross: String(l.gross), commission: String(l.commission),
    bonus: String(l.bonus), carriedIn: String(l.carriedIn), payable: String(l.payable), carriedOut: String(l.carriedOut),
  };
}

export function lineFromJson(j: Record<string, unknown>): StatementLine {
  const big = (k: string): bigint => {
    const v = j[k];
    if (typeof v !== 'string' || !/^(0|[1-9][0-9]*)$/.test(v)) throw new RangeError(`statement line ${k} is not a micro-USDT amount`);
    return BigInt(v);
  };
  return {
    operator: String(j['operator']), credits: Number(j['credits']), bonusEligible: j['bonusEligible'] === true,
    gross: big('gross'), commission: big('commission'), bonus: big('bonus'), carriedIn: big('carriedIn'), payable: big('payable'), carriedOut: big('carriedOut'),
  };
}

function paramsJson(p: StatementParams): Record<string, string | number> {
  return { commissionBps: p.commissionBps, bonusBps: p.bonusBps, bonusUptimeBps: p.bonusUptimeBps, minPayout: String(p.minPayout), maxPayout: String(p.maxPayout) };
}

export function statementDocument(s: ComputedStatement, chainId: string, prev: string | null): StatementDocument {
  const lines = s.lines.map(lineJson);
  return {
    format: STATEMENT_FORMAT,
    chainId,
    epoch: s.epoch,
    prev,
    params: paramsJson(s.params),
    lines,
    totals: Object.fromEntries(Object.entries(s.totals).map(([k, v]) => [k, String(v)])),
    linesRoot: merkleRoot(lines.map((l) => canonicalBytes(l))).toString('hex'),
  };
}

export function statementBytes(doc: StatementDocument): Buffer {
  return canonicalBytes(doc as unknown as Json);
}

/** The anchored value: SHA-256 of the canonical bytes, hex. */
export function statementHash(doc: StatementDocument): string {
  return sha256(statementBytes(doc)).toString('hex');
}
