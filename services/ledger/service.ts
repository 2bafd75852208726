// The ledger inside the core process: genesis (given, or made for a standalone node on first
// boot), the chain in LevelDB, the consensus engine driven by real time, the transport and mDNS
// (multi-node chains only), and the anchor feed. The engine is synchronous; this class is the
// edge that performs its outputs: sends messages, persists blocks (one synced batch each, in
// order) and tells the engine when a block is durable.
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { LucidError } from '../common/errors.js';
import type { Lifecycle } from '../common/lifecycle.js';
import type { Logger } from '../common/log.js';
import type { MetricsRegistry } from '../common/metrics.js';
import { decodeBlock, encodeCommit, type Commit } from './codec/block.js';
import type { WireMessage } from './codec/messages.js';
import { genesisHash, type Genesis } from './chain/genesis.js';
import { loadGenesis, readPeerPins, writePeerPins } from './chain/genesis-file.js';
import { credits, epochOf, initialState, type ChainState, type Credits, type WorkCounts } from './chain/state.js';
import { RecentAnchorIndex } from './chain/recent-anchors.js';
import { dueStatementTx, StatementFeed, txAdmissible } from './statement-feed.js';
import { Engine, type EngineOutput, type Evidence } from './consensus/engine.js';
import { MemoryGuardStorage, SignGuard, type GuardStorage } from './consensus/sign-guard.js';
import { FileGuardStorage } from './consensus/guard-file.js';
import { ed25519Verifier, type Signer } from './crypto.js';
import { Mempool } from './mempool.js';
import { ChainStore, type LevelPort } from './store/chain-store.js';
import { AnchorFeeder } from './anchors/feeder.js';
import type { AnchorSource } from './anchors/source.js';
import { anchorProof, type AnchorProof } from './anchors/proof.js';
import type { Transport } from './p2p/transport.js';
import type { MdnsDiscovery } from './p2p/mdns.js';
import { CreditWorker, type ChunkPort, type CreditOutput } from './credits/worker.js';

const TX_ADMISSION_CHUNK = 256;

export interface LedgerConfig {
  readonly slotMs: number;
  /**
   * LUCID_EMPTY_BLOCK_INTERVAL_S in ms: with an empty mempool no height starts until the last
   * block is this old (consensus/idle.ts). 0 (or up to a slot): a block every slot.
   */
  readonly emptyBlockIntervalMs: number;
  readonly p2pHost: string;
  readonly p2pPort: number;
  readonly peers: readonly string[];
  /** LUCID_GENESIS: a multi-node chain's genesis file; null makes (or reuses) a standalone chain. */
  readonly genesisPath: string | null;
  readonly mdns: boolean;
  /** The payout pool (micro-USDT per epoch) a standalone chain's genesis gets when first made (LUCID_PAYOUT_POOL_USDT). */
  readonly payoutPool?: number;
}

export interface LedgerIdentity {
  readonly nodeId: string;
  readonly publicKeyHex: string;
  sign(message: Uint8Array): Buffer;
  /** The node key itself, for the TLS certificate (multi-node chains only). */
  readonly privateKey?: KeyObject;
}

export interface LedgerDeps {
  readonly log: Logger;
  readonly db: LevelPort;
  readonly dataDir: string;
  readonly identity: LedgerIdentity;
  readonly config: LedgerConfig;
  readonly anchorSource?: AnchorSource;
  /** This node's stored sessions, to answer storage challenges (the sessions service in core). */
  readonly chunkSource?: ChunkPort;
  readonly metrics?: MetricsRegistry;
  readonly now?: () => number;
  /** Replaces the WebSocket transport (tests). */
  readonly transport?: (chainId: string, genesisHash: Buffer) => Transport;
}

export interface BlockStat {
  readonly height: number;
  readonly round: number;
  readonly hash: string;
  readonly proposer: string;
  readonly txCount: number;
  readonly anchors: number;
  readonly bytes: number;
  readonly time: number;
  readonly decidedAt: number;
  readonly persistedAt: number;
  /** Decision time minus the proposer's block time (same clock on one machine, NTP on a LAN). */
  readonly finalityMs: number;
  readonly via: 'consensus' | 'sync';
}

export class LedgerService implements Lifecycle {
  private engine: Engine | null = null;
  private credits: CreditWorker | null = null;
  private store: ChainStore;
  private transport: Transport | null = null;
  private mdns: MdnsDiscovery | null = null;
  private feeder: AnchorFeeder | null = null;
  private timer: NodeJS.Timeout | null = null;
  private persisting: Promise<void> = Promise.resolve();
  private guardStorage: GuardStorage & { close?(): void } | null = null;
  private stopped = false;
  private readonly log: Logger;
  private readonly recent: BlockStat[] = [];
  private genesisDoc: Genesis | null = null;
  private persistedState: ChainState | null = null;
  private readonly verifier = ed25519Verifier();
  private readonly pinsPath: string;
  private readonly finality?: import('../common/metrics.js').Histogram;
  private readonly blocksCounter?: import('../common/metrics.js').Counter;

  constructor(private readonly deps: LedgerDeps) {
    this.log = deps.log.child({ module: 'ledger' });
    this.store = new ChainStore(deps.db);
    this.pinsPath = join(deps.dataDir, 'ledger', 'peer-pins.json');
    if (deps.metrics) {
      this.finality = deps.metrics.histogram('lucid_ledger_finality_seconds', 'Proposal (block time) to decision, per block decided by consensus', [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30]);
      this.blocksCounter = deps.metrics.counter('lucid_ledger_blocks_total', 'Blocks made durable, by how they arrived');
      deps.metrics.gauge('lucid_ledger_height', 'Height of the last durable block', (set) => set(this.persistedState?.height ?? 0));
      deps.metrics.gauge('lucid_ledger_mempool_transactions', 'Transactions waiting for a block', (set) => set(this.engine?.mempool.count ?? 0));
      deps.metrics.gauge('lucid_ledger_peers', 'Connected peers', (set) => set(this.transport?.peers().length ?? 0));
    }
  }

  private get now(): number {
    return (this.deps.now ?? Date.now)();
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  async start(): Promise<void> {
    const { config, identity } = this.deps;
    const genesis = await loadGenesis({
      genesisPath: config.genesisPath, peers: config.peers, dataDir: this.deps.dataDir, publicKeyHex: identity.publicKeyHex,
      nodeId: identity.nodeId, payoutPool: config.payoutPool ?? 0, now: this.now, log: this.log,
    });
    this.genesisDoc = genesis;
    const gHash = genesisHash(genesis).toString('hex');
    const stored = await this.store.genesisHash();
    if (stored === undefined) {
      await this.store.setGenesis(gHash, initialState(genesis));
    } else if (stored !== gHash) {
      throw new LucidError('LEDGER_ERR_GENESIS_MISMATCH',
        `the chain in ${this.deps.dataDir} belongs to genesis ${stored.slice(0, 16)}…, not ${gHash.slice(0, 16)}… (${this.deps.config.genesisPath ?? 'standalone genesis'}); move the ledger data away or point LUCID_GENESIS at the right file`,
        { stored, configured: gHash });
    }
    const head = await this.store.head();
    const state = head?.state ?? initialState(genesis);
    this.persistedState = state;
    const headCommit: Commit | null = state.height > 0 ? (await this.store.commit(state.height)) ?? null : null;

    const recentAnchors = new RecentAnchorIndex();
    const since = RecentAnchorIndex.loadFrom(state);
    const batch = [];
    for await (const a of this.store.anchorsSince(since)) batch.push(a);
    recentAnchors.add(batch);

    const signer: Signer = { publicKey: Buffer.from(this.deps.identity.publicKeyHex, 'hex'), sign: (m) => this.deps.identity.sign(m) };
    // The guard makes every signature durable before it leaves the node. A standalone chain has
    // no network: its proposals and votes never leave the process, and what it decided is known
    // only once the block's batch is durable — so there is nothing another node could hold
    // against it, and its guard lives in memory (no synced write per step: issue 24).
    this.guardStorage = this.multiNode ? new FileGuardStorage(join(this.deps.dataDir, 'ledger')) : new MemoryGuardStorage();
    const guard = new SignGuard(this.guardStorage, signer.sign);
    const mempool = new Mempool({
      chainId: state.chainId, verifier: this.verifier, isAnchored: (m) => recentAnchors.get(m) !== undefined,
      admissible: (tx) => txAdmissible(this.engine?.state ?? state, tx),
    });
    const engine = new Engine({
      signer, verifier: this.verifier, guard, mempool, recentAnchors,
      config: { slotMs: this.deps.config.slotMs, emptyBlockIntervalMs: this.deps.config.emptyBlockIntervalMs },
    }, { state, headCommit, now: this.now });
    this.engine = engine;
    // Storage challenges: answers from our sessions, verdicts on everyone's (README "Storage challenges").
    this.credits = new CreditWorker({
      chainId: state.chainId, signer, anchors: recentAnchors, port: this.deps.chunkSource, now: () => this.now,
      retryMs: Math.max(500, this.deps.config.slotMs), resendMs: 3 * Math.max(1000, this.deps.config.slotMs), batchMs: Math.min(200, Math.max(20, this.deps.config.slotMs / 10)),
      emit: (o) => this.onCredit(o),
      onError: (what, err) => this.log.warn({ err }, `storage challenge: ${what} failed`),
    });

    if (this.multiNode) await this.startNetwork(state.chainId, Buffer.from(gHash, 'hex'));

    if (this.deps.anchorSource) {
      this.feeder = new AnchorFeeder({
        log: this.log, source: this.deps.anchorSource, store: this.store, chainId: state.chainId,
        nodeKey: signer.publicKey, sign: signer.sign, submit: (tx) => this.submit(tx), now: () => this.now,
      });
    } else {
      for (const p of await this.store.pendingAnchors()) this.submit(Buffer.from(p.tx, 'hex'));
    }
    // Anchors first (pending ones and what completed while the node was down), so that the very
    // first proposal of this run can already carry them.
    await this.feeder?.start();
    this.handle(engine.start(this.now));
    this.credits.onState(state);
    this.submitStatement(state);
    this.log.info({
      chainId: state.chainId, height: state.height, validators: state.validators.length, validator: engine.isValidator,
      slotMs: this.deps.config.slotMs, p2p: this.multiNode ? this.transport?.port : null,
    }, 'ledger started');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.feeder?.stop();
    this.mdns?.stop();
    await this.transport?.stop();
    await this.persisting.catch(() => {});
    this.guardStorage?.close?.();
  }

  private get multiNode(): boolean {
    return this.deps.config.genesisPath !== null;
  }

  private async startNetwork(chainId: string, gHash: Buffer): Promise<void> {
    const pins = readPeerPins(this.pinsPath);
    if (!this.deps.transport && !this.deps.identity.privateKey) throw new Error('a multi-node ledger needs the node private key for TLS');
    // Loaded only for a multi-node chain: a standalone appliance never initialises ws or mDNS.
    const { WsTransport } = await import('./p2p/ws-transport.js');
    const transport = this.deps.transport?.(chainId, gHash) ?? new WsTransport({
      log: this.log, privateKey: this.deps.identity.privateKey!, publicKeyHex: this.deps.identity.publicKeyHex,
      host: this.deps.config.p2pHost, port: this.deps.config.p2pPort, chainId, genesisHash: gHash, peers: this.deps.config.peers,
      height: () => this.persistedState?.height ?? 0, pins, isTrusted: (key) => this.trustedByChain(key),
      onPinsChanged: (p) => void writePeerPins(this.pinsPath, p).catch(() => {}),
    });
    transport.onMessage((peer, msg) => this.onMessage(peer, msg));
    transport.onPeer((peer) => {
      if (this.engine && !this.stopped) this.handle(this.engine.onPeerConnected(peer, this.now));
    });
    await transport.start();
    this.transport = transport;
    if (this.deps.config.mdns) {
      const { MdnsDiscovery } = await import('./p2p/mdns.js');
      this.mdns = new MdnsDiscovery({ log: this.log, nodeKey: this.deps.identity.publicKeyHex, chainId, port: transport.port, onPeer: (a) => transport.addAddress(a) });
      try {
        this.mdns.start();
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'mDNS discovery unavailable');
      }
    }
  }

  /** Validators and nodes with open admission approvals (p2p/peer-policy.ts: everyone else is a guest). */
  private trustedByChain(key: string): boolean {
    const state = this.engine?.state ?? this.persistedState;
    if (!state) return false;
    return state.validators.some((v) => v.publicKey === key) || (state.approvals?.[key] !== undefined);
  }

  // ---- driving the engine --------------------------------------------------------------------

  private onMessage(peer: string, msg: WireMessage): void {
    if (this.stopped || !this.engine) return;
    if (msg.t === 'getBlocks') {
      void this.serveBlocks(peer, msg.from, msg.count);
      return;
    }
    if (msg.t === 'getObject' || msg.t === 'object') {
      this.credits?.onMessage(peer, msg);
      this.wake();
      return;
    }
    if (msg.t === 'txs' && msg.txs.length > TX_ADMISSION_CHUNK) {
      // Thousands of signatures to check: admit them a few hundred at a time so that proposals
      // and votes arriving meanwhile are not held up behind the whole batch.
      for (let i = 0; i < msg.txs.length; i += TX_ADMISSION_CHUNK) this.admission.push({ peer, txs: msg.txs.slice(i, i + TX_ADMISSION_CHUNK) });
      this.admitSoon();
      return;
    }
    this.handle(this.engine.onMessage(peer, msg, this.now));
  }

  private readonly admission: Array<{ peer: string; txs: readonly Buffer[] }> = [];
  private admitting = false;

  private admitSoon(): void {
    if (this.admitting) return;
    this.admitting = true;
    setImmediate(() => {
      this.admitting = false;
      const next = this.admission.shift();
      if (!next || this.stopped || !this.engine) return;
      this.handle(this.engine.onMessage(next.peer, { t: 'txs', txs: next.txs }, this.now));
      if (this.admission.length > 0) this.admitSoon();
    });
  }

  private async serveBlocks(peer: string, from: number, count: number): Promise<void> {
    const items: Array<{ block: Buffer; commit: Buffer }> = [];
    let size = 0;
    const top = this.persistedState?.height ?? 0;
    for (let h = from; h < from + Math.min(count, 256) && h <= top && size < 8 * 1024 * 1024; h++) {
      const [block, commit] = await Promise.all([this.store.blockBytes(h), this.store.commitBytes(h)]);
      if (!block || !commit) break;
      items.push({ block, commit });
      size += block.length;
    }
    if (items.length > 0) this.transport?.send(peer, { t: 'blocks', items });
  }

  signWithNodeKey(message: Uint8Array): Buffer {
    return this.deps.identity.sign(message);
  }

  /** A locally made transaction (an anchor, a membership change) into the mempool, gossiped in batches. */
  submit(tx: Buffer): ReturnType<Engine['submitTx']> | 'not-ready' {
    if (!this.engine) return 'not-ready';
    const r = this.engine.submitTx(tx, this.now);
    this.wake();
    return r;
  }

  /** Every validator submits the due statement after each durable block (statement-feed.ts). */
  private submitStatement(state: ChainState): void {
    const due = this.engine?.isValidator ? dueStatementTx(state, this.deps.identity, (err) => this.log.error({ err }, 'cannot compute a statement')) : null;
    if (due && this.submit(due.tx) !== 'known') this.log.info({ epoch: due.epoch, hash: due.hash }, 'submitted the payout statement of a closed epoch');
  }

  private onCredit(o: CreditOutput): void {
    if (this.stopped) return;
    if (o.kind === 'tx') this.submit(o.tx);
    else this.transport?.send(o.to, o.msg);
    this.wake();
  }

  private handle(outs: EngineOutput[]): void {
    for (const o of outs) {
      switch (o.kind) {
        case 'broadcast': this.transport?.broadcast(o.msg); break;
        case 'send': this.transport?.send(o.to, o.msg); break;
        case 'evidence':
          this.log.warn({ evidence: o.evidence }, 'a validator signed two different messages for one step');
          void this.store.putEvidence(o.evidence).catch((err: unknown) => this.log.error({ err }, 'cannot store evidence'));
          break;
        case 'commit': this.persist(o); break;
      }
    }
    this.wake();
  }

  private persist(o: Extract<EngineOutput, { kind: 'commit' }>): void {
    this.persisting = this.persisting.then(async () => {
      if (this.stopped) return;
      await this.store.commitBlock(o);
      this.persistedState = o.state;
      const now = this.now;
      const stat: BlockStat = {
        height: o.height, round: o.block.header.round, hash: o.hash.toString('hex'), proposer: o.block.header.proposer.toString('hex'),
        txCount: o.block.txs.length, anchors: o.anchors.length, bytes: o.bytes.length, time: o.block.header.time,
        decidedAt: o.at, persistedAt: now, finalityMs: o.at - o.block.header.time, via: o.via,
      };
      this.recent.push(stat);
      if (this.recent.length > 500) this.recent.shift();
      this.blocksCounter?.inc({ via: o.via });
      if (o.via === 'consensus') this.finality?.observe(stat.finalityMs / 1000);
      if (o.anchors.length > 0 || o.height % 100 === 0) this.log.info({ height: o.height, round: stat.round, txs: stat.txCount, anchors: o.anchors.length, finalityMs: stat.finalityMs, via: o.via }, 'block final');
      this.credits?.onState(o.state);
      this.submitStatement(o.state);
      if (!this.stopped && this.engine) this.handle(this.engine.onPersisted(o.height, now));
    }).catch((err: unknown) => {
      this.log.fatal({ err }, 'cannot persist a committed block; the ledger stops (the block is fetched again after a restart)');
      this.stopped = true;
    });
  }

  private wake(): void {
    if (this.stopped || !this.engine) return;
    if (this.timer) clearTimeout(this.timer);
    const delay = Math.max(0, Math.min(this.engine.nextWakeAt(), this.credits?.nextWakeAt() ?? Infinity) - this.now);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.stopped || !this.engine) return;
      this.credits?.tick();
      this.handle(this.engine.tick(this.now));
    }, delay);
  }

  // ---- views (API) ---------------------------------------------------------------------------

  get ready(): boolean {
    return this.engine !== null && !this.stopped;
  }

  private need(): Engine {
    if (!this.engine || this.stopped) throw new LucidError('LEDGER_ERR_NOT_READY');
    return this.engine;
  }

  /** The offline-verifiable proof of a final anchor (what GET /api/v1/anchors/:hash answers), or null. */
  async anchorProof(manifestHash: string): Promise<AnchorProof | null> {
    const a = await this.chain.anchor(manifestHash.toLowerCase());
    if (!a) return null;
    const [block, commit] = await Promise.all([this.chain.block(a.height), this.chain.commit(a.height)]);
    return block && commit ? anchorProof(block, commit, a.txIndex) : null;
  }

  status() {
    const e = this.need();
    const s = this.persistedState!;
    const order = e.proposerOrder;
    const self = this.deps.identity.publicKeyHex;
    return {
      chainId: s.chainId,
      genesisHash: s.genesisHash,
      height: s.height,
      headHash: s.headHash,
      headTime: s.headTime,
      consensus: { height: e.height, round: e.round, step: e.step, lockedRound: e.locked.round, startedBy: e.startedBy, heartbeatDueAt: e.heartbeatDueAt },
      node: { publicKey: self, validator: e.isValidator, nextProposer: order[0] === self, role: e.isValidator ? (order[e.round % order.length] === self ? 'proposer' : 'validator') : 'follower' },
      slotMs: this.deps.config.slotMs,
      emptyBlockIntervalMs: this.deps.config.emptyBlockIntervalMs,
      validators: s.validators.length,
      totalPower: s.validators.reduce((a, v) => a + v.power, 0),
      mempool: { transactions: e.mempool.count, bytes: e.mempool.bytes },
      peers: (this.transport?.peers() ?? []).map((p) => ({ key: p.key, address: p.address, direction: p.direction, height: p.height })),
      multiNode: this.multiNode,
    };
  }

  genesis(): Genesis {
    if (!this.genesisDoc) throw new LucidError('LEDGER_ERR_NOT_READY');
    return this.genesisDoc;
  }

  recentBlocks(limit: number): BlockStat[] {
    return this.recent.slice(-limit).reverse();
  }

  state(): ChainState {
    this.need();
    return this.persistedState!;
  }

  /**
   * Work credits of every node in one epoch (payouts read these): the live window from the chain
   * state, older epochs from LevelDB. Epoch = floor(block time / params.epochMs).
   */
  async creditsForEpoch(epoch?: number): Promise<{ epoch: number; blocks: number; chainMs: number; closedBy: number | null; nodes: Array<{ node: string } & Credits & WorkCounts> }> {
    const state = this.state();
    const e = epoch ?? epochOf(state.params, state.headTime);
    const ep = state.epochs[String(e)] ?? (await this.store.epoch(e));
    return {
      epoch: e, blocks: ep?.blocks ?? 0, chainMs: ep?.chainMs ?? 0, closedBy: ep?.closedBy ?? null,
      nodes: Object.entries(ep?.nodes ?? {}).map(([node, w]) => ({ node, ...credits(w, state.params), ...w })),
    };
  }

  /** Payout statements (statement-feed.ts): a stated epoch's credit set and proof, the stated epochs. */
  get statements(): StatementFeed {
    return new StatementFeed(() => this.state(), this.store);
  }

  mempoolEntries() {
    return this.need().mempool.list();
  }

  /** Equivocation evidence as stored (it survives restarts), newest first. */
  async evidence(): Promise<Evidence[]> {
    this.need();
    return this.store.evidence();
  }

  proposerOrder(): readonly string[] {
    return this.need().proposerOrder;
  }

  get chain(): ChainStore {
    return this.store;
  }

  async blockSummary(height: number) {
    const bytes = await this.store.blockBytes(height);
    if (!bytes) return undefined;
    const b = decodeBlock(bytes);
    const commit = await this.store.commitBytes(height);
    return { block: b, bytes: bytes.length, commit: commit ? encodeCommit(await this.store.commit(height) as Commit) : null };
  }
}
