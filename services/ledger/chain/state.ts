// The replicated chain state after each block: the validator set, the PoOT work credits of the
// scoring window, recent proposers (cooldown) and replay guards. Plain JSON (hex strings), so a
// snapshot is stored with every block in the same LevelDB batch and a restart needs no replay.
// Everything here is a deterministic function of the blocks: every honest node computes the
// same state, hence the same proposer order.
import type { ChainParams, Genesis } from './genesis.js';
import { genesisHash } from './genesis.js';
import type { Approvals } from './admission.js';

export interface ValidatorEntry {
  readonly publicKey: string;
  readonly power: number;
}

/** Raw work counts of one node in one epoch; credits are derived from them (see credits()). */
export interface WorkCounts {
  /** Anchor transactions this node put on chain (sessions relayed). */
  anchors: number;
  /** Sessions and bytes reported by relay work proofs. */
  relaySessions: number;
  relayBytes: number;
  /** Accepted storage-challenge answers. */
  storage: number;
  /** Precommits of this node included in commits (votes cast). */
  validation: number;
}

export interface EpochState {
  /** Blocks committed in this epoch (the uptime denominator). */
  blocks: number;
  nodes: Record<string, WorkCounts>;
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
  /** `${epoch}:${node}` of relay proofs already counted inside the window (one per node and epoch). */
  readonly relayClaims: readonly string[];
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
    relayClaims: [],
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

export const RELAY_BYTES_PER_CREDIT = 5_000_000;

export interface Credits {
  readonly relay: number;
  readonly storage: number;
  readonly validation: number;
  readonly total: number;
}

/** DESIGN §2: relay = max(sessions relayed, ceil(MB relayed / 5)); storage and validation count one each. */
export function credits(w: WorkCounts | undefined): Credits {
  if (!w) return { relay: 0, storage: 0, validation: 0, total: 0 };
  const relay = Math.max(w.anchors + w.relaySessions, Math.ceil(w.relayBytes / RELAY_BYTES_PER_CREDIT));
  return { relay, storage: w.storage, validation: w.validation, total: relay + w.storage + w.validation };
}

export interface Score {
  readonly credits: number;
  /** Commits signed / blocks, over the window. */
  readonly signed: number;
  readonly blocks: number;
  /** credits × signed: the window's uptime share without the shared denominator (exact integer). */
  readonly weight: number;
}

/** score = credits × uptime share over the window ending at the head's epoch (integers only). */
export function scoreOf(state: ChainState, node: string): Score {
  const last = epochOf(state.params, state.headTime);
  const first = last - windowEpochs(state.params) + 1;
  let c = 0;
  let signed = 0;
  let blocks = 0;
  for (let e = first; e <= last; e++) {
    const ep = state.epochs[String(e)];
    if (!ep) continue;
    blocks += ep.blocks;
    const w = ep.nodes[node];
    c += credits(w).total;
    signed += w?.validation ?? 0;
  }
  return { credits: c, signed, blocks, weight: c * signed };
}

export function emptyCounts(): WorkCounts {
  return { anchors: 0, relaySessions: 0, relayBytes: 0, storage: 0, validation: 0 };
}
