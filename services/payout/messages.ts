// The texts admins sign (TIP-191) to give the payout process authority: approving a payout,
// changing an operator's payout address, enrolling an approver. Plain lines, so a Ledger or
// TronLink shows the person what they sign. Each text names this payout instance (so it cannot
// be replayed on another appliance) and the exact object and version it is about (so it cannot
// be replayed on another payout, or again after the registry moved on). Used by core to show
// the text and by the payout process to verify the signatures; both build it from the same
// function, and nothing else is accepted.
export const USDT_DECIMALS = 6;

/** 1234567 → "1.234567" (micro-USDT to USDT with all six decimals). */
export function formatUsdt(micro: bigint): string {
  const neg = micro < 0n;
  const v = neg ? -micro : micro;
  return `${neg ? '-' : ''}${v / 1_000_000n}.${(v % 1_000_000n).toString().padStart(USDT_DECIMALS, '0')}`;
}

/** "12.5" → 12500000n; null for anything but a non-negative decimal with ≤ 6 places. */
export function parseUsdt(text: string): bigint | null {
  const m = /^(0|[1-9][0-9]{0,11})(?:\.([0-9]{1,6}))?$/.exec(text);
  if (!m) return null;
  return BigInt(m[1]!) * 1_000_000n + BigInt((m[2] ?? '').padEnd(6, '0'));
}

export interface PayoutApprovalSubject {
  readonly instance: string;
  readonly wallet: string;
  readonly chainId: string;
  readonly payoutId: string;
  readonly statementHash: string;
  readonly recipient: string;
  readonly amount: bigint;
  /** Round of the request (a failed payout requested again is round 2, …). */
  readonly round: number;
}

export function payoutApprovalText(s: PayoutApprovalSubject): string {
  return [
    'Lucid payout approval',
    `appliance: ${s.instance}`,
    `wallet: ${s.wallet}`,
    `chain: ${s.chainId}`,
    `payout: ${s.payoutId}${s.round > 1 ? ` (round ${s.round})` : ''}`,
    `statement: ${s.statementHash}`,
    `to: ${s.recipient}`,
    `amount: ${formatUsdt(s.amount)} USDT`,
  ].join('\n');
}

export interface AddressChangeSubject {
  readonly instance: string;
  readonly operator: string;
  readonly from: string | null;
  readonly to: string;
  /** The registry version of this operator's entry after the change. */
  readonly version: number;
}

export function addressChangeText(s: AddressChangeSubject): string {
  return [
    'Lucid payout address change',
    `appliance: ${s.instance}`,
    `operator: ${s.operator}`,
    `from: ${s.from ?? 'none'}`,
    `to: ${s.to}`,
    `version: ${s.version}`,
  ].join('\n');
}

export interface EnrollmentSubject {
  readonly instance: string;
  readonly approver: string;
  readonly name: string;
  /** The approver list's version after the enrollment. */
  readonly version: number;
}

export function enrollmentText(s: EnrollmentSubject): string {
  return ['Lucid payout approver enrollment', `appliance: ${s.instance}`, `approver: ${s.approver}`, `name: ${s.name}`, `version: ${s.version}`].join('\n');
}
