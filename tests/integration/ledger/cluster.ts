// An in-process cluster of real LedgerServices: LevelDB in temp dirs, real node keys, the real
// WebSocket/TLS transport on loopback, the API routes on fastify (inject). Used by the service
// integration tests; the 4-process tests use real appliances instead. With `sessions`, each node
// also runs the real sessions service (chunk files, manifests) as its anchor feed and as the
// source of its answers to storage challenges, wired as appliance/entries/core.ts wires them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createPrivateKey } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { Store } from '../../../services/store/index.js';
import { loadOrCreateNodeIdentity, NODE_KEY_FILE, type NodeIdentity } from '../../../services/identity/index.js';
import { LedgerService, ledgerRoutes, makeGenesis, MemoryAnchorSource, type ChainParams, type Genesis, type LevelPort } from '../../../services/ledger/index.js';
import { SessionService } from '../../../services/sessions/index.js';
import { silentLogger } from '../../../services/common/log.js';
import { freePort } from '../../helpers/appliance.js';

export interface ClusterNode {
  readonly dir: string;
  readonly identity: NodeIdentity;
  readonly port: number;
  readonly source: MemoryAnchorSource;
  store: Store | null;
  ledger: LedgerService | null;
  app: FastifyInstance | null;
  sessions: SessionService | null;
}

export class Cluster {
  readonly nodes: ClusterNode[] = [];
  genesis!: Genesis;
  genesisPath = '';
  private root = '';

  /** `validators`: how many of the n nodes are in the genesis (the rest start as followers). */
  /** `emptyBlockIntervalMs`: the idle heartbeat (default 0: a block every slot, as the older tests expect). */
  static async create(n: number, opts: { slotMs: number; powers?: number[]; validators?: number; params?: Partial<ChainParams>; sessions?: boolean; emptyBlockIntervalMs?: number }): Promise<Cluster> {
    const c = new Cluster();
    c.root = mkdtempSync(join(tmpdir(), 'lucid-ledger-cluster-'));
    for (let i = 0; i < n; i++) {
      const dir = join(c.root, `n${i}`);
      const identity = await loadOrCreateNodeIdentity(dir, silentLogger());
      c.nodes.push({ dir, identity, port: await freePort(), source: new MemoryAnchorSource(), store: null, ledger: null, app: null, sessions: null });
    }
    c.genesis = makeGenesis({
      chainId: 'cluster-test', params: opts.params,
      validators: c.nodes.slice(0, opts.validators ?? n).map((x, i) => ({ publicKey: x.identity.publicKeyHex, power: opts.powers?.[i] ?? 1 })),
    });
    c.withSessions = opts.sessions ?? false;
    c.genesisPath = join(c.root, 'genesis.json');
    writeFileSync(c.genesisPath, JSON.stringify(c.genesis));
    c.slotMs = opts.slotMs;
    c.emptyBlockIntervalMs = opts.emptyBlockIntervalMs ?? 0;
    return c;
  }

  slotMs = 1000;
  withSessions = false;
  emptyBlockIntervalMs = 0;

  async start(i: number): Promise<void> {
    const node = this.nodes[i]!;
    const store = new Store({ location: join(node.dir, 'store'), log: silentLogger() });
    await store.start();
    const privateKey = createPrivateKey(await readFile(join(node.dir, NODE_KEY_FILE)));
    let sessions: SessionService | null = null;
    if (this.withSessions) {
      sessions = new SessionService({ store, dataDir: node.dir, log: silentLogger(), identity: node.identity, quotaBytes: 1024 ** 3, reserveBytes: 0, defaultCipher: 'aes-256-gcm' });
      await sessions.start();
    }
    const ledger = new LedgerService({
      log: silentLogger(),
      db: store as unknown as LevelPort,
      dataDir: node.dir,
      identity: { nodeId: node.identity.nodeId, publicKeyHex: node.identity.publicKeyHex, sign: (m) => node.identity.sign(m), privateKey },
      config: {
        slotMs: this.slotMs, emptyBlockIntervalMs: this.emptyBlockIntervalMs, p2pHost: '127.0.0.1', p2pPort: node.port, genesisPath: this.genesisPath, mdns: false,
        peers: this.nodes.filter((x) => x !== node).map((x) => `127.0.0.1:${x.port}`),
      },
      anchorSource: sessions ?? node.source,
      ...(sessions ? { chunkSource: { read: (q) => sessions.storedChunk(q) } } : {}),
    });
    await ledger.start();
    const app = Fastify();
    app.decorateRequest('principal', null);
    await app.register(ledgerRoutes(ledger));
    await app.ready();
    Object.assign(node, { store, ledger, app, sessions });
  }

  async stop(i: number): Promise<void> {
    const node = this.nodes[i]!;
    await node.app?.close();
    await node.ledger?.stop();
    await node.sessions?.stop();
    await node.store?.stop();
    Object.assign(node, { store: null, ledger: null, app: null, sessions: null });
  }

  async startAll(count = this.nodes.length): Promise<void> {
    await Promise.all(this.nodes.slice(0, count).map((_, i) => this.start(i)));
  }

  async destroy(): Promise<void> {
    for (let i = 0; i < this.nodes.length; i++) await this.stop(i).catch(() => {});
    rmSync(this.root, { recursive: true, force: true });
  }

  height(i: number): number {
    return this.nodes[i]!.ledger?.state().height ?? -1;
  }

  async waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`timed out waiting for ${what}; heights ${this.nodes.map((_, i) => this.height(i)).join(',')}`);
  }
}
