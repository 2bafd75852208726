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
import { CreditWorker, type CreditOutput } from '../../../services/ledger/credits/worker.js';
import { Cheater } from './cheater.js';
import { CreditOracle, checkCredits, totals, type RealSession } from './credit-invariants.js';
import { makeSession, SimStore, uuidFrom, type SimSession } from './sessions.js';
import { checkIdle, type IdleFigures } from './idle-checks.js';
import { SIM_PAYOUT_POOL, StatementSim } from './statements.js';

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
  worker: CreditWorker | Cheater | null = null;
  generation = 0;
  lastPersistAt = 0;
  constructor(readonly name: string, readonly signer: Signer, readonly honest: boolean, readonly disk: Disk, readonly store: SimStore, readonly cheater: boolean) {}
  get key(): string { return this.signer.publicKey.toString('hex'); }
}

type Event =
  | { at: number; seq: number; kind: 'deliver'; to: SimNode; from: string; msg: WireMessage }
  | { at: number; seq: number; kind: 'persist'; node: SimNode; generation: number; out: Extract<EngineOutput, { kind: 'commit' }> }
  | { at: number; seq: number; kind: 'fault'; index: number }
  | { at: number; seq: number; kind: 'admin'; wave: number | null }
  | { at: number; seq: number; kind: 'probe'; node: string };

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
  /** Relay sessions and storage audits credited to honest nodes; the cheater's attempts by kind. */
  readonly credited: { readonly relay: number; readonly storage: number };
  readonly cheats: Readonly<Record<string, number>> | null;
  /** Idle seeds: the quiet tail's blocks and the probes' finality (ms). */
  readonly idle: IdleFigures | null;
  /** Statement seeds: statements final on the reference chain, false ones the liar proposed. */
  readonly statements: { readonly final: number; readonly lies: number } | null;
}

/** Chain parameters of the simulated chain: slots of 1 s, epochs of 10 slots, credit deadlines of a few slots. */
export function simParams(slotMs: number, emptyBlockIntervalMs: number | null = null, payoutPool = 0) {
  return {
    ...(payoutPool > 0 ? { payoutPool } : {}),
    epochMs: 10 * slotMs, windowMs: 70 * slotMs, maxJoinPower: SIM_MAX_JOIN_POWER,
    // With idle heights the gap cap covers a heartbeat (credits/README: set it at least to it),
    // and the answer and verdict deadlines get a slot more: a height starts at a node once the
    // work reaches it, so under the sim's delays (up to 400 ms) block times drift by a network
    // delay per height, which 2–3-slot deadlines do not absorb (seed 572: an answer missed its
    // deadline by 137 ms). Production deadlines are 30 and 60 slots.
    challengePeriodMs: 5 * slotMs, answerMs: (emptyBlockIntervalMs === null ? 2 : 3) * slotMs, verifyMs: (emptyBlockIntervalMs === null ? 3 : 4) * slotMs,
    uptimeMaxGapMs: Math.max(3 * slotMs, (emptyBlockIntervalMs ?? 0) + slotMs),
  };
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
    params: simParams(s.slotMs, s.emptyBlockIntervalMs, s.statements ? SIM_PAYOUT_POOL : 0),
  });
  const adm = s.admission ? new AdmissionDriver(s.admission, s.seed, [...signers.values()].map((x) => x.publicKey), new Rng(s.seed ^ 0xad)) : null;
  if (adm?.joiner) signers.set('j', adm.joiner);
  const genesisState = initialState(genesis);
  let now = 1_000_000;
  let seq = 0;
  const queue = new Heap();
  const stores = new Map(s.validators.map((v) => [v.name, new SimStore()]));
  const nodes = [...s.instances, ...(adm?.joiner ? ['j'] : [])].map((name) => {
    const validator = name.replace(/[ab]$/, '');
    const twin = s.twins.includes(validator);
    return new SimNode(name, signers.get(twin ? validator : name)!, !twin, {
      guard: new MemoryGuardStorage(), blocks: new Map(), state: genesisState, headCommit: null, anchors: [], anchorIndex: new Map(),
    }, stores.get(validator) ?? new SimStore(), validator === s.cheater);
  });
  const cheaterKey = s.cheater ? signers.get(s.cheater)!.publicKey.toString('hex') : null;
  const creditRng = new Rng(s.seed ^ 0xc4ed17);
  const cheats = { forge: 0, leaf: 0, replay: 0, late: 0, vote: 0 };
  const real: Array<{ node: string; session: SimSession }> = [];
  const honestKeys = new Set(nodes.filter((n) => n.honest).map((n) => n.key));
  const inv = new Invariants('sim', genesisState, honestKeys, () => now, adm?.joiner ? [adm.joiner.publicKey.toString('hex')] : []);
  const firstWithJoiner = new Map<string, number>();
  const stmts = s.statements ? new StatementSim() : null;
  if (stmts) inv.onApplied.push((a) => stmts.onApplied(a));
  const stateEpochs = (node: SimNode, state: ChainState): void => { stmts?.submit(state, node.signer, (tx) => node.engine?.submitTx(tx, now)); };
  const oracle = new CreditOracle(genesisState.params, genesisState.genesisTime);
  inv.onApplied.push((a) => oracle.onApplied(a));
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

  const credit = (node: SimNode, o: CreditOutput): void => {
    if (!node.engine) return;
    if (o.kind === 'tx') node.engine.submitTx(o.tx, now);
    else for (const to of nodes) if (to.key === o.to) sendTo(node, to, o.msg);
  };

  const boot = (node: SimNode): void => {
    const recentAnchors = new RecentAnchorIndex();
    recentAnchors.add(node.disk.anchors);
    const mempool = new Mempool({
      chainId: 'sim', verifier: fakeVerifier, isAnchored: (m) => recentAnchors.get(m) !== undefined,
      admissible: (tx) => membershipPrecheck(node.engine?.state ?? node.disk.state, tx) === null && StatementSim.admissible(node.engine?.state ?? node.disk.state, tx),
    });
    node.engine = new Engine({
      signer: node.signer,
      verifier: fakeVerifier,
      guard: new SignGuard(node.disk.guard, node.signer.sign),
      mempool,
      recentAnchors,
      config: {
        slotMs: s.slotMs, gossipMs: s.slotMs / 5, injectLockBug: s.lockBug && node.honest,
        ...(s.emptyBlockIntervalMs !== null ? { emptyBlockIntervalMs: s.emptyBlockIntervalMs } : {}),
        ...(opts.timeouts ? { timeouts: opts.timeouts } : {}),
        ...(!node.honest && adm ? { tamperBlock: adm.tamper(() => node.engine?.state) } : {}),
        ...(stmts && node.name === s.statementLiar ? { tamperBlock: stmts.liar(node.signer, () => node.engine?.state, (p) => creditRng.chance(p)) } : {}),
      },
    }, { state: node.disk.state, headCommit: node.disk.headCommit, now });
    const base = { chainId: 'sim', signer: node.signer, anchors: recentAnchors, emit: (o: CreditOutput) => credit(node, o), now: () => now };
    node.worker = node.cheater
      ? new Cheater({ ...base, store: node.store, rng: creditRng, slotMs: s.slotMs, counts: cheats })
      : new CreditWorker({ ...base, port: node.store.port, retryMs: s.slotMs / 4, resendMs: 3 * s.slotMs, batchMs: s.slotMs / 2, injectTrustBug: s.trustBug });
    handle(node, node.engine.start(now));
    node.worker.onState(node.disk.state);
    stateEpochs(node, node.disk.state);
  };

  s.events.forEach((e, index) => queue.push({ at: e.at + 1_000_000, seq: seq++, kind: 'fault', index }));
  s.admission?.waves.forEach((w, wave) => queue.push({ at: w.at + 1_000_000, seq: seq++, kind: 'admin', wave }));
  if (s.admission) queue.push({ at: s.admission.approveFrom + 1_000_000, seq: seq++, kind: 'admin', wave: null });
  for (const p of s.idleProbes) queue.push({ at: p.at + 1_000_000, seq: seq++, kind: 'probe', node: p.node });
  /** Probe anchors (manifest hash): when submitted; when first durable on an honest node. */
  const probes = new Map<string, { submitted: number; final: number | null }>();
  /** Every block of the reference chain once decided: its time and whether it carried transactions. */
  const blocks = new Map<number, { time: number; txs: number }>();
  inv.onApplied.push((a) => blocks.set(a.block.header.height, { time: a.block.header.time, txs: a.block.txs.length }));
  for (const n of nodes) boot(n);
  const end = s.endAt + 1_000_000;
  const healAt = s.healAt + 1_000_000;

  for (let steps = 0; steps < 2_000_000; steps++) {
    let wakeNode: SimNode | null = null;
    let wakeAt = Infinity;
    for (const n of nodes) {
      if (!n.engine) continue;
      const w = Math.min(n.engine.nextWakeAt(), n.worker!.nextWakeAt());
      if (w < wakeAt) { wakeAt = w; wakeNode = n; }
    }
    const ev = queue.peek();
    const evAt = ev ? ev.at : Infinity;
    if (Math.min(wakeAt, evAt) > end) break;
    if (wakeNode && wakeAt < evAt) {
      now = Math.max(now, wakeAt);
      wakeNode.worker!.tick();
      if (wakeNode.engine) handle(wakeNode, wakeNode.engine.tick(now));
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
      if (msg.t === 'getObject' || msg.t === 'object') {
        to.worker!.onMessage(ev!.from, msg);
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
      if (node.honest) for (const a of out.anchors) { const p = probes.get(a.manifestHash); if (p && p.final === null) p.final = now; }
      if (adm?.joiner && !firstWithJoiner.has(node.name) && out.state.validators.some((v) => v.publicKey === adm.joiner!.publicKey.toString('hex'))) firstWithJoiner.set(node.name, out.height);
      node.worker!.onState(out.state);
      stateEpochs(node, out.state);
      if (node.engine) handle(node, node.engine.onPersisted(out.height, now));
    } else if (ev!.kind === 'probe') {
      // A session completed while the chain is idle: its anchor must be final within 2 slots.
      const pn = ev!.node;
      const node = nodes.find((n) => n.name === pn);
      if (!node?.engine) continue;
      const session = makeSession(creditRng, `${s.seed}:probe:${anchorCounter++}`);
      node.store.add(session);
      real.push({ node: node.key, session });
      probes.set(session.manifestHash.toString('hex'), { submitted: now, final: null });
      trace?.(`t=${now} probe anchor at ${node.name} (idle: height ${node.engine.height}, step ${node.engine.step})`);
      node.engine.submitTx(signTx('sim', { type: 'anchor', sessionId: uuidFrom(`${s.seed}:probe:${anchorCounter}`), manifestHash: session.manifestHash, merkleRoot: session.root, node: node.signer.publicKey, chunkCount: session.chunkCount, chunkSize: session.chunkSize, totalBytes: session.totalBytes }, node.signer.sign), now);
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
        // Links cut by the partition come back: what a real connection does then (TCP delivers
        // what it held back, a dropped WebSocket reconnects), the engine does on onPeerConnected —
        // it re-offers its waiting transactions and the round's proposal at once.
        const cut = partition;
        partition = null;
        if (cut) {
          const side = (n: SimNode): number => cut.findIndex((g) => g.includes(n.name));
          for (const a of nodes) for (const b of nodes) if (a.engine && a !== b && a.key !== b.key && side(a) !== side(b)) handle(a, a.engine.onPeerConnected(b.key, now));
        }
        if (now >= healAt && !healed) { healed = true; inv.onHeal(); }
      } else if (f.kind === 'crash' && node?.engine) {
        node.engine = null;
        node.worker = null;
        node.generation++;
        crashes++;
      } else if (f.kind === 'restart' && node && !node.engine) {
        if (node.honest) inv.checkAnchorsKept(node.name, node.disk.state.height, node.disk.anchorIndex);
        boot(node);
      } else if (f.kind === 'anchor' && node?.engine) {
        const n = anchorCounter++;
        const session = makeSession(creditRng, `${s.seed}:${n}`);
        let sizes = { chunkCount: session.chunkCount, chunkSize: session.chunkSize, totalBytes: session.totalBytes };
        let root = session.root;
        if (node.cheater) {
          // Sessions it never had (a made-up root, inflated sizes), sessions whose objects it
          // dropped (it keeps the leaves), sessions it holds but answers late; sizes no manifest
          // can have; a first-format relay proof claiming gigabytes.
          const lie = creditRng.int(0, 3);
          if (lie === 0) {
            root = sha256(Buffer.from(`fake:${s.seed}:${n}`));
            sizes = { chunkCount: 1000, chunkSize: 16 * 1024 * 1024, totalBytes: 1000 * 16 * 1024 * 1024 };
          } else if (lie === 1) {
            session.objects = null;
            node.store.add(session);
          } else if (lie === 2) {
            node.store.add(session);
          } else {
            sizes = { ...sizes, totalBytes: sizes.chunkCount * sizes.chunkSize + 1 };
          }
          const relayV1 = Buffer.concat([Buffer.of(1, 2), node.signer.publicKey, Buffer.of(1), Buffer.alloc(4), Buffer.from('00000001', 'hex'), Buffer.from('0000000ba43b7400', 'hex')]);
          node.engine.submitTx(Buffer.concat([relayV1, node.signer.sign(relayV1)]), now);
        } else {
          node.store.add(session);
          real.push({ node: node.key, session });
        }
        try {
          const tx = signTx('sim', { type: 'anchor', sessionId: uuidFrom(`${s.seed}:${n}`), manifestHash: session.manifestHash, merkleRoot: root, node: node.signer.publicKey, ...sizes }, node.signer.sign);
          node.engine.submitTx(tx, now);
        } catch { /* sizes no encoding can carry: nothing to submit */ }
      }
    }
  }

  let idle: IdleFigures | null = null;
  if (s.liveness !== 'none') inv.checkLiveness(healAt, s.slotMs, s.emptyBlockIntervalMs);
  if (s.emptyBlockIntervalMs !== null) idle = checkIdle(inv, s, probes, blocks, end, 1_000_000);
  const joinedAt = adm?.joiner ? inv.joinedAt(adm.joiner.publicKey.toString('hex')) : null;
  if (adm?.joiner) {
    if (joinedAt === null) inv.fail(`admission: the approved joiner never joined (height ${inv.maxHeight})`);
    for (const n of nodes) {
      if (!n.honest || n.disk.state.height < (joinedAt ?? Infinity)) continue;
      if (firstWithJoiner.get(n.name) !== joinedAt) inv.fail(`admission: ${n.name} has the joiner from height ${firstWithJoiner.get(n.name)}, the chain from ${joinedAt}`);
    }
  }
  if (adm) inv.checkNeverJoined(adm.forbidden);
  if (stmts) inv.violations.push(...stmts.violations.slice(0, 5));
  // Credits, on the reference chain: recounted, no false credit, sound, and earned when clean.
  const head = inv.head;
  inv.violations.push(...oracle.check(head).slice(0, 5));
  const realSessions: RealSession[] = real.map((r) => ({ node: r.node, totalBytes: r.session.totalBytes, anchoredAt: inv.refAnchors.get(r.session.manifestHash.toString('hex'))?.time ?? null }));
  const settle = 5 * s.slotMs;
  inv.violations.push(...checkCredits(head, {
    cheater: cheaterKey, honest: [...honestKeys].filter((k) => k !== cheaterKey), real: realSessions,
    settledBefore: s.clean && !s.trustBug ? end - settle : null,
  }).slice(0, 5));
  const honestTotals = [...honestKeys].filter((k) => k !== cheaterKey).map((k) => totals(head, k));
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
    credited: { relay: honestTotals.reduce((a, t) => a + t.relaySessions, 0), storage: honestTotals.reduce((a, t) => a + t.storage, 0) },
    cheats: s.cheater ? cheats : null, idle,
    statements: stmts ? { final: stmts.final, lies: stmts.attempts } : null,
  };
}
