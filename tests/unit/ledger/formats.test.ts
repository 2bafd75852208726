// The canonical formats: byte-for-byte against tests/fixtures/ledger/formats.json (the README's
// layouts), round trips, and rejection of every non-canonical variant we can think of.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { allFixtures, fixtureBlock, fixtureTxs, CHAIN_ID, fixtureKey } from '../../fixtures/ledger/fixtures.js';
import { decodeTx, encodeTx, txSignBytes, txId } from '../../../services/ledger/codec/tx.js';
import { decodeBlock, encodeBlock, decodeCommit, encodeCommit, blockHash, decodeHeader, MAX_BLOCK_BYTES } from '../../../services/ledger/codec/block.js';
import { decodeMessage, encodeMessage, voteFromRecord, type WireMessage } from '../../../services/ledger/codec/messages.js';
import { parseVoteSignBytes, voteSignBytes } from '../../../services/ledger/codec/vote.js';
import { CodecError } from '../../../services/ledger/codec/bytes.js';
import { ed25519Verifier } from '../../../services/ledger/crypto.js';

const fixtures = JSON.parse(readFileSync(new URL('../../fixtures/ledger/formats.json', import.meta.url), 'utf8')) as ReturnType<typeof allFixtures> & Record<string, any>;

describe('ledger formats (fixtures)', () => {
  it('every encoding matches formats.json byte for byte', () => {
    expect(JSON.parse(JSON.stringify(allFixtures()))).toEqual(fixtures);
  });

  it('transactions decode to what was encoded and their signatures verify with plain node:crypto', () => {
    const verifier = ed25519Verifier();
    for (const t of fixtureTxs()) {
      const bytes = Buffer.from(t.hex, 'hex');
      const tx = decodeTx(bytes);
      expect(tx.type).toBe(t.body.type);
      expect(encodeTx(tx).equals(bytes)).toBe(true);
      expect(verifier.verify(tx.node, txSignBytes(CHAIN_ID, bytes), tx.signature)).toBe(true);
      // Same transaction on another chain: the signature does not carry over.
      expect(verifier.verify(tx.node, txSignBytes('other-chain', bytes), tx.signature)).toBe(false);
    }
  });

  it('the anchor layout is as documented: version, type, 16-byte session id, manifest, root, node, sizes, signature', () => {
    const hex = (fixtures as any).transactions.anchor as string;
    const b = Buffer.from(hex, 'hex');
    expect(b[0]).toBe(2);
    expect(b[1]).toBe(1);
    expect(b.subarray(2, 18).toString('hex')).toBe('0b7e3a526c1d4f3e9a572c1b8e0d4f61');
    expect(b.length).toBe(194);
    expect(b.subarray(18 + 64, 18 + 96).equals(fixtureKey(1).publicKey)).toBe(true);
    expect([b.readUInt32BE(114), b.readUInt32BE(118), Number(b.readBigUInt64BE(122))]).toEqual([5, 1_048_576, 4_404_019]);
    expect(txId(b)).toBe(createHash('sha256').update(b).digest('hex'));
    // A session id that is not a UUID has no encoding.
    expect(() => encodeTx({ ...decodeTx(b), sessionId: 'session-1' } as any)).toThrow(/UUID/);
  });

  it('the work kinds of the first format (self-reported relay bytes, storage proofs without the object) do not decode', () => {
    const a = fixtureKey(1);
    const relayV1 = Buffer.concat([Buffer.of(2, 2), a.publicKey, Buffer.of(1), Buffer.from('00004e20', 'hex'), Buffer.from('0000000c', 'hex'), Buffer.from('000000002bc00000', 'hex'), Buffer.alloc(64)]);
    expect(() => decodeTx(relayV1)).toThrow(/no longer accepted/);
    const storageV1 = Buffer.concat([Buffer.of(2, 2), a.publicKey, Buffer.of(2), Buffer.alloc(8 + 32 + 8 + 8 + 32 + 1), Buffer.alloc(64)]);
    expect(() => decodeTx(storageV1)).toThrow(/no longer accepted/);
    // …and version-1 transactions of any kind are refused as a whole.
    expect(() => decodeTx(Buffer.concat([Buffer.of(1), relayV1.subarray(1)]))).toThrow(/version 1/);
  });

  it('a block round-trips and its hash is SHA-256 of the header bytes', () => {
    const f = fixtureBlock();
    const bytes = Buffer.from(f.hex, 'hex');
    const block = decodeBlock(bytes);
    expect(encodeBlock(block).equals(bytes)).toBe(true);
    expect(blockHash(block.header).toString('hex')).toBe(createHash('sha256').update(Buffer.from(f.headerHex, 'hex')).digest('hex'));
    expect(bytes.subarray(0, f.headerHex.length / 2).toString('hex')).toBe(f.headerHex);
    expect(decodeHeader(Buffer.from(f.headerHex, 'hex')).height).toBe(7);
    expect(encodeCommit(decodeCommit(Buffer.from(f.commitHex, 'hex'))).toString('hex')).toBe(f.commitHex);
  });

  it('rejects trailing bytes, truncation, unknown versions and types, bad UTF-8 and unsorted commits', () => {
    const tx = Buffer.from((fixtures as any).transactions.anchor, 'hex');
    expect(() => decodeTx(Buffer.concat([tx, Buffer.of(0)]))).toThrow(CodecError);
    expect(() => decodeTx(tx.subarray(0, tx.length - 1))).toThrow(CodecError);
    expect(() => decodeTx(Buffer.concat([Buffer.of(3), tx.subarray(1)]))).toThrow(/version/);
    expect(() => decodeTx(Buffer.concat([Buffer.of(2, 9), tx.subarray(2)]))).toThrow(/type/);
    // No transaction carries a string any more (the session id is 16 bytes); the hello's chain id does.
    const badUtf8 = encodeMessage({ t: 'hello', chainId: CHAIN_ID, genesisHash: Buffer.alloc(32), height: 1 });
    badUtf8[2] = 0xff;
    expect(() => decodeMessage(badUtf8)).toThrow(/UTF-8/);
    const f = fixtureBlock();
    const c = decodeCommit(Buffer.from(f.commitHex, 'hex'));
    expect(() => encodeCommit({ ...c, signatures: [...c.signatures].reverse() })).toThrow(/sorted/);
    const dup = Buffer.from(f.commitHex, 'hex');
    const one = encodeCommit({ ...c, signatures: [c.signatures[0]!, c.signatures[0]!].slice(0, 1) });
    expect(decodeCommit(one).signatures).toHaveLength(1);
    expect(() => decodeBlock(Buffer.alloc(MAX_BLOCK_BYTES + 1))).toThrow(/exceeds/);
    expect(dup.length).toBeGreaterThan(0);
  });

  it('wire messages round-trip', () => {
    const f = fixtureBlock();
    const msgs: WireMessage[] = [
      { t: 'hello', chainId: CHAIN_ID, genesisHash: Buffer.alloc(32, 1), height: 9 },
      { t: 'proposal', height: 7, round: 1, validRound: -1, proposer: Buffer.alloc(32, 2), signature: Buffer.alloc(64, 3), block: Buffer.from(f.hex, 'hex') },
      { t: 'vote', type: 'prevote', height: 7, round: 1, value: null, validator: Buffer.alloc(32, 4), signature: Buffer.alloc(64, 5) },
      { t: 'vote', type: 'precommit', height: 7, round: 1, value: Buffer.alloc(32, 6), validator: Buffer.alloc(32, 4), signature: Buffer.alloc(64, 5) },
      { t: 'txs', txs: fixtureTxs().map((t) => Buffer.from(t.hex, 'hex')) },
      { t: 'status', height: 12, round: 3 },
      { t: 'getBlocks', from: 5, count: 32 },
      { t: 'blocks', items: [{ block: Buffer.from(f.hex, 'hex'), commit: Buffer.from(f.commitHex, 'hex') }] },
      { t: 'getObject', height: 41, seq: 2 },
      { t: 'object', height: 41, seq: 2, object: Buffer.alloc(1000, 9) },
    ];
    for (const m of msgs) expect(decodeMessage(encodeMessage(m))).toEqual(m);
    expect(() => decodeMessage(Buffer.of(99))).toThrow(/tag/);
  });

  it('vote sign bytes parse back', () => {
    const sb = voteSignBytes('c', { type: 'precommit', height: 3, round: 4, value: Buffer.alloc(32, 7) });
    expect(parseVoteSignBytes(sb)).toEqual({ chainId: 'c', type: 'precommit', height: 3, round: 4, value: Buffer.alloc(32, 7) });
  });

  it('a stored sign record gives back the vote message it signed (nil votes too)', () => {
    const validator = Buffer.alloc(32, 1);
    const signature = Buffer.alloc(64, 2);
    const sb = voteSignBytes('c', { type: 'prevote', height: 9, round: 2, value: Buffer.alloc(32, 5) });
    expect(voteFromRecord({ signBytes: sb, signature }, validator)).toEqual({ t: 'vote', type: 'prevote', height: 9, round: 2, value: Buffer.alloc(32, 5), validator, signature });
    const nil = voteSignBytes('c', { type: 'precommit', height: 9, round: 3, value: null });
    expect(voteFromRecord({ signBytes: nil, signature }, validator)).toMatchObject({ type: 'precommit', round: 3, value: null });
  });
});
