// The offline check of a statement's anchor: a `statement` transaction (services/ledger README,
// "Transactions") in a block that more than 2/3 of its validators' power committed. Written
// against the documented byte formats with node:crypto alone — the payout process must not load
// the ledger (LevelDB, P2P) to check what the chain decided, and an independent reading of the
// formats is itself a check on them.
//
// Trust: the verifier is given the validator set it trusts (pinned: the set of the last statement
// it accepted, the first one on first use). A proof counts when its block's own set (which must
// hash to the header's validatorsHash) signed it with > 2/3 of that set's power AND the signers
// hold > 1/3 of the pinned set's power — so at least one validator the payout process already
// trusted, correct by the chain's own assumption (< 1/3 faulty), vouches for the block (the
// "skipping verification" of Tendermint's light client). The new set becomes the pin.
import { createPublicKey, verify as edVerify } from 'node:crypto';
import { leafHash, sha256, verifyInclusion } from '../common/merkle.js';

/** version 0x02 ‖ type 0x06 ‖ 32 node ‖ u64 epoch ‖ 32 statement hash ‖ 64 signature. */
export const STATEMENT_TX_BYTES = 2 + 32 + 8 + 32 + 64;

export interface StatementAnchorProof {
  readonly height: number;
  readonly txIndex: number;
  readonly txCount: number;
  /** base64 of the transaction bytes. */
  readonly tx: string;
  readonly path: string[];
  readonly header: { readonly hash: string; readonly bytes: string };
  readonly commit: { readonly height: number; readonly round: number; readonly blockHash: string; readonly signatures: Array<{ readonly validator: string; readonly signature: string }> };
  /** The validators of the block's height (their hash is in the header). */
  readonly validators: Array<{ readonly publicKey: string; readonly power: number }>;
}

export interface PinnedValidators {
  readonly chainId: string;
  readonly validators: ReadonlyArray<{ readonly publicKey: string; readonly power: number }>;
}

export interface VerifiedAnchor {
  readonly chainId: string;
  readonly epoch: number;
  readonly hash: string;
  readonly height: number;
  readonly blockHash: string;
  readonly blockTime: number;
  readonly txIndex: number;
  /** Who submitted the transaction (a validator's node key). */
  readonly submitter: string;
  /** The pin for the next proof. */
  readonly pin: PinnedValidators;
}

const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');
const HEX = (n: number): RegExp => new RegExp(`^[0-9a-f]{${n}}$`);

function fail(why: string): never {
  throw new RangeError(why);
}

function header(bytes: Buffer): { chainId: string; height: number; time: number; txRoot: Buffer; txCount: number; validatorsHash: Buffer } {
  let o = 0;
  const take = (n: number): Buffer => {
    if (o + n > bytes.length) fail('header is short');
    const b = bytes.subarray(o, o + n);
    o += n;
    return b;
  };
  if (take(1)[0] !== 0x01) fail('unknown header version');
  const idLen = take(1)[0]!;
  const chainId = take(idLen).toString('utf8');
  const height = Number(take(8).readBigUInt64BE());
  take(4);
  const time = Number(take(8).readBigUInt64BE());
  take(64);
  const txRoot = take(32);
  const txCount = take(4).readUInt32BE();
  take(32);
  const validatorsHash = take(32);
  if (o !== bytes.length) fail('header has trailing bytes');
  return { chainId, height, time, txRoot, txCount, validatorsHash };
}

function setHash(vals: PinnedValidators['validators']): Buffer {
  const sorted = [...vals].sort((a, b) => (a.publicKey < b.publicKey ? -1 : 1));
  const parts = [Buffer.from([sorted.length >> 8, sorted.length & 0xff])];
  for (const v of sorted) {
    const p = Buffer.alloc(8);
    p.writeBigUInt64BE(BigInt(v.power));
    parts.push(Buffer.from(v.publicKey, 'hex'), p);
  }
  return sha256(...parts);
}

function precommitBytes(chainId: string, height: number, round: number, hash: Buffer): Buffer {
  const id = Buffer.from(chainId, 'utf8');
  const hr = Buffer.alloc(12);
  hr.writeBigUInt64BE(BigInt(height));
  hr.writeUInt32BE(round, 8);
  return Buffer.concat([Buffer.from('lucid/vote/v1', 'ascii'), Buffer.from([id.length]), id, Buffer.from([2]), hr, Buffer.from([1]), hash]);
}

/**
 * Checks that `proof` anchors statement `expected.hash` of `expected.epoch` on chain
 * `pin.chainId`, final by its commit. Throws RangeError naming what does not hold.
 */
export function verifyStatementAnchor(proof: StatementAnchorProof, expected: { epoch: number; hash: string }, pin: PinnedValidators): VerifiedAnchor {
  const tx = Buffer.from(proof.tx, 'base64');
  if (tx.length !== STATEMENT_TX_BYTES || tx[0] !== 0x02 || tx[1] !== 0x06) fail('the anchored transaction is not a statement');
  const epoch = Number(tx.readBigUInt64BE(34));
  const hash = tx.subarray(42, 74).toString('hex');
  if (epoch !== expected.epoch) fail(`the anchored statement is for epoch ${epoch}, not ${expected.epoch}`);
  if (hash !== expected.hash) fail(`the chain's statement of epoch ${epoch} is ${hash}, not ${expected.hash}`);
  const hb = Buffer.from(proof.header.bytes, 'hex');
  const h = header(hb);
  const blockHash = sha256(hb);
  if (h.chainId !== pin.chainId) fail(`block of chain ${h.chainId}, not ${pin.chainId}`);
  if (h.height !== proof.height) fail('header height differs from the proof');
  if (h.txCount !== proof.txCount || !(proof.txIndex >= 0 && proof.txIndex < h.txCount)) fail('transaction index out of the block');
  if (!proof.path.every((p) => HEX(64).test(p))) fail('bad path');
  if (!verifyInclusion(leafHash(tx), proof.txIndex, h.txCount, proof.path.map((p) => Buffer.from(p, 'hex')), h.txRoot)) fail('the transaction is not in the block');
  if (!setHash(proof.validators).equals(h.validatorsHash)) fail('the validator set is not the block\'s');
  const c = proof.commit;
  if (c.height !== h.height || c.blockHash !== blockHash.toString('hex')) fail('the commit is for another block');
  const msg = precommitBytes(h.chainId, h.height, c.round, blockHash);
  const powerIn = (vals: PinnedValidators['validators'], key: string): number => vals.find((v) => v.publicKey === key)?.power ?? 0;
  const seen = new Set<string>();
  let signed = 0;
  let pinnedSigned = 0;
  for (const s of c.signatures) {
    if (!HEX(64).test(s.validator) || !HEX(128).test(s.signature) || seen.has(s.validator)) fail('bad or repeated commit signature');
    seen.add(s.validator);
    const power = powerIn(proof.validators, s.validator);
    if (power === 0) fail('a commit signer is not a validator of the block');
    const key = createPublicKey({ key: Buffer.concat([SPKI_ED25519, Buffer.from(s.validator, 'hex')]), format: 'der', type: 'spki' });
    if (!edVerify(null, msg, key, Buffer.from(s.signature, 'hex'))) fail('bad commit signature');
    signed += power;
    pinnedSigned += powerIn(pin.validators, s.validator);
  }
  const total = proof.validators.reduce((a, v) => a + v.power, 0);
  const pinnedTotal = pin.validators.reduce((a, v) => a + v.power, 0);
  if (!(3 * signed > 2 * total)) fail(`the commit holds ${signed} of ${total} power, not more than 2/3`);
  if (!(3 * pinnedSigned > pinnedTotal)) fail(`the signers hold ${pinnedSigned} of the trusted set's ${pinnedTotal} power, not more than 1/3`);
  return {
    chainId: h.chainId, epoch, hash, height: h.height, blockHash: blockHash.toString('hex'), blockTime: h.time, txIndex: proof.txIndex,
    submitter: tx.subarray(2, 34).toString('hex'), pin: { chainId: h.chainId, validators: proof.validators.map((v) => ({ publicKey: v.publicKey, power: v.power })) },
  };
}
