// Four real appliances on loopback (separate data dirs, API and P2P ports) with a genesis made by
// the genesis CLI: the chain survives one node down, catches the node up when it returns, halts
// safely with two down and resumes when one returns; a core killed with SIGKILL right after it
// signed a vote (its sign-guard record appeared) comes back without ever signing two different
// messages — checked from durable data only: the guard files, the commits stored by every node
// and the evidence every node persisted (guard-checks.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startAppliance, treePids, ROOT, type RunningAppliance } from '../../helpers/appliance.js';
import { loadOrCreateNodeIdentity } from '../../../services/identity/index.js';
import { silentLogger } from '../../../services/common/log.js';
import { guardRecords, killRightAfterSigning, storedSignatures, findDoubleSigns, type SignedStep } from './guard-checks.js';

const SLOT = 1000;
const N = 4;

interface Node {
  readonly dataDir: string;
  readonly key: string;
  readonly apiPort: number;
  readonly p2pPort: number;
  app: RunningAppliance | null;
}

let root = '';
let genesisPath = '';
const nodes: Node[] = [];

async function start(i: number): Promise<RunningAppliance> {
  const n = nodes[i]!;
  const peers = nodes.filter((x) => x !== n).map((x) => `127.0.0.1:${x.p2pPort}`).join(',');
  const app = await startAppliance({
    dataDir: n.dataDir,
    port: n.apiPort,
    // A block every slot (no idle heights): these tests follow the chain's liveness height by height.
    env: { LUCID_GENESIS: genesisPath, LUCID_PEERS: peers, LUCID_P2P_PORT: String(n.p2pPort), LUCID_SLOT_MS: String(SLOT), LUCID_EMPTY_BLOCK_INTERVAL_S: '0', LUCID_MDNS: 'off' },
  });
  n.app = app;
  await app.waitHealthy(30_000);
  return app;
}

function kill(i: number): void {
  const n = nodes[i]!;
  if (!n.app) return;
  for (const pid of treePids(n.app.pid)) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
  n.app = null;
}

async function status(i: number): Promise<{ height: number; headHash: string; consensus: { height: number; round: number; step: string } } | null> {
  try {
    // Logged in: the route is public, but public callers get 100 requests a minute per IP, and
    // these polls (10/s per node) would use that up and then be refused the test's own login.
    const app = nodes[i]!.app;
    if (!app) return null;
    const r = await app.get('/api/v1/ledger/status', { signal: AbortSignal.timeout(2000) });
    return r.ok ? await r.json() as never : null;
  } catch {
    return null;
  }
}

async function height(i: number): Promise<number> {
  return (await status(i))?.height ?? -1;
}

async function waitFor<T>(what: string, probe: () => Promise<T | false | undefined>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const v = await probe();
    if (v !== false && v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  const heights = await Promise.all(nodes.map((_, i) => height(i)));
  throw new Error(`timed out waiting for ${what}; heights ${heights.join(',')}\n${nodes.map((n, i) => `--- node ${i} ---\n${n.app?.output().slice(-1500) ?? '(down)'}`).join('\n')}`);
}

async function blockHash(i: number, h: number): Promise<string | null> {
  // A node_operator route: the helper logs in as the test super_admin (setup code on first use).
  const r = await nodes[i]!.app!.get(`/api/v1/ledger/blocks?before=${h + 1}&limit=1`);
  if (!r.ok) return null;
  const b = (await r.json()) as { blocks: Array<{ height: number; hash: string }> };
  return b.blocks[0]?.height === h ? b.blocks[0].hash : null;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'lucid-ledger-4-'));
  for (let i = 0; i < N; i++) {
    const dataDir = join(root, `node${i}`);
    const id = await loadOrCreateNodeIdentity(dataDir, silentLogger()); // the node key, as a first boot makes it
    nodes.push({ dataDir, key: id.publicKeyHex, apiPort: await freePort(), p2pPort: await freePort(), app: null });
  }
  genesisPath = join(root, 'genesis.json');
  // The genesis CLI, exactly as an operator runs it (README "Multi-node chain").
  execFileSync(process.execPath, [join(ROOT, 'dist/entries/genesis.mjs'), '--chain-id', 'it-four', ...nodes.flatMap((n) => ['--data-dir', n.dataDir]), '--out', genesisPath]);
  await Promise.all(nodes.map((_, i) => start(i)));
}, 120_000);

afterAll(async () => {
  for (const n of nodes) await n.app?.cleanup().catch(() => {});
  rmSync(root, { recursive: true, force: true });
});

describe('four appliances on loopback', () => {
  it('make blocks together and agree on them', async () => {
    await waitFor('height 3 on every node', async () => (await Promise.all(nodes.map((_, i) => height(i)))).every((h) => h >= 3), 60_000);
    const hashes = await Promise.all(nodes.map((_, i) => blockHash(i, 3)));
    expect(new Set(hashes).size).toBe(1);
    expect(hashes[0]).toMatch(/^[0-9a-f]{64}$/);
  }, 90_000);

  it('one node down: the chain goes on; back up: it catches up', async () => {
    kill(3);
    const h0 = Math.max(...(await Promise.all([0, 1, 2].map(height))));
    await waitFor('3 more blocks without node 3', async () => (await height(0)) >= h0 + 3, 30 * SLOT);
    await start(3);
    const target = await height(0);
    await waitFor('node 3 caught up', async () => (await height(3)) >= target, 60_000);
    expect(await blockHash(3, target)).toBe(await blockHash(0, target));
  }, 120_000);

  it('two nodes down: the chain halts safely; one back: it resumes', async () => {
    kill(2);
    kill(3);
    // Let an in-flight block settle, then watch: no new block while 2 of 4 validators are up.
    await new Promise((r) => setTimeout(r, 2 * SLOT));
    const halted = [await height(0), await height(1)];
    await new Promise((r) => setTimeout(r, 4 * SLOT));
    expect([await height(0), await height(1)]).toEqual(halted);
    expect(halted[0]).toBe(halted[1]);
    expect(await blockHash(0, halted[0]!)).toBe(await blockHash(1, halted[1]!));
    await start(2);
    await waitFor('the chain resumed', async () => (await height(0)) >= halted[0]! + 2, 60_000);
    await start(3);
    await waitFor('node 3 caught up again', async () => (await height(3)) >= halted[0]! + 2, 60_000);
  }, 150_000);

  it('kill -9 of a core right after it signed a vote, restarted: no double-sign in guard files, stored commits or persisted evidence', async () => {
    const seen: SignedStep[] = []; // every record of every guard file, read whenever we look
    const keys = nodes.map((n) => n.key);
    for (let attempt = 0; attempt < 3; attempt++) {
      const victim = 1 + attempt; // a different node each time
      const st = (await nodes[victim]!.app!.json('/api/v1/status')) as { children: Array<{ name: string; pid: number | null }> };
      const core = st.children.find((c) => c.name === 'core')!.pid!;
      const before = await height(0);
      // The kill lands when the victim's guard log shows a new prevote or precommit record: the
      // vote is durable and (a moment later) on the wire, and the round is not over for the victim.
      const killed = await killRightAfterSigning(nodes[victim]!.dataDir, core, 15 * SLOT).catch(async (err: Error) => {
        throw new Error(`${err.message}; heights ${(await Promise.all(nodes.map((_, i) => height(i)))).join(',')} (a stall, if they do not move)`);
      });
      console.log(`attempt ${attempt + 1}: killed node ${victim} ${killed.reactionMs} ms after its ${killed.record.step === 1 ? "prevote" : "precommit"} for h${killed.record.height}/r${killed.record.round} appeared in the guard log`);
      seen.push(...killed.records.map((r) => ({ ...r, key: keys[victim]! })));
      await waitFor('victim back and in step', async () => {
        const h = await height(victim);
        return h >= before && (await height(0)) >= before + 2;
      }, 60_000);
    }
    const target = await height(0);
    await waitFor('everyone at the same height', async () => (await Promise.all(nodes.map((_, i) => height(i)))).every((h) => h >= target), 60_000);
    // Everything below is read from disk, after every process is gone.
    for (let i = 0; i < N; i++) kill(i);
    for (let i = 0; i < N; i++) seen.push(...guardRecords(nodes[i]!.dataDir).map((r) => ({ ...r, key: keys[i]! })));
    const stored = [];
    for (let i = 0; i < N; i++) stored.push(await storedSignatures(nodes[i]!.dataDir, 'it-four'));
    expect(stored.every((s) => s.signatures.length > 0 && s.badSignatures === 0)).toBe(true);
    expect(findDoubleSigns(seen, stored.flatMap((s) => s.signatures), 'it-four')).toEqual([]);
    for (let i = 0; i < N; i++) expect(stored[i]!.evidence, `evidence persisted by node ${i}`).toEqual([]);
    // The checker itself: the victims' records were read, and a conflicting copy of one is caught.
    const victimRecords = seen.filter((r) => r.key !== keys[0] && r.step !== 0);
    expect(victimRecords.length).toBeGreaterThan(0);
    const forged = { ...victimRecords[0]!, signBytes: Buffer.concat([victimRecords[0]!.signBytes.subarray(0, -1), Buffer.of(victimRecords[0]!.signBytes.at(-1)! ^ 1)]) };
    expect(findDoubleSigns([...seen, forged], [], 'it-four')).toHaveLength(1);
  }, 240_000);
});
