// What a node re-sends every gossip interval (engine.ts calls it; pure). The paper assumes
// gossip: what a correct process sent or received eventually reaches every correct process.
// Links drop messages, so: the status (height) every time, so lagging peers sync; in a running
// height this node's votes of the current and previous round every time, all of its votes of the
// height every fifth time, the proof-of-lock of its valid value (a re-proposal needs it), every
// vote of the round now and then, and the round's proposal to validators that have not voted for
// it; while the next height waits (idle), this node's precommit for the head block now and then,
// so the next proposer can still put it in its commit (consensus/late-precommits.ts); and the
// local transactions still waiting every 30th time.
import { txMessages, type WireMessage } from '../codec/messages.js';
import type { VoteType } from '../codec/vote.js';
import type { ValidatorEntry } from '../chain/state.js';
import type { HeightMachine } from './height-machine.js';
import type { EngineOutput, Value, VoteEnvelope } from './engine-types.js';

export interface GossipView {
  /** How many times gossip ran, this time included. */
  readonly count: number;
  readonly now: number;
  readonly self: string;
  readonly slotMs: number;
  /** The height of the machine (running or waiting). */
  readonly height: number;
  readonly persistedHeight: number;
  readonly machine: HeightMachine<Value, VoteEnvelope> | null;
  readonly ownVotes: ReadonlyMap<string, WireMessage>;
  readonly proposals: ReadonlyMap<number, WireMessage>;
  /** Per `${validator}:${round}`: when the proposal was last re-sent to it (updated here). */
  readonly proposalResent: Map<string, number>;
  readonly validators: readonly ValidatorEntry[];
  readonly heightStartedAt: number;
  readonly lastPrecommit: WireMessage | null;
  localTxs(): Buffer[];
}

export function gossipOutputs(g: GossipView): EngineOutput[] {
  const out: EngineOutput[] = [];
  const m = g.machine;
  out.push({ kind: 'broadcast', msg: { t: 'status', height: g.persistedHeight, round: m?.round ?? 0 } });
  const everything = g.count % 5 === 0;
  if (!m?.started) {
    if (g.lastPrecommit && everything) out.push({ kind: 'broadcast', msg: g.lastPrecommit });
  } else {
    const vote = (v: { type: VoteType; valueId: string | null; envelope?: VoteEnvelope }, round: number): WireMessage => ({
      t: 'vote', type: v.type, height: g.height, round, value: v.valueId ? Buffer.from(v.valueId, 'hex') : null, validator: v.envelope!.validator, signature: v.envelope!.signature,
    });
    for (const [k, msg] of g.ownVotes) {
      const round = Number(k.split(':')[0]);
      if (everything || round >= m.round - 1) out.push({ kind: 'broadcast', msg });
    }
    if (m.validRound >= 0 && m.validValue) {
      for (const v of m.votesForValue('prevote', m.validRound, m.validValue.id)) if (v.from !== g.self) out.push({ kind: 'broadcast', msg: vote(v, m.validRound) });
    }
    if (everything) {
      for (const type of ['prevote', 'precommit'] as const) {
        for (const v of m.votesFor(type, m.round)) if (v.from !== g.self) out.push({ kind: 'broadcast', msg: vote(v, m.round) });
      }
    }
    // The proposal: at most every half slot per peer (a block can be 1 MiB, and on a LAN it was
    // most likely received), and not right after this node broadcast it.
    const p = g.proposals.get(m.round);
    const prop = m.proposalFor(m.round);
    if (p && prop) {
      const voted = new Set([...m.votesFor('prevote', m.round), ...m.votesFor('precommit', m.round)].filter((v) => v.valueId === prop.valueId).map((v) => v.from));
      for (const v of g.validators) {
        if (v.publicKey === g.self || voted.has(v.publicKey)) continue;
        const key = `${v.publicKey}:${m.round}`;
        const last = g.proposalResent.get(key);
        if (last !== undefined && g.now - last < g.slotMs / 2) continue;
        if (last === undefined && p.t === 'proposal' && p.proposer.toString('hex') === g.self && g.now - g.heightStartedAt < g.slotMs / 2) continue;
        g.proposalResent.set(key, g.now);
        out.push({ kind: 'send', to: v.publicKey, msg: p });
      }
    }
  }
  // Over TCP they arrived unless a connection dropped, and a reconnecting peer gets them at once anyway.
  if (g.count % 30 === 0) {
    const local = g.localTxs();
    for (const msg of local.length > 0 ? txMessages(local) : []) out.push({ kind: 'broadcast', msg });
  }
  return out;
}
