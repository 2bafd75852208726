// The genesis document: chain id, parameters and the initial validators (public key + power).
// Made by the genesis CLI from the nodes' public keys, or by a standalone appliance for itself
// on first boot. Its hash (SHA-256 of the canonical JSON: keys sorted, no whitespace) is the
// `prevHash` of block 1, so a chain cannot be replayed under another genesis.
import { createHash } from 'node:crypto';
import { LucidError } from '../../common/errors.js';
import { CREDIT_PARAMS, type CreditParams } from '../credits/params.js';

export interface ChainParams extends CreditParams {
  /** Length of a credit epoch (payouts read credits per epoch). */
  readonly epochMs: number;
  /** Scoring window for proposer ranking (DESIGN §2: 7 days). */
  readonly windowMs: number;
  /** Cooldown is min(maxCooldown, validators − 1) blocks (DESIGN §2: 16). */
  readonly maxCooldown: number;
  /** Highest power a validator may give itself with a join transaction. */
  readonly maxJoinPower: number;
  /**
   * Micro-USDT shared among the operators per epoch by the payout statement every validator
   * checks (chain/statements.ts). Absent (or 0): the chain makes no statements. Optional, so a
   * genesis made before it keeps its hash.
   */
  readonly payoutPool?: number;
}

export interface GenesisValidator {
  readonly publicKey: string;
  readonly power: number;
  readonly name?: string;
}

export interface Genesis {
  readonly chainId: string;
  readonly genesisTime: number;
  readonly params: ChainParams;
  readonly validators: readonly GenesisValidator[];
}

export const DEFAULT_PARAMS: ChainParams = {
  epochMs: 24 * 3600 * 1000,
  windowMs: 7 * 24 * 3600 * 1000,
  maxCooldown: 16,
  maxJoinPower: 1,
  ...CREDIT_PARAMS,
};

const HEX32 = /^[0-9a-f]{64}$/;
const CHAIN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function fail(message: string, details?: Record<string, unknown>): never {
  throw new LucidError('LEDGER_ERR_GENESIS_INVALID', message, details);
}

/** Validates a parsed genesis document; throws LEDGER_ERR_GENESIS_INVALID naming the bad field. */
export function parseGenesis(raw: unknown): Genesis {
  if (typeof raw !== 'object' || raw === null) fail('genesis must be a JSON object');
  const g = raw as Record<string, unknown>;
  if (typeof g['chainId'] !== 'string' || !CHAIN_ID.test(g['chainId'])) fail('chainId must be 1–64 characters of [A-Za-z0-9._-]');
  if (!Number.isSafeInteger(g['genesisTime']) || (g['genesisTime'] as number) < 0) fail('genesisTime must be ms since the epoch');
  const p = (g['params'] ?? {}) as Record<string, unknown>;
  const params = { ...DEFAULT_PARAMS } as Record<string, number>;
  for (const key of Object.keys(DEFAULT_PARAMS)) {
    if (p[key] === undefined) continue;
    if (!Number.isSafeInteger(p[key]) || (p[key] as number) < 1) fail(`params.${key} must be a positive integer`);
    params[key] = p[key] as number;
  }
  if (p['payoutPool'] !== undefined && p['payoutPool'] !== 0) {
    if (!Number.isSafeInteger(p['payoutPool']) || (p['payoutPool'] as number) < 0) fail('params.payoutPool must be micro-USDT, a non-negative integer');
    params['payoutPool'] = p['payoutPool'] as number;
  }
  for (const key of Object.keys(p)) if (!(key in DEFAULT_PARAMS) && key !== 'payoutPool') fail(`unknown parameter params.${key}`);
  // An epoch's credit record is final one block into the next epoch (services/ledger/README.md
  // "Epoch boundaries"): the window must still hold it then.
  if (params['windowMs']! < 2 * params['epochMs']!) fail('params.windowMs must be at least two epochs (2 × params.epochMs)');
  if (!Array.isArray(g['validators']) || g['validators'].length === 0) fail('validators must be a non-empty array');
  const seen = new Set<string>();
  const validators: GenesisValidator[] = (g['validators'] as unknown[]).map((v, i) => {
    const e = v as Record<string, unknown>;
    if (typeof e['publicKey'] !== 'string' || !HEX32.test(e['publicKey'])) fail(`validators[${i}].publicKey must be 64 lowercase hex characters`);
    if (!Number.isSafeInteger(e['power']) || (e['power'] as number) < 1 || (e['power'] as number) > 1_000_000) fail(`validators[${i}].power must be an integer 1..1000000`);
    if (seen.has(e['publicKey'])) fail(`validators[${i}] repeats a public key`);
    seen.add(e['publicKey']);
    const out: GenesisValidator = { publicKey: e['publicKey'], power: e['power'] as number };
    if (e['name'] !== undefined) {
      if (typeof e['name'] !== 'string' || e['name'].length > 64) fail(`validators[${i}].name must be a string of ≤ 64 characters`);
      return { ...out, name: e['name'] };
    }
    return out;
  });
  return { chainId: g['chainId'], genesisTime: g['genesisTime'] as number, params: params as unknown as ChainParams, validators };
}

/** Canonical JSON: object keys sorted, no whitespace (the genesis only holds strings, integers, arrays, objects). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value).sort().filter((k) => (value as Record<string, unknown>)[k] !== undefined);
    return `{${entries.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function genesisHash(g: Genesis): Buffer {
  return createHash('sha256').update(canonicalJson(g)).digest();
}

export interface MakeGenesisOptions {
  readonly chainId: string;
  readonly genesisTime?: number;
  readonly validators: readonly GenesisValidator[];
  readonly params?: Partial<ChainParams>;
}

export function makeGenesis(o: MakeGenesisOptions): Genesis {
  return parseGenesis({
    chainId: o.chainId,
    genesisTime: o.genesisTime ?? Date.now(),
    params: { ...DEFAULT_PARAMS, ...o.params },
    validators: o.validators,
  });
}

/** The one-validator genesis a standalone appliance makes for itself on first boot. */
export function standaloneGenesis(publicKeyHex: string, nodeId: string, now: number, payoutPool = 0): Genesis {
  return makeGenesis({ chainId: `lucid-solo-${nodeId.slice(0, 12)}`, genesisTime: now, validators: [{ publicKey: publicKeyHex, power: 1, name: 'this node' }], params: payoutPool > 0 ? { payoutPool } : {} });
}
