// N nodes in one process: the production Engine per node, an in-memory "disk" per node that
// survives crashes (double-sign guard, persisted blocks and state), a simulated clock and a
// simulated network driven by one priority queue. Everything random comes from the seed.
import { Engine, type EngineOutput } from '../../../services/ledger/consensus/engine.js';
import { MemoryGuardStorage, SignGuard } from '../../../services/ledger/consensus/sign-guard.js';
import { Mempool } from '../../../services/ledger/mempool.js';
import { RecentAnchorIndex } from '../../../services/ledger/chain/recent-anchors.js';
import { initialState, type ChainState } from '../../../services/ledger/chain/state.js';
import { makeGenesis } from '../../../services/ledger/chain/genesis.js';
import type { AnchorRecord } from '../../../services/ledger/chain/apply.js';
import { encodeCommit, type Commit } from '../../../services/ledger/codec/block.js';
import { signTx } from '../../../services/ledger/codec/tx.js';
import type { WireMessage } from '../../../services/ledger/codec/messages.js';
import { sha256 } from '../../../services/common/merkle.js';
import { membershipPrecheck } from '../../../services/ledger/chain/admission.js';
import type { Signer } from '../../../services/ledger/crypto.js';
import { fakeSigner, fakeVerifier } from './fake-crypto.js';
import { Invariants } from './invariants.js';
import { Rng } from './rng.js';
import type { Scenario } from './scenario.js';
import type { Timeouts } from '../../../services/ledger/consensus/height-machine.js';
import { AdmissionDriver } from './admission-driver.js';
import { SIM_MAX_JOIN_POWER } from './admission-plan.js';

interface Disk {
  readonly guard: MemoryGuardStorage;
  readonly blocks: Map<number, { bytes: Buffer; commit: Buffer }>;
  state: ChainState;
  headCommit: Commit | null;
  readonly anchors: AnchorRecord[];
  readonly anchorIndex: Map<string, string>;
}

class SimNode {
  engine: Engine | null = null;
  generation = 0;
  lastPersistAt = 0;
  constructor(readonly name: string, readonly signer: Signer, readonly honest: boolean, readonly disk: Disk) {}
  get key(): string { return this.signer.publicKey.toString('hex'); }
}

type Event =
  | { at: number; seq: number; kind: 'deliver'; to: SimNode; from: string; msg: WireMessage }
  | { at: number; seq: number; kind: 'persist'; node: SimNode; generation: number; out: Extract<EngineOutput, { kind: 'commit' }> }
  | { at: number; seq: number; kind: 'fault'; index: number }
  | { at: number; seq: number; kind: 'admin'; wave: number | null };

class Heap {
  private a: Event[] = [];
  get size(): number { return this.a.length; }
  peek(): Event | undefined { return this.a[0]; }
  private less(i: number, j: number): boolean { const x = this.a[i]!; const y = this.a[j]!; return x.at < y.at || (x.at === y.at && x.seq < y.seq); }
  push(e: Event): void {
    this.a.push(e);
    let i = this.a.length - 1;
    while (i > 0) { const p = (i - 1) >> 1; if (!this.less(i, p)) break; [this.a[i], this.a[p]] = [this.a[p]!, this.a[i]!]; i = p; }
  }
  pop(): Event | undefined {
    const top = this.a[0];
    const last = this.a.pop();
    if (this.a.length > 0 && last) {
      this.a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1; const r = l + 1; let m = i;
        if (l < this.a.length && this.less(l, m)) m = l;
        if (r < this.a.length && this.less(r, m)) m = r;
        if (m === i) break;
        [this.a[i], this.a[m]] = [this.a[m]!, this.a[i]!]; i = m;
      }
    }
    return top;
  }
}

export interface SeedResult {
  readonly seed: number;
  readonly set: string;
  readonly violations: readonly string[];
  readonly height: number;
  readonly deliveries: number;
  readonly anchorsFinal: number;
  readonly twins: number;
  readonly crashes: number;
  /** Ms from the start to the first decided block (null: none). */
  readonly firstBlockAt: number | null;
  /** The height whose block admitted the joiner (null: no joiner, or it never joined). */
  readonly joinedAt: number | null;
  readonly sybilMessages: number;
}

export interface RunOptions {
  /** Round timeouts instead of the production ones (to show what a capped schedule does). */
  readonly timeouts?: Timeouts;
}

export function runSeed(s: Scenario, trace?: (line: string) => void, opts: RunOptions = {}): SeedResult {
  const rng = new Rng(s.seed ^ 0x5eed);
  const signers = new Map(s.validators.map((v) => [v.name, fakeSigner(`${s.seed}:${v.name}`)]));
  const genesis = makeGenesis({
    chainId: 'sim',
    genesisTime: 1_000_000,
    validators: s.validators.map((v) => ({ publicKey: signers.get(v.name)!.publicKey.toString('hex'), power: v.power })),
    params: { epochMs: 10 * s.slotMs, windowMs: 70 * s.slotMs, maxJoinPower: SIM_MAX_JOIN_POWER },
  });
  const adm = s.admission ? new AdmissionDriver(s.admission, s.seed, [...signers.values()].map((x) => x.publicKey), new Rng(s.seed ^ 0xad)) : null;
  if (adm?.joiner) signers.set('j', adm.joiner);
  const genesisState = initialState(genesis);
  let now = 1_000_000;
  let seq = 0;
  const queue = new Heap();
  const nodes = [...s.instances, ...(adm?.joiner ? ['j'] : [])].map((name) => {
    const validator = name.replace(/[ab]$/, '');
    const twin = s.twins.includes(validator);
    return new SimNode(name, signers.get(twin ? validator : name)!, !twin, {
      guard: new MemoryGuardStorage(), blocks: new Map(), state: genesisState, headCommit: null, anchors: [], anchorIndex: new Map(),
    });
  });
  const honestKeys = new Set(nodes.filter((n) => n.honest).map((n) => n.key));
  const inv = new Invariants('sim', genesisState, honestKeys, () => now, adm?.joiner ? [adm.joiner.publicKey.toString('hex')] : []);
  const firstWithJoiner = new Map<string, number>();
  let partition: ReadonlyArray<ReadonlyArray<string>> | null = null;
  let healed = false;
  let deliveries = 0;
  let crashes = 0;
  let anchorCounter = 0;

  const linked = (a: SimNode, b: SimNode): boolean => !partition || partition.some((g) => g.includes(a.name) && g.includes(b.name));

  const sendTo = (from: SimNode, to: SimNode, msg: WireMessage): void => {
    if (to === from || !linked(from, to)) return;
    const drop = healed ? 0 : s.drop;
    const dup = healed ? 0 : s.duplicate;
    const maxDelay = healed ? Math.min(s.delay.max, 20) : s.delay.max;
    if (rng.chance(drop)) return;
    const copies = rng.chance(dup) ? 2 : 1;
    for (let i = 0; i < copies; i++) queue.push({ at: now + rng.int(s.delay.min, maxDelay), seq: seq++, kind: 'deliver', to, from: from.key, msg });
  };

  const handle = (node: SimNode, outs: EngineOutput[]): void => {
    for (const o of outs) {
      if (o.kind === 'broadcast' || o.kind === 'send') {
        if (node.honest || o.msg.t === 'proposal' || o.msg.t === 'vote') inv.onSend(node.name, o.msg);
        for (const to of nodes) if (o.kind === 'broadcast' || to.key === o.to) sendTo(node, to, o.msg);
      } else if (o.kind === 'commit') {
        if (node.honest) inv.onDecide(node.name, o);
        const at = Math.max(node.lastPersistAt, now + rng.int(0, s.persistDelayMax));
        node.lastPersistAt = at;
        queue.push({ at, seq: seq++, kind: 'persist', node, generation: node.generation, out: o });
      }
    }
  };

  const boot = (node: SimNode): void => {
    const recentAnchors = new RecentAnchorIndex();
    recentAnchors.add(node.disk.anchors);
    const mempool = new Mempool({
      chainId: 'sim', verifier: fakeVerifier, isAnchored: (m) => recentAnchors.get(m) !== undefined,
      admissible: (tx) => membershipPrecheck(node.engine?.state ?? node.disk.state, tx) === null,
    });
    node.engine = new Engine({
      signer: node.signer,
      verifier: fakeVerifier,
      guard: new SignGuard(node.disk.guard, node.signer.sign),
      mempool,
      recentAnchors,
      config: {
        slotMs: s.slotMs, gossipMs: s.slotMs / 5, injectLockBug: s.lockBug && node.honest,
        ...(opts.timeouts ? { timeouts: opts.timeouts } : {}),
        ...(!node.honest && adm ? { tamperBlock: adm.tamper(() => node.engine?.state) } : {}),
      },
    }, { state: node.disk.state, headCommit: node.disk.headCommit, now });
    handle(node, node.engine.start(now));
  };

  s.events.forEach((e, index) => queue.push({ at: e.at + 1_000_000, seq: seq++, kind: 'fault', index }));
  s.admission?.waves.forEach((w, wave) => queue.push({ at: w.at + 1_000_000, seq: seq++, kind: 'admin', wave }));
  if (s.admission) queue.push({ at: s.admission.approveFrom + 1_000_000, seq: seq++, kind: 'admin', wave: null });
  for (const n of nodes) boot(n);
  const end = s.endAt + 1_000_000;
  const healAt = s.healAt + 1_000_000;

  for (let steps = 0; steps < 2_000_000; steps++) {
    let wakeNode: SimNode | null = null;
    let wakeAt = Infinity;
    for (const n of nodes) {
      if (!n.engine) continue;
      const w = n.engine.nextWakeAt();
      if (w < wakeAt) { wakeAt = w; wakeNode = n; }
    }
    const ev = queue.peek();
    const evAt = ev ? ev.at : Infinity;
    if (Math.min(wakeAt, evAt) > end) break;
    if (wakeNode && wakeAt < evAt) {
      now = Math.max(now, wakeAt);
      handle(wakeNode, wakeNode.engine!.tick(now));
      continue;
    }
    queue.pop();
    now = Math.max(now, ev!.at);
    if (ev!.kind === 'deliver') {
      const to = ev!.to;
      if (!to.engine) continue;
      deliveries++;
      const msg = ev!.msg;
      if (msg.t === 'getBlocks') {
        const items = [];
        for (let h = msg.from; h < msg.from + msg.count; h++) {
          const b = to.disk.blocks.get(h);
          if (!b) break;
          items.push({ block: b.bytes, commit: b.commit });
        }
        if (items.length > 0) for (const n of nodes) if (n.key === ev!.from) sendTo(to, n, { t: 'blocks', items });
        continue;
      }
      handle(to, to.engine.onMessage(ev!.from, msg, now));
    } else if (ev!.kind === 'persist') {
      const { node, out } = ev!;
      if (node.generation !== ev!.generation || !node.engine) continue; // lost in a crash
      node.disk.blocks.set(out.height, { bytes: out.bytes, commit: encodeCommit(out.commit) });
      node.disk.state = out.state;
      node.disk.headCommit = out.commit;
      for (const a of out.anchors) {
        node.disk.anchors.push(a);
        node.disk.anchorIndex.set(a.manifestHash, `${a.height}:${a.txIndex}`);
      }
      if (node.honest) inv.onPersisted(node.name, out.anchors);
      if (adm?.joiner && !firstWithJoiner.has(node.name) && out.state.validators.some((v) => v.publicKey === adm.joiner!.publicKey.toString('hex'))) firstWithJoiner.set(node.name, out.height);
      handle(node, node.engine.onPersisted(out.height, now));
    } else if (ev!.kind === 'admin') {
      if (ev!.wave === null) {
        adm!.tick(nodes, now);
        queue.push({ at: now + s.slotMs, seq: seq++, kind: 'admin', wave: null });
      } else {
        // At the planned node, or the first one up if it is down (every seed gets its flood).
        const planned = nodes.find((n) => n.name === s.admission!.waves[ev!.wave!]!.node)!;
        const target = planned.engine ? planned : nodes.find((n) => n.engine) ?? planned;
        handle(target, adm!.wave(s.admission!.waves[ev!.wave]!, target, now));
      }
    } else {
      const f = s.events[ev!.index]!;
      const node = 'node' in f ? nodes.find((n) => n.name === f.node) : undefined;
      trace?.(`t=${now} fault ${f.kind} ${'node' in f ? f.node : ''}${f.kind === 'partition' ? JSON.stringify(f.groups) : ''}`);
      if (f.kind === 'partition') partition = f.groups;
      else if (f.kind === 'heal') {
        partition = null;
        if (now >= healAt && !healed) { healed = true; inv.onHeal(); }
      } else if (f.kind === 'crash' && node?.engine) {
        node.engine = null;
        node.generation++;
        crashes++;
      } else if (f.kind === 'restart' && node && !node.engine) {
        if (node.honest) inv.checkAnchorsKept(node.name, node.disk.state.height, node.disk.anchorIndex);
        boot(node);
      } else if (f.kind === 'anchor' && node?.engine) {
        const n = anchorCounter++;
        const tx = signTx('sim', {
          type: 'anchor', sessionId: `s-${s.seed}-${n}`, manifestHash: sha256(Buffer.from(`m:${s.seed}:${n}`)),
          merkleRoot: sha256(Buffer.from(`r:${s.seed}:${n}`)), node: node.signer.publicKey,
        }, node.signer.sign);
        node.engine.submitTx(tx, now);
      }
    }
  }

  if (s.liveness !== 'none') inv.checkLiveness(healAt, s.slotMs);
  const joinedAt = adm?.joiner ? inv.joinedAt(adm.joiner.publicKey.toString('hex')) : null;
  if (adm?.joiner) {
    if (joinedAt === null) inv.fail(`admission: the approved joiner never joined (height ${inv.maxHeight})`);
    for (const n of nodes) {
      if (!n.honest || n.disk.state.height < (joinedAt ?? Infinity)) continue;
      if (firstWithJoiner.get(n.name) !== joinedAt) inv.fail(`admission: ${n.name} has the joiner from height ${firstWithJoiner.get(n.name)}, the chain from ${joinedAt}`);
    }
  }
  if (adm) inv.checkNeverJoined(adm.forbidden);
  for (const n of nodes) if (n.honest) inv.checkAnchorsKept(n.name, n.disk.state.height, n.disk.anchorIndex);
  trace?.(`end t=${now} heights ${nodes.map((n) => `${n.name}:${n.disk.state.height}`).join(' ')}`);
  for (const n of nodes) {
    const e = n.engine;
    trace?.(`  ${n.name} ${n.honest ? 'honest' : 'twin'} up=${!!e} disk=${n.disk.state.height} ${e ? `state=${e.state.height} persisted=${e.persistedHeight} h=${e.height} r=${e.round} step=${e.step} lock=${JSON.stringify(e.locked)} wake=${e.nextWakeAt() - now}` : ''} guard=${JSON.stringify(n.disk.guard.record ? { h: n.disk.guard.record.height, r: n.disk.guard.record.round, s: n.disk.guard.record.step } : null)}`);
  }
  return {
    seed: s.seed, set: s.set, violations: inv.violations, height: inv.maxHeight, deliveries,
    anchorsFinal: inv.finalAnchors.size, twins: s.twins.length, crashes,
    firstBlockAt: inv.firstBlockAt === null ? null : inv.firstBlockAt - 1_000_000, joinedAt, sybilMessages: adm?.sybilMessages ?? 0,
  };
}
