// The payout process's only network peer: a TRON full node's HTTP API (`LUCID_TRON_URL`, with
// an optional API key for hosted nodes, sent as TRON-PRO-API-KEY). Every answer is checked for
// shape; an unreachable node, a 5xx, a timeout or a malformed answer is PAYOUT_ERR_NODE, which
// the payout machine treats as "try again later" — never as "not paid".
import { LucidError } from '../../common/errors.js';
import type { RefBlock } from './check.js';
import { fromBase58 } from './address.js';

export interface TronNodeOptions {
  readonly url: string;
  readonly apiKey?: string | undefined;
  readonly timeoutMs?: number;
}

export type BroadcastResult =
  | { readonly accepted: true }
  /** The node refused it; `code` is java-tron's (DUP_TRANSACTION_ERROR, TRANSACTION_EXPIRATION_ERROR, …). */
  | { readonly accepted: false; readonly code: string; readonly message: string };

export interface TxInfo {
  readonly blockNumber: number;
  /** SUCCESS, or REVERT / OUT_OF_ENERGY / … when the contract call failed (no tokens moved). */
  readonly result: string;
}

export interface TronNode {
  nowBlock(): Promise<RefBlock>;
  broadcastHex(signedHex: string): Promise<BroadcastResult>;
  /** True when the node has the transaction in a block. */
  hasTransaction(txid: string): Promise<boolean>;
  /** Null until the transaction is in a block. */
  transactionInfo(txid: string): Promise<TxInfo | null>;
  tokenBalance(contract: string, address: string): Promise<bigint>;
  /** TRX balance in sun (what pays the fees); 0 for an account the chain has not seen. */
  trxBalance(address: string): Promise<number>;
}

const nodeError = (what: string, details?: Record<string, unknown>): LucidError => new LucidError('PAYOUT_ERR_NODE', `TRON node: ${what}`, details);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function createTronNode(options: TronNodeOptions): TronNode {
  const base = options.url.replace(/\/+$/, '');
  async function post(path: string, body: unknown): Promise<Record<string, unknown>> {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(options.apiKey ? { 'TRON-PRO-API-KEY': options.apiKey } : {}) },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
    } catch (err) {
      throw nodeError(`${path} unreachable (${(err as Error).message})`);
    }
    const text = await res.text().catch(() => '');
    if (!res.ok) throw nodeError(`${path} answered ${res.status}`, { status: res.status });
    try {
      const parsed: unknown = JSON.parse(text);
      if (isObj(parsed)) return parsed;
    } catch { /* below */ }
    throw nodeError(`${path} answered something that is not a JSON object`);
  }

  return {
    async nowBlock() {
      const b = await post('/wallet/getnowblock', {});
      const raw = isObj(b['block_header']) && isObj(b['block_header']['raw_data']) ? b['block_header']['raw_data'] : null;
      const id = b['blockID'];
      if (!raw || typeof id !== 'string' || !/^[0-9a-f]{64}$/.test(id) || !Number.isSafeInteger(raw['number']) || !Number.isSafeInteger(raw['timestamp'])) {
        throw nodeError('getnowblock answered a malformed block');
      }
      return { number: raw['number'] as number, id, timestamp: raw['timestamp'] as number };
    },
    async broadcastHex(signedHex) {
      const r = await post('/wallet/broadcasthex', { transaction: signedHex });
      if (r['result'] === true) return { accepted: true };
      const code = typeof r['code'] === 'string' ? r['code'] : 'UNKNOWN';
      const hex = typeof r['message'] === 'string' ? r['message'] : '';
      const message = /^([0-9a-f]{2})*$/i.test(hex) ? Buffer.from(hex, 'hex').toString('utf8') : hex;
      // Busy or not connected: a node-side condition, not a verdict on the transaction.
      if (['SERVER_BUSY', 'NO_CONNECTION', 'NOT_ENOUGH_EFFECTIVE_CONNECTION'].includes(code)) throw nodeError(`broadcast: ${code}`);
      return { accepted: false, code, message };
    },
    async hasTransaction(txid) {
      const r = await post('/wallet/gettransactionbyid', { value: txid });
      return r['txID'] === txid;
    },
    async transactionInfo(txid) {
      const r = await post('/wallet/gettransactioninfobyid', { value: txid });
      if (Object.keys(r).length === 0) return null;
      if (r['id'] !== txid || !Number.isSafeInteger(r['blockNumber'])) throw nodeError('gettransactioninfobyid answered a malformed record');
      const receipt = isObj(r['receipt']) ? r['receipt'] : {};
      const result = r['result'] === 'FAILED' ? String(receipt['result'] ?? 'FAILED') : String(receipt['result'] ?? 'SUCCESS');
      return { blockNumber: r['blockNumber'] as number, result };
    },
    async tokenBalance(contract, address) {
      const a = fromBase58(address);
      if (!a) throw new LucidError('PAYOUT_ERR_BAD_ADDRESS', address);
      const r = await post('/wallet/triggerconstantcontract', {
        owner_address: address, contract_address: contract, function_selector: 'balanceOf(address)',
        parameter: Buffer.from(a.subarray(1)).toString('hex').padStart(64, '0'), visible: true,
      });
      const word = Array.isArray(r['constant_result']) ? r['constant_result'][0] : undefined;
      if (typeof word !== 'string' || !/^[0-9a-f]{64}$/i.test(word)) throw nodeError('balanceOf answered no result');
      return BigInt(`0x${word}`);
    },
    async trxBalance(address) {
      const r = await post('/wallet/getaccount', { address, visible: true });
      return typeof r['balance'] === 'number' ? r['balance'] : 0;
    },
  };
}
