// Statement arithmetic: exact examples worked by hand, and the property that over random credit
// sets every micro-USDT of the pool and of the carried amounts is accounted for exactly once.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  apportion, computeStatement, DEFAULT_STATEMENT_PARAMS, MICRO, type OperatorCredits,
} from '../../../services/statement/arithmetic.js';
import { lineFromJson, statementDocument, statementHash } from '../../../services/statement/document.js';

const op = (c: string): string => c.repeat(64).slice(0, 64);
const A = op('a');
const B = op('b');
const C = op('c');

describe('statement arithmetic', () => {
  it('a worked example: share, 5 % commission, +2 % bonus, carry below 10 USDT', () => {
    const s = computeStatement({
      epoch: 7,
      pool: 1000n * MICRO,
      operators: [{ operator: A, credits: 3, uptime: 100, window: 100 }, { operator: B, credits: 1, uptime: 50, window: 100 }],
      carriedIn: new Map([[C, 5n * MICRO]]),
    });
    const byOp = new Map(s.lines.map((l) => [l.operator, l]));
    expect(byOp.get(A)).toMatchObject({ gross: 750_000_000n, commission: 37_500_000n, bonus: 15_000_000n, payable: 727_500_000n, carriedOut: 0n, bonusEligible: true });
    expect(byOp.get(B)).toMatchObject({ gross: 250_000_000n, commission: 12_500_000n, bonus: 0n, payable: 237_500_000n, carriedOut: 0n, bonusEligible: false });
    expect(byOp.get(C)).toMatchObject({ gross: 0n, payable: 0n, carriedIn: 5_000_000n, carriedOut: 5_000_000n });
    expect(s.totals).toEqual({ pool: 1000n * MICRO, carriedIn: 5n * MICRO, payable: 965n * MICRO, carriedOut: 5n * MICRO, commission: 35n * MICRO });
  });

  it('caps a payout at 10,000 USDT and carries the rest; pays exactly 10 USDT; carries 9.999999', () => {
    const s = computeStatement({
      epoch: 1,
      pool: 30_000n * MICRO,
      operators: [{ operator: A, credits: 1, uptime: 0, window: 0 }],
      carriedIn: new Map([[B, 10n * MICRO], [C, 10n * MICRO - 1n]]),
    });
    const byOp = new Map(s.lines.map((l) => [l.operator, l]));
    expect(byOp.get(A)).toMatchObject({ gross: 30_000n * MICRO, payable: 10_000n * MICRO, carriedOut: 18_500n * MICRO });
    expect(byOp.get(B)).toMatchObject({ payable: 10n * MICRO, carriedOut: 0n });
    expect(byOp.get(C)).toMatchObject({ payable: 0n, carriedOut: 9_999_999n });
  });

  it('splits by largest remainder, ties to the lower operator id, and gives the pool to commission when nobody earned', () => {
    expect([...apportion(10n, [{ id: B, weight: 1n }, { id: A, weight: 1n }, { id: C, weight: 1n }])]).toEqual([[B, 3n], [A, 4n], [C, 3n]]);
    expect([...apportion(5n, [{ id: A, weight: 1n }, { id: B, weight: 3n }])]).toEqual([[A, 1n], [B, 4n]]);
    const s = computeStatement({ epoch: 2, pool: 77n, operators: [{ operator: A, credits: 0, uptime: 1, window: 1 }], carriedIn: new Map() });
    expect(s.totals.commission).toBe(77n);
  });

  it('refuses malformed input rather than guessing', () => {
    const base = { epoch: 1, pool: 1n, carriedIn: new Map<string, bigint>() };
    expect(() => computeStatement({ ...base, operators: [{ operator: 'xyz', credits: 1, uptime: 0, window: 0 }] })).toThrow(RangeError);
    expect(() => computeStatement({ ...base, operators: [{ operator: A, credits: 1.5, uptime: 0, window: 0 }] })).toThrow(RangeError);
    expect(() => computeStatement({ ...base, operators: [{ operator: A, credits: 1, uptime: 0, window: 0 }, { operator: A, credits: 1, uptime: 0, window: 0 }] })).toThrow(RangeError);
    expect(() => computeStatement({ ...base, pool: -1n, operators: [] })).toThrow(RangeError);
  });

  it('property (2,000 random credit sets): every unit is paid, carried or commission — none lost, none invented', () => {
    const hexId = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
    const operator = fc.record({
      operator: hexId,
      credits: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 2 ** 40 })),
      uptime: fc.integer({ min: 0, max: 10_000 }),
      window: fc.integer({ min: 0, max: 10_000 }),
    }).map((o): OperatorCredits => ({ ...o, uptime: Math.min(o.uptime, o.window) }));
    const amount = fc.oneof(fc.bigInt({ min: 0n, max: 20n * MICRO }), fc.bigInt({ min: 0n, max: 10n ** 15n }));
    let checked = 0;
    fc.assert(fc.property(
      fc.uniqueArray(operator, { selector: (o) => o.operator, maxLength: 40 }),
      fc.array(fc.tuple(hexId, amount), { maxLength: 10 }),
      amount,
      (operators, carried, pool) => {
        const s = computeStatement({ epoch: 1, pool, operators, carriedIn: new Map(carried) });
        const carriedIn = [...new Map(carried).values()].reduce((a, b) => a + b, 0n);
        let sum = 0n;
        let gross = 0n;
        for (const l of s.lines) {
          expect(l.payable === 0n || (l.payable >= DEFAULT_STATEMENT_PARAMS.minPayout && l.payable <= DEFAULT_STATEMENT_PARAMS.maxPayout)).toBe(true);
          for (const v of [l.gross, l.commission, l.bonus, l.payable, l.carriedOut]) expect(v >= 0n).toBe(true);
          expect(l.bonus <= l.commission).toBe(true);
          expect(l.carriedIn + l.gross - l.commission + l.bonus).toBe(l.payable + l.carriedOut);
          sum += l.payable + l.carriedOut;
          gross += l.gross;
        }
        // The identity, recomputed from the lines rather than read from the totals.
        expect(pool + carriedIn - sum - s.totals.commission).toBe(0n);
        expect(gross === pool || s.lines.every((l) => l.credits === 0)).toBe(true);
        expect(s.totals.carriedIn).toBe(carriedIn);
        checked++;
      },
    ), { numRuns: 2000, seed: 23 });
    expect(checked).toBe(2000);
  });

  it('the statement document hashes canonically and round-trips its lines', () => {
    const s = computeStatement({ epoch: 3, pool: 100n * MICRO, operators: [{ operator: B, credits: 2, uptime: 1, window: 1 }, { operator: A, credits: 1, uptime: 1, window: 1 }], carriedIn: new Map() });
    const doc = statementDocument(s, 'lucid-test', null);
    expect(doc.lines.map((l) => l['operator'])).toEqual([A, B]);
    expect(statementHash(doc)).toMatch(/^[0-9a-f]{64}$/);
    expect(statementHash(statementDocument(s, 'lucid-test', null))).toBe(statementHash(doc));
    expect(statementHash(statementDocument(s, 'lucid-other', null))).not.toBe(statementHash(doc));
    expect(doc.lines.map((l) => lineFromJson(l))).toEqual(s.lines);
  });
});
