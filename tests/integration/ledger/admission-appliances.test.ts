// Validator admission over the real API: three validator appliances and a fourth that wants to
// join (real processes, real HTTP with admin logins, LevelDB, TLS p2p on loopback). The joiner is
// not in the validators' LUCID_PEERS, so to them it is a guest until approvals are on chain; a
// stranger with a fresh key connects too and floods. The join is refused while approvals hold
// exactly 2/3 of the power, goes through with all three, and takes effect at one height on every
// node; the stranger gets blocks but never a seat.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, sign as edSign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startAppliance, ROOT, type RunningAppliance } from '../../helpers/appliance.js';
import { loadOrCreateNodeIdentity } from '../../../services/identity/index.js';
import { silentLogger } from '../../../services/common/log.js';
import { genesisHash, parseGenesis } from '../../../services/ledger/chain/genesis.js';
import { signTx } from '../../../services/ledger/codec/tx.js';
import { WsTransport } from '../../../services/ledger/p2p/ws-transport.js';
import type { WireMessage } from '../../../services/ledger/codec/messages.js';

const SLOT = 1000;
const CHAIN = 'it-admission';
interface Node { dataDir: string; key: string; apiPort: number; p2pPort: number; app: RunningAppliance | null }
let root = '';
let genesisPath = '';
const nodes: Node[] = []; // 0–2 validators, 3 the joiner
let stranger: WsTransport | null = null;

async function start(i: number, peers: number[]): Promise<void> {
  const n = nodes[i]!;
  n.app = await startAppliance({
    dataDir: n.dataDir, port: n.apiPort,
    // A block every slot (no idle heights): these tests follow the chain's liveness height by height.
    env: { LUCID_GENESIS: genesisPath, LUCID_PEERS: peers.map((p) => `127.0.0.1:${nodes[p]!.p2pPort}`).join(','), LUCID_P2P_PORT: String(n.p2pPort), LUCID_SLOT_MS: String(SLOT), LUCID_EMPTY_BLOCK_INTERVAL_S: '0', LUCID_MDNS: 'off' },
  });
  await n.app.waitHealthy(30_000);
}

const api = (i: number) => nodes[i]!.app!;
const post = (i: number, path: string, body: unknown) => api(i).get(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const height = async (i: number): Promise<number> => ((await api(i).json('/api/v1/ledger/status')) as { height: number }).height;
async function until<T>(what: string, probe: () => Promise<T | false | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== false && v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; heights ${(await Promise.all(nodes.map((_, i) => height(i).catch(() => -1)))).join(',')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const pendingFor = async (i: number, key: string) => ((await api(i).json('/api/v1/ledger/admission')) as { pending: Array<{ joiner: string; approvedPower: number; enough: boolean }> }).pending.find((p) => p.joiner === key);

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'lucid-admission-'));
  for (let i = 0; i < 4; i++) {
    const dataDir = join(root, `node${i}`);
    const id = await loadOrCreateNodeIdentity(dataDir, silentLogger());
    nodes.push({ dataDir, key: id.publicKeyHex, apiPort: await freePort(), p2pPort: await freePort(), app: null });
  }
  genesisPath = join(root, 'genesis.json');
  execFileSync(process.execPath, [join(ROOT, 'dist/entries/genesis.mjs'), '--chain-id', CHAIN, ...nodes.slice(0, 3).flatMap((n) => ['--data-dir', n.dataDir]), '--out', genesisPath]);
  await Promise.all([start(0, [1, 2]), start(1, [0, 2]), start(2, [0, 1]), start(3, [0, 1, 2])]);
}, 120_000);

afterAll(async () => {
  await stranger?.stop();
  for (const n of nodes) await n.app?.cleanup().catch(() => {});
  rmSync(root, { recursive: true, force: true });
});

describe('validator admission over the API (3 validators + 1 joiner, real appliances)', () => {
  it('a stranger gets blocks but nothing it sends counts; the joiner syncs as a guest', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519') as { privateKey: KeyObject; publicKey: KeyObject };
    const key = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
    const got: WireMessage[] = [];
    stranger = new WsTransport({
      log: silentLogger(), privateKey, publicKeyHex: key.toString('hex'), host: '127.0.0.1', port: await freePort(), chainId: CHAIN,
      genesisHash: genesisHash(parseGenesis(JSON.parse(readFileSync(genesisPath, 'utf8')))), peers: [`127.0.0.1:${nodes[0]!.p2pPort}`], height: () => 0,
    });
    stranger.onMessage((_from, m) => got.push(m));
    await stranger.start();
    await until('the joiner synced', async () => (await height(3)) >= 2 && (await height(3)) >= (await height(0)) - 1);
    await until('the stranger connected', async () => got.length > 0);
    // Its own join, a thousand times over with fresh nonces, and votes in a validator's name.
    const txs = Array.from({ length: 1000 }, (_, n) => signTx(CHAIN, { type: 'join', node: key, power: 1, nonce: n + 1 }, (m) => edSign(null, m, privateKey)));
    stranger.broadcast({ t: 'txs', txs });
    stranger.broadcast({ t: 'getBlocks', from: 1, count: 2 });
    await until('blocks served to the stranger', async () => got.some((m) => m.t === 'blocks'));
    expect(got.some((m) => m.t === 'vote' || m.t === 'proposal')).toBe(false); // no consensus traffic to a guest
    const mempool = (await api(0).json('/api/v1/ledger/mempool')) as { transactions: number };
    expect(mempool.transactions).toBe(0);
  }, 90_000);

  it('join is refused until more than 2/3 of the power approved; approvals go through the admin API', async () => {
    const joiner = nodes[3]!.key;
    expect(((await api(3).raw('/api/v1/node').then((r) => r.json())) as { publicKey: string }).publicKey).toBe(joiner);
    const anon = await api(0).raw('/api/v1/ledger/validators/approve', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ publicKey: joiner }) });
    expect(anon.status).toBe(401);
    const early = await post(3, '/api/v1/ledger/validators/join', { power: 1 });
    expect([early.status, ((await early.json()) as { code: string; details: unknown })]).toEqual([409, expect.objectContaining({ code: 'LEDGER_ERR_JOIN_NOT_APPROVED', details: { approvedPower: 0, totalPower: 3 } })]);
    expect(((await (await post(3, '/api/v1/ledger/validators/approve', { publicKey: joiner })).json()) as { code: string }).code).toBe('LEDGER_ERR_NOT_VALIDATOR');
    for (const i of [0, 1]) expect((await post(i, '/api/v1/ledger/validators/approve', { publicKey: joiner, power: 1 })).status).toBe(202);
    await until('two approvals on the joiner\'s chain', async () => (await pendingFor(3, joiner))?.approvedPower === 2);
    const half = await post(3, '/api/v1/ledger/validators/join', { power: 1 });
    expect([half.status, ((await half.json()) as { details: unknown }).details]).toEqual([409, { approvedPower: 2, totalPower: 3 }]); // exactly 2/3
    // Eight identical requests at once make one transaction, as eight in a row would.
    await api(2).token(); // log in once first (the helper would log in eight times at once)
    const burst = await Promise.all(Array.from({ length: 8 }, () => post(2, '/api/v1/ledger/validators/approve', { publicKey: joiner, power: 1 })));
    const ids = await Promise.all(burst.map(async (r) => [r.status, ((await r.json()) as { txId: string }).txId]));
    expect(new Set(ids.map(([s]) => s))).toEqual(new Set([202]));
    expect(new Set(ids.map(([, id]) => id)).size).toBe(1);
    await until('three approvals on the joiner\'s chain', async () => (await pendingFor(3, joiner))?.enough === true);
  }, 90_000);

  it('the approved join takes effect at one height on every node, and the new validator signs', async () => {
    const joiner = nodes[3]!.key;
    await api(3).token();
    const joins = await Promise.all(Array.from({ length: 8 }, () => post(3, '/api/v1/ledger/validators/join', { power: 1 })));
    const answers = await Promise.all(joins.map(async (r) => [r.status, ((await r.json()) as { txId: string }).txId]));
    expect(answers.map(([s]) => s)).toEqual(Array(8).fill(202));
    expect(new Set(answers.map(([, id]) => id)).size).toBe(1); // one transaction, as eight in a row
    await until('four validators everywhere', async () => (await Promise.all(nodes.map(async (_, i) => ((await api(i).json('/api/v1/ledger/status')) as { validators: number }).validators))).every((v) => v === 4));
    const firstWithNewSet = async (i: number) => {
      const { blocks } = (await api(i).json('/api/v1/ledger/blocks?limit=200')) as { blocks: Array<{ height: number; hash: string; validatorsHash: string }> };
      const asc = [...blocks].reverse();
      const first = asc.find((b) => b.validatorsHash !== asc[0]!.validatorsHash);
      return first ? `${first.height}:${first.hash}` : null;
    };
    const seen = await until('the new set in a block on every node', async () => {
      const v = await Promise.all(nodes.map((_, i) => firstWithNewSet(i)));
      return v.every((x) => x !== null) ? v : undefined;
    });
    expect(new Set(seen).size).toBe(1);
    console.log(`joined: first block voted by the new set ${seen[0]} on all four nodes`);
    const status = (await api(3).json('/api/v1/ledger/status')) as { node: { validator: boolean } };
    expect(status.node.validator).toBe(true);
    const validators = (await api(0).json('/api/v1/ledger/validators')) as { validators: Array<{ publicKey: string }> };
    expect(validators.validators.map((v) => v.publicKey).sort()).toEqual(nodes.map((n) => n.key).sort()); // the stranger is not there
    const h = await height(0);
    await until('three more blocks', async () => (await height(0)) >= h + 3);
    const { blocks } = (await api(0).json('/api/v1/ledger/blocks?limit=1')) as { blocks: Array<{ signatures: number }> };
    expect(blocks[0]!.signatures).toBeGreaterThanOrEqual(3); // quorum of four is three
    expect(((await (await post(3, '/api/v1/ledger/validators/join', {})).json()) as { code: string }).code).toBe('LEDGER_ERR_ALREADY_VALIDATOR');
  }, 90_000);
});
