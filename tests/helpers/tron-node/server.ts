// The TRON full-node double's HTTP face (shapes from tronprotocol's HTTP API docs, notes §3.5):
// /wallet/getnowblock, /wallet/broadcasthex, /wallet/gettransactionbyid,
// /wallet(solidity)/gettransactioninfobyid, /wallet/triggerconstantcontract (balanceOf),
// /wallet/getaccount. Faults on demand: answer 5xx, delay, drop the connection (with or without
// processing the request), the chain's drop/fork fates, and a `gate` that holds a request while the
// test acts (the VM power-cut test cuts the guest there). Blocks are mined every `blockMs`
// (0: only when a test calls mine()).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TronChain, type Block } from './chain.js';
import { addr21, base58check } from './tx-codec.js';

export interface TronNodeDoubleOptions {
  readonly usdt?: string;
  readonly blockMs?: number;
  /** When set, every request must carry it in TRON-PRO-API-KEY (hosted nodes such as TronGrid). */
  readonly apiKey?: string;
  readonly now?: () => number;
}

/**
 * A test's hold on a request: called when one arrives (`received`) and, for a broadcast, again
 * once the chain has taken it (`processed`); 'drop' closes the connection unanswered (and, at
 * `received`, unprocessed). The power-cut tests cut the guest from here, at the node's own moment.
 */
export type TronGate = (e: { readonly path: string; readonly body: Record<string, unknown>; readonly phase: 'received' | 'processed' }) => Promise<'go' | 'drop'> | 'go' | 'drop';

export interface TronNodeDouble {
  readonly url: string;
  readonly chain: TronChain;
  readonly requests: Array<{ path: string; body: unknown }>;
  /** The next `n` requests (to paths starting with `prefix`) answer 503. */
  fail5xx(n: number, prefix?: string): void;
  /** The next `n` broadcasts lose their connection — after the node took the transaction when `processed`. */
  dropBroadcasts(n: number, processed: boolean): void;
  delayMs: number;
  gate: TronGate | null;
  mine(n?: number): void;
  close(): Promise<void>;
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)));
};

function blockJson(b: Block): unknown {
  return {
    blockID: b.id,
    block_header: { raw_data: { number: b.number, txTrieRoot: '0'.repeat(64), witness_address: '41'.padEnd(42, '0'), parentHash: b.parentHash, version: 30, timestamp: b.timestamp }, witness_signature: '' },
  };
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  try { return JSON.parse(text) as Record<string, unknown>; } catch { return { __malformed: text }; }
}

export async function startTronNodeDouble(options: TronNodeDoubleOptions = {}): Promise<TronNodeDouble> {
  const chain = new TronChain(options.usdt ?? 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t', options.now);
  const requests: Array<{ path: string; body: unknown }> = [];
  const failures: Array<string> = [];
  const drops: boolean[] = [];
  const state: { delayMs: number; gate: TronGate | null } = { delayMs: 0, gate: null };
  const gated = async (path: string, body: Record<string, unknown>, phase: 'received' | 'processed'): Promise<boolean> =>
    state.gate !== null && (await state.gate({ path, body, phase })) === 'drop';

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const body = await readBody(req);
    requests.push({ path, body });
    if (state.delayMs > 0) await new Promise((r) => setTimeout(r, state.delayMs));
    if (await gated(path, body, 'received')) { req.socket.destroy(); return; }
    if (options.apiKey !== undefined && req.headers['tron-pro-api-key'] !== options.apiKey) return json(res, 401, { Error: 'ApiKey not exists' });
    const f = failures.findIndex((p) => path.startsWith(p));
    if (f >= 0) {
      failures.splice(f, 1);
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('Service Unavailable');
      return;
    }
    const value = typeof body['value'] === 'string' ? body['value'] : '';
    switch (path) {
      case '/wallet/getnowblock':
        return json(res, 200, blockJson(chain.head));
      case '/wallet/broadcasthex': {
        const drop = drops.shift();
        if (drop === false) { req.socket.destroy(); return; }
        const r = chain.broadcast(typeof body['transaction'] === 'string' ? body['transaction'] : '');
        if (drop === true || (await gated(path, body, 'processed'))) { req.socket.destroy(); return; }
        if (r.code !== 'SUCCESS') return json(res, 200, { result: false, code: r.code, txid: r.txid, message: Buffer.from(r.message ?? '').toString('hex') });
        return json(res, 200, { result: true, code: 'SUCCESS', txid: r.txid, transaction: JSON.stringify({ txID: r.txid }) });
      }
      case '/wallet/gettransactionbyid': {
        const inc = chain.included.get(value);
        if (!inc) return json(res, 200, {});
        return json(res, 200, { txID: value, raw_data_hex: Buffer.from(inc.tx.rawData).toString('hex'), signature: [Buffer.from(inc.tx.signature).toString('hex')], ret: [{ contractRet: inc.result }] });
      }
      case '/wallet/gettransactioninfobyid':
      case '/walletsolidity/gettransactioninfobyid': {
        const inc = chain.included.get(value);
        if (!inc) return json(res, 200, {});
        const b = chain.blocks[inc.blockNumber]!;
        return json(res, 200, {
          id: value, fee: inc.fee, blockNumber: inc.blockNumber, blockTimeStamp: b.timestamp,
          contract_address: addr21(chain.usdt).toString('hex'),
          receipt: { energy_usage_total: 14_650, net_usage: 345, result: inc.result },
          ...(inc.result === 'SUCCESS' ? {} : { result: 'FAILED', resMessage: Buffer.from('REVERT opcode executed').toString('hex') }),
        });
      }
      case '/wallet/triggerconstantcontract': {
        const param = typeof body['parameter'] === 'string' ? body['parameter'] : '';
        if (body['function_selector'] !== 'balanceOf(address)' || param.length !== 64) return json(res, 200, { result: { code: 'CONTRACT_VALIDATE_ERROR' } });
        const who = base58check(Buffer.from(`41${param.slice(24)}`, 'hex'));
        return json(res, 200, { result: { result: true }, constant_result: [chain.balanceOf(who).toString(16).padStart(64, '0')] });
      }
      case '/wallet/getaccount': {
        const address = typeof body['address'] === 'string' ? body['address'] : '';
        const balance = chain.trx.get(address);
        return json(res, 200, balance === undefined ? {} : { address, balance });
      }
      default:
        return json(res, 404, { Error: `no route ${path}` });
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => json(res, 500, { Error: String(err) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const timer = options.blockMs ? setInterval(() => chain.mine(), options.blockMs) : undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    chain,
    requests,
    fail5xx(n, prefix = '/') { for (let i = 0; i < n; i++) failures.push(prefix); },
    dropBroadcasts(n, processed) { for (let i = 0; i < n; i++) drops.push(processed); },
    get delayMs() { return state.delayMs; },
    set delayMs(v: number) { state.delayMs = v; },
    get gate() { return state.gate; },
    set gate(g: TronGate | null) { state.gate = g; },
    mine: (n = 1) => chain.mine(n),
    close: async () => {
      if (timer) clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
