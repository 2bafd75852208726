// The consensus engine's public shapes (engine.ts): its configuration and dependencies, the value
// it decides on, vote envelopes, evidence of equivocation, and what each call returns.
import type { Block, Commit } from '../codec/block.js';
import type { WireMessage } from '../codec/messages.js';
import type { AnchorRecord } from '../chain/apply.js';
import type { RecentAnchorIndex } from '../chain/recent-anchors.js';
import type { ChainState } from '../chain/state.js';
import type { Signer, Verifier } from '../crypto.js';
import type { Mempool } from '../mempool.js';
import type { Timeouts } from './height-machine.js';
import type { SignGuard } from './sign-guard.js';

export interface Value {
  readonly id: string;
  readonly hash: Buffer;
  readonly bytes: Buffer;
}

export interface VoteEnvelope {
  readonly validator: Buffer;
  readonly signature: Buffer;
}

export interface EngineConfig {
  readonly slotMs: number;
  /**
   * The liveness heartbeat (LUCID_EMPTY_BLOCK_INTERVAL_S): with nothing to put in a block, the
   * next height starts only this long after the last block's time. Absent, or at most a slot: a
   * block every slot, empty or not (the behaviour before issue 24).
   */
  readonly emptyBlockIntervalMs?: number;
  readonly timeouts?: Timeouts;
  /** Status and re-send interval (default slot / 10, at least 20 ms). */
  readonly gossipMs?: number;
  /** How long local transactions wait to be gossiped together (default min(50 ms, gossip)). */
  readonly txBatchMs?: number;
  readonly syncBatch?: number;
  /** TEST ONLY (simulator): prevote ignoring the lock. */
  readonly injectLockBug?: boolean;
  /** TEST ONLY (simulator): a byzantine proposer's edit of the block it built (null: propose it as built). */
  readonly tamperBlock?: (bytes: Buffer) => Buffer | null;
}

export interface EngineDeps {
  readonly signer: Signer;
  readonly verifier: Verifier;
  readonly guard: SignGuard;
  readonly mempool: Mempool;
  readonly recentAnchors: RecentAnchorIndex;
  readonly config: EngineConfig;
  /**
   * When the chain state itself wants a block even with an empty mempool (work the state
   * transition does at a block's time), or null. Default: consensus/idle.ts chainWorkAt.
   */
  readonly scheduledWorkAt?: (state: ChainState) => number | null;
}

export interface Evidence {
  readonly validator: string;
  readonly height: number;
  readonly round: number;
  readonly kind: 'prevote' | 'precommit' | 'proposal';
  readonly first: string;
  readonly second: string;
}

export type EngineOutput =
  | { readonly kind: 'broadcast'; readonly msg: WireMessage }
  | { readonly kind: 'send'; readonly to: string; readonly msg: WireMessage }
  | {
    readonly kind: 'commit'; readonly height: number; readonly hash: Buffer; readonly bytes: Buffer; readonly block: Block;
    readonly commit: Commit; readonly state: ChainState; readonly anchors: readonly AnchorRecord[]; readonly via: 'consensus' | 'sync'; readonly at: number;
  }
  | { readonly kind: 'evidence'; readonly evidence: Evidence };
