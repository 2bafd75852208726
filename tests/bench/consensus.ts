// Consensus benchmark: 4 and 7 real core processes on loopback, every P2P link through a delay
// proxy that adds LAN-like latency (2 ms ± 1 ms one way, order kept). Figures, as JSON lines
// (BENCH_ONLY=finality4|full runs one phase; BENCH_DEBUG=1 lists slow blocks and mempool fill;
// BENCH_PROF=<dir> writes a CPU profile of node 0):
//   finality_ms        proposal (block time) → decision, p50/p95 over every node and block
//   full_block         anchors in one block at the 1 MiB limit, and that block's commit time
//   catch_up           blocks/s of a node that was down, syncing and verifying every commit
//   node_resources     CPU % and RSS per node during the run
// Baselines from the same run: raw Ed25519 sign/verify rates (node:crypto) and the round trip
// of a loopback WebSocket over TLS 1.3 (the transport's own stack), bare and through the proxy.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Socket } from 'node:net';
import { generateKeyPairSync, sign, verify, randomBytes, randomUUID, createPrivateKey } from 'node:crypto';
import https from 'node:https';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import { adminToken, freePort, ROOT } from '../helpers/appliance.js';
import { loadOrCreateNodeIdentity } from '../../services/identity/index.js';
import { makeGenesis } from '../../services/ledger/index.js';
import { signTx, type TxBody } from '../../services/ledger/codec/tx.js';
import { selfSignedCertificate } from '../../services/ledger/p2p/cert.js';
import { encodeMessage } from '../../services/ledger/codec/messages.js';
import { genesisHash } from '../../services/ledger/chain/genesis.js';
import { silentLogger } from '../../services/common/log.js';

const CORE = join(ROOT, 'dist/entries/core.mjs');
const ONE_WAY_MS = Number(process.env['BENCH_LATENCY_MS'] ?? 2);
const JITTER_MS = Number(process.env['BENCH_JITTER_MS'] ?? 1);
const emit = (o: object): void => console.log(JSON.stringify({ bench: 'consensus', ...o }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

// ---- baselines -------------------------------------------------------------------------------

function ed25519Rates(): { signPerSec: number; verifyPerSec: number } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const msg = randomBytes(120);
  let n = 0;
  let t = performance.now();
  let sig = sign(null, msg, privateKey);
  while (performance.now() - t < 1000) { sig = sign(null, msg, privateKey); n++; }
  const signPerSec = n / ((performance.now() - t) / 1000);
  n = 0;
  t = performance.now();
  while (performance.now() - t < 1000) { verify(null, msg, publicKey, sig); n++; }
  return { signPerSec: Math.round(signPerSec), verifyPerSec: Math.round(n / ((performance.now() - t) / 1000)) };
}

async function wsRoundTrip(viaProxyMs: number | null): Promise<number> {
  const { privateKey } = generateKeyPairSync('ed25519');
  const cert = selfSignedCertificate(privateKey, 'bench');
  const key = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const server = https.createServer({ key, cert, minVersion: 'TLSv1.3', requestCert: true, rejectUnauthorized: false });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (m) => ws.send(m)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const proxy = viaProxyMs === null ? null : await delayProxy(port, viaProxyMs, JITTER_MS);
  const ws = new WebSocket(`wss://127.0.0.1:${proxy?.port ?? port}/`, { key, cert, rejectUnauthorized: false });
  await new Promise((r) => ws.once('open', r));
  const times: number[] = [];
  for (let i = 0; i < 300; i++) {
    const t = performance.now();
    await new Promise<void>((r) => { ws.once('message', () => r()); ws.send(Buffer.alloc(160)); });
    times.push(performance.now() - t);
  }
  ws.close();
  proxy?.close();
  wss.close();
  server.close();
  return pct(times, 50);
}

// ---- latency proxy ---------------------------------------------------------------------------

/** Forwards TCP to `target`, delaying every chunk by oneWay ± jitter ms in each direction, in order. */
async function delayProxy(target: number, oneWay: number, jitter: number): Promise<{ port: number; close(): void }> {
  const sockets = new Set<Socket>();
  const pipe = (from: Socket, to: Socket): void => {
    let last = 0;
    from.on('data', (chunk: Buffer) => {
      const at = Math.max(Date.now() + oneWay + (Math.random() * 2 - 1) * jitter, last);
      last = at;
      setTimeout(() => { if (!to.destroyed) to.write(chunk); }, Math.max(0, at - Date.now()));
    });
    from.on('close', () => setTimeout(() => to.destroy(), oneWay + jitter + 1));
    from.on('error', () => to.destroy());
  };
  const server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    sockets.add(client); sockets.add(upstream);
    client.setNoDelay(true); upstream.setNoDelay(true);
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, close: () => { for (const s of sockets) s.destroy(); server.close(); } };
}

// ---- a cluster of real core processes --------------------------------------------------------

interface BenchNode { dir: string; api: number; p2p: number; proxy: { port: number; close(): void } | null; proc: ChildProcess | null; key: string; cpu0: number; t0: number }

async function startCluster(n: number, slotMs: number) {
  const root = mkdtempSync(join(tmpdir(), `lucid-bench-consensus-${n}-`));
  const nodes: BenchNode[] = [];
  for (let i = 0; i < n; i++) {
    const dir = join(root, `n${i}`);
    const id = await loadOrCreateNodeIdentity(dir, silentLogger());
    const p2p = await freePort();
    nodes.push({ dir, api: await freePort(), p2p, proxy: await delayProxy(p2p, ONE_WAY_MS, JITTER_MS), proc: null, key: id.publicKeyHex, cpu0: 0, t0: 0 });
  }
  const genesis = makeGenesis({ chainId: `bench-${n}`, validators: nodes.map((x) => ({ publicKey: x.key, power: 1 })) });
  const genesisPath = join(root, 'genesis.json');
  writeFileSync(genesisPath, JSON.stringify(genesis));
  const httpsPorts = await Promise.all(nodes.map(() => freePort()));
  const start = (i: number): void => {
    const node = nodes[i]!;
    const prof = process.env['BENCH_PROF'] && i === 0 ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_PROF']}`] : [];
    node.proc = spawn(process.execPath, [...prof, CORE], {
      env: {
        ...process.env, LUCID_PROFILE: 'dev', LUCID_HAL: 'sim', LUCID_HOST: '127.0.0.1', LUCID_PORT: String(node.api), LUCID_HTTPS_PORT: String(httpsPorts[i]), LUCID_DATA_DIR: node.dir,
        LUCID_LOG_LEVEL: 'warn', LUCID_GENESIS: genesisPath, LUCID_P2P_PORT: String(node.p2p), LUCID_SLOT_MS: String(slotMs), LUCID_EMPTY_BLOCK_INTERVAL_S: '0', LUCID_MDNS: 'off',
        LUCID_PEERS: nodes.filter((x) => x !== node).map((x) => `127.0.0.1:${x.proxy!.port}`).join(','),
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  };
  const stop = (i: number): void => { nodes[i]!.proc?.kill('SIGKILL'); nodes[i]!.proc = null; };
  const status = async (i: number): Promise<{ height: number } | null> => {
    try {
      const r = await fetch(`http://127.0.0.1:${nodes[i]!.api}/api/v1/ledger/status`, { signal: AbortSignal.timeout(2000) });
      return r.ok ? (await r.json()) as { height: number } : null;
    } catch { return null; }
  };
  const height = async (i: number) => (await status(i))?.height ?? -1;
  const waitFor = async (what: string, probe: () => Promise<boolean>, ms = 60_000) => {
    const until = Date.now() + ms;
    while (Date.now() < until) { if (await probe()) return; await sleep(50); }
    throw new Error(`bench: timed out waiting for ${what}`);
  };
  const tokens = new Map<number, string>();
  const token = async (i: number): Promise<string> => {
    if (!tokens.has(i)) tokens.set(i, await adminToken(`http://127.0.0.1:${nodes[i]!.api}`, nodes[i]!.dir));
    return tokens.get(i)!;
  };
  const blocks = async (i: number, limit = 200) => ((await (await fetch(`http://127.0.0.1:${nodes[i]!.api}/api/v1/ledger/blocks?limit=${limit}`, { headers: { authorization: `Bearer ${await token(i)}` } })).json()) as { blocks: Array<{ height: number; txCount: number; finalityMs: number | null; via: string | null; bytes: number }> }).blocks;
  const destroy = () => {
    if (process.env['BENCH_PROF']) nodes[0]!.proc?.kill('SIGTERM'); // a clean exit writes the profile
    for (let i = process.env['BENCH_PROF'] ? 1 : 0; i < n; i++) stop(i);
    for (const x of nodes) x.proxy?.close();
    rmSync(root, { recursive: true, force: true });
  };
  return { nodes, genesis, start, stop, status, height, waitFor, blocks, destroy };
}

function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime, clock ticks (100/s)
}
function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return round(Number(m?.[1] ?? 0) / 1024);
}

// ---- phases ----------------------------------------------------------------------------------

async function finalityRun(n: number, slotMs: number, blocksWanted: number): Promise<void> {
  const c = await startCluster(n, slotMs);
  try {
    for (let i = 0; i < n; i++) c.start(i);
    await c.waitFor('all up', async () => (await Promise.all(c.nodes.map((_, i) => c.height(i)))).every((h) => h >= 1));
    const h0 = await c.height(0);
    for (const x of c.nodes) { x.cpu0 = cpuTicks(x.proc!.pid!); x.t0 = Date.now(); }
    await c.waitFor(`${blocksWanted} blocks`, async () => (await c.height(0)) >= h0 + blocksWanted, (blocksWanted + 20) * slotMs * 3);
    const finality: number[] = [];
    const rounds: number[] = [];
    const slow: string[] = [];
    for (let i = 0; i < n; i++) {
      for (const b of await c.blocks(i)) {
        if (b.height > h0 && b.via === 'consensus' && b.finalityMs !== null) finality.push(b.finalityMs);
        if (b.height > h0 && (b.finalityMs ?? 0) > 150 && process.env['BENCH_DEBUG']) slow.push(`node${i}/h${b.height}:${b.finalityMs}`);
      }
    }
    if (slow.length) console.error('slow', slow.join(' '));
    for (const b of await c.blocks(0)) if (b.height > h0) rounds.push((b as unknown as { round: number }).round);
    emit({
      metric: 'finality_ms', nodes: n, slot_ms: slotMs, blocks: rounds.length, samples: finality.length,
      p50: pct(finality, 50), p95: pct(finality, 95), max: Math.max(...finality), goal_p95: 1000,
      blocks_needing_more_rounds: rounds.filter((r) => r > 0).length, latency_one_way_ms: ONE_WAY_MS, jitter_ms: JITTER_MS,
    });
    resources(c.nodes, `finality-${n}`);
  } finally {
    c.destroy();
  }
}

/** A full block: 5,200 anchors offered over P2P right after a block, before the next proposal. */
async function fullBlockRun(n: number, slotMs: number): Promise<void> {
  const c = await startCluster(n, slotMs);
  try {
    for (let i = 0; i < n; i++) c.start(i);
    await c.waitFor('all up', async () => (await Promise.all(c.nodes.map((_, i) => c.height(i)))).every((h) => h >= 2), 120_000);
    const full = await fullBlock(c, n);
    emit({ metric: 'full_block', nodes: n, slot_ms: slotMs, ...full, limit_bytes: 1024 * 1024 });
  } finally {
    c.destroy();
  }
}

function resources(nodes: BenchNode[], phase: string): void {
  const rows = nodes.filter((x) => x.proc?.pid).map((x, i) => {
    const secs = (Date.now() - x.t0) / 1000;
    return { node: i, cpu_percent: round(((cpuTicks(x.proc!.pid!) - x.cpu0) / 100 / secs) * 100), rss_mb: rssMB(x.proc!.pid!) };
  });
  emit({ metric: 'node_resources', phase, per_node: rows, cpu_percent_max: Math.max(...rows.map((r) => r.cpu_percent)), rss_mb_max: Math.max(...rows.map((r) => r.rss_mb)) });
}

/** Connects as a follower (own key) to every node and offers signed anchors: a real P2P path. */
async function fullBlock(c: Awaited<ReturnType<typeof startCluster>>, n: number) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const cert = selfSignedCertificate(privateKey, 'bench-follower');
  const keyPem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const chainId = c.genesis.chainId;
  const txs: Buffer[] = [];
  for (let i = 0; i < 5200; i++) {
    const body: TxBody = { type: 'anchor', sessionId: randomUUID(), manifestHash: randomBytes(32), merkleRoot: randomBytes(32), node: raw, chunkCount: 1, chunkSize: 65_536, totalBytes: 1000 };
    txs.push(signTx(chainId, body, (m) => sign(null, m, privateKey)));
  }
  const hello = encodeMessage({ t: 'hello', chainId, genesisHash: genesisHash(c.genesis), height: 0 });
  const chunks: Buffer[] = [];
  for (let i = 0; i < txs.length; i += 2000) chunks.push(encodeMessage({ t: 'txs', txs: txs.slice(i, i + 2000) }));
  const sockets = await Promise.all(c.nodes.map((x) => new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${x.p2p}/`, { key: keyPem, cert, rejectUnauthorized: false, perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  })));
  for (const ws of sockets) { ws.send(hello); }
  await sleep(200);
  // Right after a block: the whole batch has a slot to reach every mempool before the next proposal.
  const h1 = await c.height(0);
  await c.waitFor('a fresh block', async () => (await c.height(0)) > h1, 60_000);
  const hBefore = await c.height(0);
  const t0 = Date.now();
  for (const ws of sockets) for (const m of chunks) ws.send(m);
  if (process.env['BENCH_DEBUG']) {
    const iv = setInterval(async () => {
      const st = await Promise.all(c.nodes.map(async (_, i) => { const s = (await c.status(i)) as unknown as { height: number; mempool: { transactions: number } } | null; return s ? `${s.height}/${s.mempool.transactions}` : '-'; }));
      console.error(Date.now() - t0, st.join(' '));
    }, 250);
    setTimeout(() => clearInterval(iv), 8000);
  }
  let best = { height: 0, txCount: 0, finalityMs: 0, bytes: 0 };
  const seen = new Map<number, number>();
  await c.waitFor('the anchors in blocks', async () => {
    for (const b of (await c.blocks(0, 200)).filter((x) => x.height > hBefore)) {
      seen.set(b.height, b.txCount);
      if (b.txCount > best.txCount) best = { height: b.height, txCount: b.txCount, finalityMs: b.finalityMs ?? NaN, bytes: b.bytes };
    }
    return [...seen.values()].reduce((a, x) => a + x, 0) >= txs.length;
  }, 180_000);
  const tAll = Date.now() - t0;
  for (const ws of sockets) ws.close();
  void n;
  return { anchors_in_fullest_block: best.txCount, fullest_block_tx_bytes: best.bytes, fullest_block_commit_ms: best.finalityMs, all_5200_final_after_ms: tAll };
}

async function catchUpRun(): Promise<void> {
  const slotMs = 150;
  const c = await startCluster(4, slotMs);
  try {
    for (let i = 0; i < 3; i++) c.start(i);
    await c.waitFor('3 up', async () => (await Promise.all([0, 1, 2].map((i) => c.height(i)))).every((h) => h >= 1));
    const behind = 300;
    await c.waitFor(`${behind} blocks`, async () => (await c.height(0)) >= behind, 300_000);
    const target = await c.height(0);
    const t0 = Date.now();
    c.start(3);
    await c.waitFor('node 3 caught up', async () => (await c.height(3)) >= target, 300_000);
    const secs = (Date.now() - t0) / 1000;
    emit({ metric: 'catch_up', blocks: target, seconds_including_boot: round(secs, 2), blocks_per_sec: round(target / secs), note: 'every block and commit verified, one synced LevelDB batch per block; includes process start' });
  } finally {
    c.destroy();
  }
}

export async function run(): Promise<void> {
  if (process.env['BENCH_ONLY'] === 'finality4') { await finalityRun(4, 1000, 20); return; }
  if (process.env['BENCH_ONLY'] === 'full') { await fullBlockRun(4, 6000); return; }
  const rates = ed25519Rates();
  emit({ metric: 'baseline_ed25519', sign_per_sec: rates.signPerSec, verify_per_sec: rates.verifyPerSec });
  emit({ metric: 'baseline_ws_tls_rtt_ms', loopback_p50: round(await wsRoundTrip(null), 3), through_latency_proxy_p50: round(await wsRoundTrip(ONE_WAY_MS), 3), injected_one_way_ms: ONE_WAY_MS });
  await finalityRun(4, 1000, Number(process.env['BENCH_BLOCKS'] ?? 20));
  await finalityRun(7, 1000, Number(process.env['BENCH_BLOCKS'] ?? 20));
  await fullBlockRun(4, 6000);
  await catchUpRun();
}

void createPrivateKey;
