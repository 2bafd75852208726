// Builds a TRC-20 transfer offline with tronweb (`txLocal: true` plus a block header we fetched:
// without both, tronweb asks the node to build it — notes §3.1). tronweb is imported here only,
// lazily, the first time a transaction is built: +40 MiB and ~0.5 s that no other process and
// no idle payout process pays before its first payout. The answer is the raw_data bytes only;
// services/payout/tron/check.ts decodes them independently before anything signs.
import { LucidError } from '../../common/errors.js';
import { refFields, type RefBlock } from './check.js';
import { txidOf } from './transaction.js';

export interface TransferPlan {
  readonly owner: string;
  readonly contract: string;
  readonly recipient: string;
  readonly amount: bigint;
  readonly feeLimit: number;
  readonly ref: RefBlock;
  readonly expiration: number;
}

interface TronWebLike {
  transactionBuilder: {
    triggerSmartContract(contract: string, fn: string, options: Record<string, unknown>, params: unknown[], from: string):
      Promise<{ result?: { result?: boolean }; transaction?: { txID?: string; raw_data_hex?: string } }>;
  };
}

let tronweb: Promise<TronWebLike> | null = null;

/** Loads tronweb once; its constructor needs a host it never contacts when building offline. */
export function loadTronWeb(): Promise<TronWebLike> {
  tronweb ??= import('tronweb').then((m) => new m.TronWeb({ fullHost: 'http://127.0.0.1:9' }) as unknown as TronWebLike);
  return tronweb;
}

export async function buildTransfer(plan: TransferPlan): Promise<{ rawData: Uint8Array; txid: string }> {
  const tw = await loadTronWeb();
  const ref = refFields(plan.ref);
  const blockHeader = { ref_block_bytes: ref.refBlockBytes, ref_block_hash: ref.refBlockHash, expiration: plan.expiration, timestamp: plan.ref.timestamp };
  const { result, transaction } = await tw.transactionBuilder.triggerSmartContract(
    plan.contract, 'transfer(address,uint256)',
    { feeLimit: plan.feeLimit, callValue: 0, txLocal: true, blockHeader },
    [{ type: 'address', value: plan.recipient }, { type: 'uint256', value: plan.amount.toString() }],
    plan.owner,
  );
  const hex = transaction?.raw_data_hex;
  if (result?.result !== true || typeof hex !== 'string' || !/^([0-9a-f]{2})+$/.test(hex)) {
    throw new LucidError('PAYOUT_ERR_TX_MALFORMED', 'tronweb did not build a transaction');
  }
  const rawData = Uint8Array.from(Buffer.from(hex, 'hex'));
  const txid = txidOf(rawData);
  if (transaction?.txID !== txid) throw new LucidError('PAYOUT_ERR_TX_MALFORMED', 'tronweb\'s txID is not SHA-256 of its raw_data');
  return { rawData, txid };
}
