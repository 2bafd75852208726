// The replicated chain state after each block: the validator set, the PoOT work credits of the
// scoring window, open storage challenges, recent proposers (cooldown) and replay guards. Plain JSON (hex strings), so a
// snapshot is stored with every block in the same LevelDB batch and a restart needs no replay.
// Everything here is a deterministic function of the blocks: every honest node computes the
// same state, hence the same proposer order.
import type { ChainParams, Genesis } from './genesis.js';
import { genesisHash } from './genesis.js';
import { RELAY_BYTES_PER_CREDIT, type CreditParams } from '../credits/params.js';
import type { Approvals } from './admission.js';
import type { StatedEpoch } from './statements.js';

export { RELAY_BYTES_PER_CREDIT };

export interface ValidatorEntry {
  readonly publicKey: string;
  readonly power: number;
}

/**
 * Work of one node in one epoch, every number derived by the chain from blocks (README "Work
 * credits"); credits() turns them into capped credits.
 */
export interface WorkCounts {
  /** Anchor transactions this node put on chain (informational; relay counts proven sessions). */
  anchors: number;
  /** Anchored sessions of this node whose intake storage challenge passed, and their plaintext bytes. */
  relaySessions: number;
  relayBytes: number;
  /** Audit storage challenges passed, and issued (informational: the pass rate). */
  storage: number;
  audits: number;
  /** Precommits of this node in the commits carried by this epoch's blocks. */
  validation: number;
  /** Time (ms) of this epoch vouched for by this node's commit signatures. */
  uptimeMs: number;
}

export interface EpochState {
  /** Blocks committed in this epoch. */
  blocks: number;
  /** Time (ms) of this epoch covered by commits at all (the uptime denominator for a share). */
  chainMs: number;
  /** Height of the first block whose previous block lies in a later epoch: from it on, this record never changes. */
  closedBy: number | null;
  nodes: Record<string, WorkCounts>;
}

/** An open storage challenge (README "Storage challenges"). */
export interface Challenge {
  readonly height: number;
  readonly seq: number;
  /** intake: the first challenge of a newly anchored session (passing it earns the session's relay credit); audit: a periodic one (storage credit). */
  readonly kind: 'intake' | 'audit';
  readonly node: string;
  readonly manifest: string;
  readonly index: number;
  /** SHA-256("lucid/challenge/v2" ‖ block hash ‖ u32 seq ‖ node), hex. */
  readonly seed: string;
  /** Time of the block that issued it. */
  readonly issuedAt: number;
  readonly answer: { readonly leaf: string; readonly digest: string; readonly height: number; readonly at: number } | null;
  /** Validators whose verdict said the object checks out / is wrong. */
  readonly ok: readonly string[];
  readonly wrong: readonly string[];
}

export interface ChainState {
  readonly chainId: string;
  readonly genesisHash: string;
  readonly params: ChainParams;
  readonly genesisTime: number;
  /** Last committed height; 0 before block 1. */
  readonly height: number;
  readonly headHash: string;
  readonly headTime: number;
  /** Validators voting on height + 1, sorted by key. */
  readonly validators: readonly ValidatorEntry[];
  /** Validators that voted on `height` (they signed the commit carried by block height + 1). */
  readonly lastValidators: readonly ValidatorEntry[];
  /** Proposers of the most recent blocks, oldest first (at most params.maxCooldown). */
  readonly recentProposers: readonly string[];
  /** Work counts of the epochs inside the scoring window, by epoch number (decimal string). */
  readonly epochs: Readonly<Record<string, EpochState>>;
  /** Highest join/leave nonce seen per node (replay guard; 0 when none). */
  readonly nonces: Readonly<Record<string, number>>;
  /** Open validator-admission approvals (chain/admission.ts); absent in snapshots made before them. */
  readonly approvals?: Approvals;
  /** Time of block height − 1 (genesis time below height 2): the start of the interval the next commit vouches for. */
  readonly prevTime: number;
  /** Open storage challenges, in issue order. */
  readonly challenges: readonly Challenge[];
  /** Manifests anchored in a block their own node proposed: their intake challenge waits for a block it did not propose. */
  readonly intakeQueue: readonly string[];
  /** Earliest block time of each node's next audit. */
  readonly nextAuditAt: Readonly<Record<string, number>>;
  /** The last payout statement made final (chain/statements.ts); absent before the first. */
  readonly stated?: StatedEpoch;
}

export function initialState(g: Genesis): ChainState {
  const validators = [...g.validators].map((v) => ({ publicKey: v.publicKey, power: v.power })).sort((a, b) => (a.publicKey < b.publicKey ? -1 : 1));
  return {
    chainId: g.chainId,
    genesisHash: genesisHash(g).toString('hex'),
    params: g.params,
    genesisTime: g.genesisTime,
    height: 0,
    headHash: genesisHash(g).toString('hex'),
    headTime: g.genesisTime,
    validators,
    lastValidators: [],
    recentProposers: [],
    epochs: {},
    nonces: {},
    approvals: {},
    prevTime: g.genesisTime,
    challenges: [],
    intakeQueue: [],
    nextAuditAt: {},
  };
}

export function epochOf(params: ChainParams, time: number): number {
  return Math.floor(time / params.epochMs);
}

/** Epochs inside the scoring window that ends with `epoch`. */
export function windowEpochs(params: ChainParams): number {
  return Math.max(1, Math.ceil(params.windowMs / params.epochMs));
}

export function totalPower(vals: readonly ValidatorEntry[]): number {
  return vals.reduce((a, v) => a + v.power, 0);
}

export function powerOf(vals: readonly ValidatorEntry[], key: string): number {
  return vals.find((v) => v.publicKey === key)?.power ?? 0;
}

export interface Credits {
  readonly relay: number;
  readonly storage: number;
  readonly validation: number;
  readonly total: number;
}

/**
 * The credits of one node in one epoch (DESIGN §2, README "Work credits"), each kind capped per
 * epoch: relay = min(relayCap, max(sessions, ceil(bytes / 5 MB))), storage = min(storageCap,
 * audits passed), validation = min(validationCap, commit signatures).
 */
export function credits(w: WorkCounts | undefined, p: CreditParams): Credits {
  if (!w) return { relay: 0, storage: 0, validation: 0, total: 0 };
  const relay = Math.min(p.relayCap, Math.max(w.relaySessions, Math.ceil(w.relayBytes / RELAY_BYTES_PER_CREDIT)));
  const storage = Math.min(p.storageCap, w.storage);
  const validation = Math.min(p.validationCap, w.validation);
  return { relay, storage, validation, total: relay + storage + validation };
}

export interface Score {
  /** Credits over the window (each epoch capped). */
  readonly credits: number;
  /** Commit signatures over the window. */
  readonly signed: number;
  readonly blocks: number;
  /** Uptime over the window and the time the chain's commits covered (ms). */
  readonly uptimeMs: number;
  readonly chainMs: number;
  /** credits × uptimeMs: the window's uptime share without its shared denominator (exact integer). */
  readonly weight: number;
}

/** score = credits × uptime share over the window ending at the head's epoch (integers only). */
export function scoreOf(state: ChainState, node: string): Score {
  const last = epochOf(state.params, state.headTime);
  const first = last - windowEpochs(state.params) + 1;
  let c = 0;
  let signed = 0;
  let blocks = 0;
  let uptimeMs = 0;
  let chainMs = 0;
  for (let e = first; e <= last; e++) {
    const ep = state.epochs[String(e)];
    if (!ep) continue;
    blocks += ep.blocks;
    chainMs += ep.chainMs;
    const w = ep.nodes[node];
    c += credits(w, state.params).total;
    signed += w?.validation ?? 0;
    uptimeMs += w?.uptimeMs ?? 0;
  }
  return { credits: c, signed, blocks, uptimeMs, chainMs, weight: c * uptimeMs };
}

export function emptyCounts(): WorkCounts {
  return { anchors: 0, relaySessions: 0, relayBytes: 0, storage: 0, audits: 0, validation: 0, uptimeMs: 0 };
}
