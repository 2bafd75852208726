// When does the next height start? (issue 24: an idle appliance must not wear out its SD card.)
//
// Every height costs durable writes on every validator — three double-sign guard records, the
// locked block, the block's LevelDB batch, each synced — so a chain with nothing to record does
// not decide empty heights every slot. The machine of the next height is created when the
// previous block is durable, but it is *started* (round 0, its timeouts, the proposer's
// proposal) only when one of these holds, never earlier than a slot after the previous block's
// time (`notBefore`):
//
//   work       the mempool holds a transaction the next block would take (checked by building
//              that block, so a transaction the chain refuses cannot keep a node busy), or the
//              chain state wants a block by now (`chainWorkAt`: intake challenges held back
//              because the block that anchored the session was its own node's — they are issued
//              by the next block another validator proposes, which must not wait for the heartbeat);
//   heartbeat  the previous block's time is `emptyBlockIntervalMs` old: a liveness block, so
//              peers, uptime and epochs keep moving on an idle chain (CometBFT's
//              create_empty_blocks_interval);
//   joined     a validator's signed proposal or vote for this height arrived: another node
//              started it (it had the work first, or its clock said heartbeat) and a height
//              only moves with > 2/3 of the power in it, so every node that hears of it joins;
//   resumed    the double-sign guard holds records of this height: the node signed in it before
//              a restart, and the others may be waiting for it.
//
// Nothing is scheduled while a node waits: no round timeouts fire, nothing is signed, nothing
// is written. A transaction arriving while idle starts the height at once (or at `notBefore`),
// so it is final within a slot and the consensus time — the proposer gets it by gossip within
// the 50 ms batch and proposes; the others start on its proposal. A node whose heartbeat is
// shorter than its peers' drags them along (they join on its messages): the chain's heartbeat
// is the shortest one among its validators.
import { txId } from '../codec/tx.js';
import type { Commit } from '../codec/block.js';
import { buildBlock } from '../chain/build.js';
import type { ApplyContext } from '../chain/apply.js';
import type { ChainState } from '../chain/state.js';
import type { Mempool } from '../mempool.js';

export type StartReason = 'work' | 'heartbeat' | 'joined' | 'resumed' | 'every-slot';

export interface IdleFacts {
  readonly now: number;
  /** A slot after the previous block's time (or the boot time): no height starts before it. */
  readonly notBefore: number;
  /** The previous block's time (the genesis time before block 1). */
  readonly headTime: number;
  readonly slotMs: number;
  readonly emptyBlockIntervalMs: number | undefined;
  /** A validator's message for this height arrived. */
  readonly joined: boolean;
  /** The guard holds records of this height. */
  readonly resumed: boolean;
  /** When the state wants a block (null: never). */
  readonly scheduledWorkAt: number | null;
  /** Whether the next block would carry a transaction (asked last: it builds a block). */
  hasTxWork(): boolean;
}

/** Whether every slot gets a block, as before the idle rule (no interval, or one within a slot). */
export function everySlot(slotMs: number, emptyBlockIntervalMs: number | undefined): boolean {
  return emptyBlockIntervalMs === undefined || emptyBlockIntervalMs <= slotMs;
}

/** The heartbeat's due time for a chain whose last block has time `headTime`. */
export function heartbeatAt(headTime: number, slotMs: number, emptyBlockIntervalMs: number | undefined): number {
  return everySlot(slotMs, emptyBlockIntervalMs) ? headTime + slotMs : headTime + emptyBlockIntervalMs!;
}

/**
 * Start now (with the reason), or wait: then `wakeAt` is when to look again without any input
 * (the heartbeat, or the state's scheduled work) — a transaction or a peer's message wakes the
 * node earlier.
 */
export function startDecision(f: IdleFacts): { readonly start: StartReason } | { readonly start: null; readonly wakeAt: number } {
  if (f.resumed) return { start: 'resumed' };
  if (f.joined) return { start: 'joined' };
  if (f.now < f.notBefore) return { start: null, wakeAt: f.notBefore };
  if (everySlot(f.slotMs, f.emptyBlockIntervalMs)) return { start: 'every-slot' };
  const beat = heartbeatAt(f.headTime, f.slotMs, f.emptyBlockIntervalMs);
  if (f.now >= beat) return { start: 'heartbeat' };
  if (f.scheduledWorkAt !== null && f.now >= f.scheduledWorkAt) return { start: 'work' };
  if (f.hasTxWork()) return { start: 'work' };
  return { start: null, wakeAt: Math.max(f.notBefore, Math.min(beat, f.scheduledWorkAt ?? Infinity)) };
}

/**
 * Whether the next block would carry a transaction: the block round 0's proposer would build
 * with the mempool as it is. Transactions the chain refuses are dropped from the mempool on the
 * way (as the proposer's own build does), so they cannot keep an idle node starting heights.
 */
export function nextBlockCarriesTxs(a: {
  readonly state: ChainState; readonly order: readonly string[]; readonly now: number; readonly headCommit: Commit | null;
  readonly mempool: Mempool; readonly ctx: ApplyContext;
}): boolean {
  if (a.mempool.count === 0 || a.order.length === 0) return false;
  try {
    const built = buildBlock({
      state: a.state, proposer: Buffer.from(a.order[0]!, 'hex'), round: 0, now: a.now,
      lastCommit: a.state.height === 0 ? null : a.headCommit, candidates: a.mempool.candidates(), ctx: a.ctx,
      onRejected: (tx) => a.mempool.remove(txId(tx)),
    });
    return built.applied.block.txs.length > 0;
  } catch {
    return false;
  }
}

/**
 * When the chain state itself wants the next block although the mempool is empty (null: never):
 * at once while intake challenges wait in `intakeQueue` (credits/book.ts holds a session's
 * challenge back when its own node proposed the anchoring block; the proposer of the next height
 * is another validator, so the next block issues it). Audits are not work of this kind: they are
 * due every `challengePeriodMs` (1 h), and the heartbeat block issues them.
 */
export function chainWorkAt(state: ChainState): number | null {
  return state.intakeQueue.length > 0 ? state.headTime : null;
}
