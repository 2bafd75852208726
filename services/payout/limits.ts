// The payout limits (DESIGN §2, issue 23): 10–10,000 USDT per payout, a second approval from
// 5,000 USDT, a total per UTC day. Pure functions over micro-USDT; the engine calls them at
// approval (per payout) and again right before signing (per payout and per day).
import { LucidError } from '../common/errors.js';
import { formatUsdt } from './messages.js';
import { utcDay, type PayoutRecord } from './state/record.js';

export interface PayoutLimits {
  readonly min: bigint;
  readonly max: bigint;
  readonly secondApprovalFrom: bigint;
  readonly daily: bigint;
}

export const usdt = (n: number): bigint => BigInt(n) * 1_000_000n;

export const DEFAULT_LIMITS: PayoutLimits = { min: usdt(10), max: usdt(10_000), secondApprovalFrom: usdt(5_000), daily: usdt(50_000) };

export function checkAmount(amount: bigint, limits: PayoutLimits): void {
  if (amount < limits.min) throw new LucidError('PAYOUT_ERR_BELOW_MINIMUM', `${formatUsdt(amount)} USDT is below the ${formatUsdt(limits.min)} USDT minimum`);
  if (amount > limits.max) throw new LucidError('PAYOUT_ERR_OVER_LIMIT', `${formatUsdt(amount)} USDT is above the ${formatUsdt(limits.max)} USDT per-payout limit`);
}

export const approvalsNeeded = (amount: bigint, limits: PayoutLimits): number => (amount >= limits.secondApprovalFrom ? 2 : 1);

/** Sum of the payouts first signed on `day` (every one counts once, whatever happened after). */
export function signedOn(records: readonly PayoutRecord[], day: string): bigint {
  return records.filter((r) => r.signedDay === day).reduce((a, r) => a + BigInt(r.amount), 0n);
}

export function checkDaily(records: readonly PayoutRecord[], r: PayoutRecord, now: number, limits: PayoutLimits): string {
  const day = r.signedDay ?? utcDay(now);
  if (r.signedDay) return day;
  const used = signedOn(records, day);
  if (used + BigInt(r.amount) > limits.daily) {
    throw new LucidError('PAYOUT_ERR_DAILY_LIMIT', `${formatUsdt(used)} USDT signed today; ${formatUsdt(BigInt(r.amount))} more would pass the ${formatUsdt(limits.daily)} USDT daily limit`, { used: String(used), day });
  }
  return day;
}
