// The TRON full-node double: it must refuse what a real node refuses (bad signature, unknown
// reference block, expired), count every broadcast per txid, apply transfers once, and fail on
// demand (5xx, dropped connection, fork) — and it must not share code with what it checks.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTronNodeDouble, type TronNodeDouble } from '../../helpers/tron-node/index.js';
import { ROOT } from '../../helpers/appliance.js';
import { buildTransfer } from '../../../services/payout/tron/builder.js';
import { signedTransaction } from '../../../services/payout/tron/transaction.js';
import { signTxid } from '../../../services/payout/tron/signature.js';
import { addressOfPrivateKey } from '../../../services/payout/tron/address.js';
import { createTronNode } from '../../../services/payout/tron/node-client.js';

const USDT = 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t';
const KEY = Uint8Array.from(Buffer.alloc(32, 7));
const OWNER = addressOfPrivateKey(KEY);
const TO = addressOfPrivateKey(Uint8Array.from(Buffer.alloc(32, 8)));

let node: TronNodeDouble | null = null;
afterEach(async () => { await node?.close(); node = null; });

async function signed(double: TronNodeDouble, amount: bigint, opts: { key?: Uint8Array; ttl?: number; apiKey?: string } = {}): Promise<{ hex: string; txid: string }> {
  const client = createTronNode({ url: double.url, apiKey: opts.apiKey });
  const ref = await client.nowBlock();
  const { rawData, txid } = await buildTransfer({ owner: OWNER, contract: USDT, recipient: TO, amount, feeLimit: 30_000_000, ref, expiration: ref.timestamp + (opts.ttl ?? 60_000) });
  return { hex: Buffer.from(signedTransaction(rawData, signTxid(txid, opts.key ?? KEY))).toString('hex'), txid };
}

describe('TRON node double', () => {
  it('imports nothing of the project (an independent checker)', () => {
    const dir = join(ROOT, 'tests/helpers/tron-node');
    for (const f of readdirSync(dir)) {
      for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/from '([^']+)'/g)) expect(m[1]).toMatch(/^(node:|@noble\/|\.\/)/);
    }
  });

  it('accepts a valid transfer, applies it once when mined, counts every broadcast, answers DUP after', async () => {
    node = await startTronNodeDouble();
    node.chain.setBalance(OWNER, 5_000_000n);
    const client = createTronNode({ url: node.url });
    const tx = await signed(node, 1_500_000n);
    expect(await client.broadcastHex(tx.hex)).toEqual({ accepted: true });
    expect(await client.transactionInfo(tx.txid)).toBeNull();
    node.mine();
    expect(await client.broadcastHex(tx.hex)).toMatchObject({ accepted: false, code: 'DUP_TRANSACTION_ERROR' });
    expect(node.chain.broadcastCount(tx.txid)).toBe(2);
    expect(node.chain.transfers).toHaveLength(1);
    expect(await client.tokenBalance(USDT, TO)).toBe(1_500_000n);
    expect(await client.tokenBalance(USDT, OWNER)).toBe(3_500_000n);
    expect(await client.hasTransaction(tx.txid)).toBe(true);
    expect(await client.transactionInfo(tx.txid)).toMatchObject({ result: 'SUCCESS', blockNumber: node.chain.head.number });
  });

  it('refuses a wrong signature (SIGERROR), an unknown reference block (TAPOS) and an expired transaction', async () => {
    node = await startTronNodeDouble();
    const client = createTronNode({ url: node.url });
    const wrongKey = await signed(node, 1n, { key: Uint8Array.from(Buffer.alloc(32, 9)) });
    expect(await client.broadcastHex(wrongKey.hex)).toMatchObject({ accepted: false, code: 'SIGERROR' });
    const expiring = await signed(node, 1n, { ttl: 1 });
    await new Promise((r) => setTimeout(r, 5));
    node.mine();
    expect(await client.broadcastHex(expiring.hex)).toMatchObject({ accepted: false, code: 'TRANSACTION_EXPIRATION_ERROR' });
    const other = await startTronNodeDouble();
    try {
      other.mine(3);
      const foreign = await signed(other, 1n);
      expect(await client.broadcastHex(foreign.hex)).toMatchObject({ accepted: false, code: 'TAPOS_ERROR' });
    } finally {
      await other.close();
    }
  });

  it('reverts a transfer the sender cannot cover (no tokens move)', async () => {
    node = await startTronNodeDouble();
    const client = createTronNode({ url: node.url });
    const tx = await signed(node, 1_000_000n);
    await client.broadcastHex(tx.hex);
    node.mine();
    expect(await client.transactionInfo(tx.txid)).toMatchObject({ result: 'REVERT' });
    expect(node.chain.transfers).toHaveLength(0);
  });

  it('fails on demand: 5xx, a lost connection after taking the transaction, a fork that never confirms, an API key', async () => {
    node = await startTronNodeDouble({ apiKey: 'k1' });
    node.chain.setBalance(OWNER, 10_000_000n);
    const client = createTronNode({ url: node.url, apiKey: 'k1', timeoutMs: 2000 });
    await expect(createTronNode({ url: node.url }).nowBlock()).rejects.toMatchObject({ code: 'PAYOUT_ERR_NODE' });
    node.fail5xx(1, '/wallet/getnowblock');
    await expect(client.nowBlock()).rejects.toMatchObject({ code: 'PAYOUT_ERR_NODE', details: { status: 503 } });
    const a = await signed(node, 1_000_000n, { apiKey: 'k1' });
    node.dropBroadcasts(1, true);
    await expect(client.broadcastHex(a.hex)).rejects.toMatchObject({ code: 'PAYOUT_ERR_NODE' });
    expect(node.chain.pool.has(a.txid)).toBe(true);
    const b = await signed(node, 2_000_000n, { apiKey: 'k1' });
    node.chain.fates.push('fork');
    await client.broadcastHex(b.hex);
    node.mine();
    expect(await client.transactionInfo(b.txid)).not.toBeNull();
    node.mine(2);
    expect(await client.transactionInfo(b.txid)).toBeNull();
    expect(await client.broadcastHex(b.hex)).toEqual({ accepted: true });
    node.mine(5);
    expect(await client.hasTransaction(b.txid)).toBe(false);
    expect(node.chain.transfers.map((t) => t.amount)).toEqual([1_000_000n]);
    expect(await client.tokenBalance(USDT, TO)).toBe(1_000_000n);
  });

  it('a gate holds a request while the test acts: dropped on arrival it is never processed, dropped after processing the node has it', async () => {
    node = await startTronNodeDouble();
    node.chain.setBalance(OWNER, 10_000_000n);
    const client = createTronNode({ url: node.url, timeoutMs: 2000 });
    const a = await signed(node, 1_000_000n);
    const seen: string[] = [];
    node.gate = async ({ path, phase }) => {
      seen.push(`${phase} ${path}`);
      await new Promise((r) => setTimeout(r, 20)); // the test's action (a power cut) happens here
      return path === '/wallet/broadcasthex' && phase === 'received' ? 'drop' : 'go';
    };
    await expect(client.broadcastHex(a.hex)).rejects.toMatchObject({ code: 'PAYOUT_ERR_NODE' });
    expect(node.chain.broadcastCount(a.txid)).toBe(0);
    expect(node.chain.pool.has(a.txid)).toBe(false);
    node.gate = ({ path, phase }) => (path === '/wallet/broadcasthex' && phase === 'processed' ? 'drop' : 'go');
    await expect(client.broadcastHex(a.hex)).rejects.toMatchObject({ code: 'PAYOUT_ERR_NODE' });
    expect(node.chain.broadcastCount(a.txid)).toBe(1);
    expect(node.chain.pool.has(a.txid)).toBe(true);
    node.gate = null;
    expect(await client.broadcastHex(a.hex)).toMatchObject({ accepted: false, code: 'DUP_TRANSACTION_ERROR' });
    expect(seen).toEqual(['received /wallet/broadcasthex']);
  });
});
