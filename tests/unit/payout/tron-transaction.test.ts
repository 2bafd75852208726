// The offline TRC-20 build (tronweb, txLocal + block header) and the independent decode-and-check
// that runs before anything signs: every field that differs from the approved request is
// refused with a coded error naming it.
import { describe, expect, it } from 'vitest';
import { TronWeb } from 'tronweb';
import { buildTransfer, type TransferPlan } from '../../../services/payout/tron/builder.js';
import { checkTransfer, type ExpectedTransfer } from '../../../services/payout/tron/check.js';
import { decodeTransfer, encodeTransfer, signedTransaction, parseSignedTransaction, txidOf } from '../../../services/payout/tron/transaction.js';
import { addressOfPrivateKey } from '../../../services/payout/tron/address.js';
import { recoverSigner, signTxid } from '../../../services/payout/tron/signature.js';
import { concat, lenField } from '../../../services/payout/tron/protobuf.js';

const USDT = 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t';
const KEY = Uint8Array.from(Buffer.from('01'.repeat(32), 'hex'));
const OWNER = addressOfPrivateKey(KEY);
const RECIPIENT = addressOfPrivateKey(Uint8Array.from(Buffer.from('02'.repeat(32), 'hex')));
const OTHER = addressOfPrivateKey(Uint8Array.from(Buffer.from('03'.repeat(32), 'hex')));
const NOW = 1_764_000_000_000;
const REF = { number: 123_456, id: (123_456).toString(16).padStart(16, '0') + 'aabbccddeeff0011' + '22'.repeat(16), timestamp: NOW - 5_000 };
const PLAN: TransferPlan = { owner: OWNER, contract: USDT, recipient: RECIPIENT, amount: 1_500_000n, feeLimit: 30_000_000, ref: REF, expiration: REF.timestamp + 600_000 };
const EXPECT: ExpectedTransfer = { ...PLAN, maxRefAgeMs: 600_000, now: NOW };

describe('offline TRC-20 transfer', () => {
  it('tronweb builds it offline; our decoder reads back exactly the plan, and our encoder the same bytes', async () => {
    const { rawData, txid } = await buildTransfer(PLAN);
    expect(txid).toBe(txidOf(rawData));
    const t = decodeTransfer(rawData);
    expect(t).toEqual({ refBlockBytes: 'e240', refBlockHash: 'aabbccddeeff0011', expiration: PLAN.expiration, timestamp: REF.timestamp, feeLimit: 30_000_000, owner: OWNER, contract: USDT, recipient: RECIPIENT, amount: 1_500_000n });
    expect(Buffer.from(encodeTransfer(t)).equals(Buffer.from(rawData))).toBe(true);
    expect(checkTransfer(rawData, EXPECT).amount).toBe(1_500_000n);
  });

  it('signs byte for byte like tronweb, and the signature recovers to the owner', async () => {
    const tw = new TronWeb({ fullHost: 'http://127.0.0.1:9' });
    const { rawData, txid } = await buildTransfer(PLAN);
    const header = { ref_block_bytes: 'e240', ref_block_hash: 'aabbccddeeff0011', expiration: PLAN.expiration, timestamp: REF.timestamp };
    const built = await tw.transactionBuilder.triggerSmartContract(USDT, 'transfer(address,uint256)', { feeLimit: PLAN.feeLimit, callValue: 0, txLocal: true, blockHeader: header },
      [{ type: 'address', value: RECIPIENT }, { type: 'uint256', value: '1500000' }], OWNER);
    expect(built.transaction.txID).toBe(txid);
    const theirs = await tw.trx.sign(built.transaction, '01'.repeat(32));
    const ours = signTxid(txid, KEY);
    expect(Buffer.from(ours).toString('hex')).toBe(theirs.signature[0]!.toLowerCase());
    expect(recoverSigner(txid, ours)).toBe(OWNER);
    expect(recoverSigner(txidOf(Uint8Array.of(1)), ours)).not.toBe(OWNER);
    const env = parseSignedTransaction(signedTransaction(rawData, ours));
    expect(Buffer.from(env.rawData).equals(Buffer.from(rawData))).toBe(true);
  });

  const variants: Array<[string, Partial<TransferPlan>]> = [
    ['recipient', { recipient: OTHER }],
    ['amount', { amount: 1_500_001n }],
    ['contract', { contract: OTHER }],
    ['owner', { owner: OTHER }],
    ['fee_limit', { feeLimit: 1_000_000_000 }],
    ['expiration', { expiration: PLAN.expiration + 1 }],
    ['ref_block_hash', { ref: { ...REF, id: REF.id.slice(0, 16) + '00'.repeat(24) } }],
  ];
  for (const [field, change] of variants) {
    it(`refuses a transaction whose ${field} differs from the approved request (PAYOUT_ERR_TX_MISMATCH)`, () => {
      const raw = encodeTransfer({ ...decodeTransfer(encodeTransfer({ ...refOf(PLAN), ...plainOf(PLAN) })), ...plainOf({ ...PLAN, ...change }), ...refOf({ ...PLAN, ...change }) });
      expect(() => checkTransfer(raw, EXPECT)).toThrow(expect.objectContaining({ code: 'PAYOUT_ERR_TX_MISMATCH', details: expect.objectContaining({ field }) }));
    });
  }

  it('refuses an expired block header and an already expired transaction (PAYOUT_ERR_HEADER_EXPIRED)', async () => {
    const { rawData } = await buildTransfer(PLAN);
    expect(() => checkTransfer(rawData, { ...EXPECT, now: REF.timestamp + 600_001 })).toThrow(expect.objectContaining({ code: 'PAYOUT_ERR_HEADER_EXPIRED' }));
    const late = await buildTransfer({ ...PLAN, expiration: REF.timestamp + 1000 });
    expect(() => checkTransfer(late.rawData, { ...EXPECT, expiration: REF.timestamp + 1000 })).toThrow(expect.objectContaining({ code: 'PAYOUT_ERR_HEADER_EXPIRED' }));
    const far = encodeTransfer({ ...decodeTransfer(rawData), expiration: REF.timestamp + 25 * 3600_000 });
    expect(() => checkTransfer(far, { ...EXPECT, expiration: REF.timestamp + 25 * 3600_000 })).toThrow(expect.objectContaining({ code: 'PAYOUT_ERR_TX_MISMATCH', details: expect.objectContaining({ field: 'expiration' }) }));
  });

  it('refuses anything but one canonical TRC-20 transfer (memo, second contract, duplicate field, padding)', async () => {
    const { rawData } = await buildTransfer(PLAN);
    const memo = concat(rawData, lenField(10, Buffer.from('hi')));
    const dup = concat(rawData, lenField(1, Buffer.from('e240', 'hex')));
    const nonMinimal = Uint8Array.from([...rawData.subarray(0, rawData.length - 4), ...Buffer.from('8087a78e00', 'hex')]);
    for (const bad of [memo, dup, nonMinimal, rawData.subarray(0, rawData.length - 1)]) {
      expect(() => checkTransfer(bad, EXPECT)).toThrow(expect.objectContaining({ code: 'PAYOUT_ERR_TX_MALFORMED' }));
    }
  });
});

function plainOf(p: TransferPlan): { owner: string; contract: string; recipient: string; amount: bigint; feeLimit: number; expiration: number; timestamp: number } {
  return { owner: p.owner, contract: p.contract, recipient: p.recipient, amount: p.amount, feeLimit: p.feeLimit, expiration: p.expiration, timestamp: p.ref.timestamp };
}
function refOf(p: TransferPlan): { refBlockBytes: string; refBlockHash: string } {
  return { refBlockBytes: (p.ref.number & 0xffff).toString(16).padStart(4, '0'), refBlockHash: p.ref.id.slice(16, 32) };
}
