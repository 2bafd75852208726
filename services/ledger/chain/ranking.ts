// PoOT proposer order for the next height (DESIGN §2). Validators not in cooldown come first,
// best score first; those in cooldown follow, the one that proposed longest ago first. Round r
// of the height is proposed by order[r mod n], so every later round is a fallback proposer and
// every validator gets a turn within n rounds. Ties break on SHA-256(previous block hash ‖ key):
// unpredictable before the previous block exists, identical for every honest node after.
import { createHash } from 'node:crypto';
import type { ChainState } from './state.js';
import { scoreOf } from './state.js';

export function cooldownOf(state: ChainState): number {
  return Math.max(0, Math.min(state.params.maxCooldown, state.validators.length - 1));
}

function tieBreak(prevHash: string, key: string): string {
  return createHash('sha256').update(Buffer.from(prevHash, 'hex')).update(Buffer.from(key, 'hex')).digest('hex');
}

export interface RankedValidator {
  readonly publicKey: string;
  readonly power: number;
  readonly weight: number;
  readonly credits: number;
  readonly inCooldown: boolean;
}

export function proposerRanking(state: ChainState): RankedValidator[] {
  const cooldown = cooldownOf(state);
  const recent = cooldown > 0 ? state.recentProposers.slice(-cooldown) : [];
  const lastTurn = new Map<string, number>();
  recent.forEach((k, i) => lastTurn.set(k, i));
  const rows = state.validators.map((v) => {
    const s = scoreOf(state, v.publicKey);
    return { publicKey: v.publicKey, power: v.power, weight: s.weight, credits: s.credits, inCooldown: lastTurn.has(v.publicKey), tie: tieBreak(state.headHash, v.publicKey) };
  });
  const eligible = rows.filter((r) => !r.inCooldown).sort((a, b) => (b.weight - a.weight) || (a.tie < b.tie ? -1 : a.tie > b.tie ? 1 : 0));
  const cooling = rows.filter((r) => r.inCooldown).sort((a, b) => lastTurn.get(a.publicKey)! - lastTurn.get(b.publicKey)!);
  return [...eligible, ...cooling].map(({ tie: _tie, ...r }) => r);
}

/** Proposer order (public keys, hex) for height state.height + 1. */
export function proposerOrder(state: ChainState): string[] {
  return proposerRanking(state).map((r) => r.publicKey);
}

export function proposerFor(order: readonly string[], round: number): string {
  return order[round % order.length]!;
}
