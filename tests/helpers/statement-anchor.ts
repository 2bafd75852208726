// Makes the proof that a chain made a payout statement final, for tests of the payout process
// that do not run a chain: a real block (the ledger's own codec) holding the `statement`
// transaction among others, committed by precommits of test validators (Ed25519, node:crypto).
// The chain rule that decides which hash may be final is tested in tests/unit/ledger/statements.test.ts
// and on real appliances in tests/integration/payout/anchoring.test.ts.
import { generateKeyPairSync, sign as edSign, type KeyObject } from 'node:crypto';
import { blockHash, commitHash, type BlockHeader } from '../../services/ledger/codec/block.js';
import { signTx } from '../../services/ledger/codec/tx.js';
import { voteSignBytes } from '../../services/ledger/codec/vote.js';
import { validatorSetHash } from '../../services/ledger/chain/apply.js';
import { anchorProof } from '../../services/ledger/anchors/proof.js';
import { merkleRoot, sha256 } from '../../services/common/merkle.js';
import type { StatementAnchorProof } from '../../services/statement/index.js';

export interface TestValidator { readonly publicKey: string; readonly power: number; readonly key: KeyObject }

export function testValidators(n: number, power = 1): TestValidator[] {
  return Array.from({ length: n }, () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
    return { publicKey: raw.toString('hex'), power, key: privateKey };
  }).sort((a, b) => (a.publicKey < b.publicKey ? -1 : 1));
}

let defaultSet: TestValidator[] | null = null;
/** One fixed set per test process (the payout process pins the first set it sees). */
export function defaultValidators(): TestValidator[] {
  return (defaultSet ??= testValidators(3));
}

export interface AnchorOptions {
  readonly validators?: readonly TestValidator[];
  /** Who signs the commit (default: all); fewer than > 2/3 of the power makes a proof that must not verify. */
  readonly signers?: readonly TestValidator[];
  readonly height?: number;
}

/** The proof of a block that carries statement `hash` of `epoch` on `chainId`. */
export function statementAnchor(chainId: string, epoch: number, hash: string, o: AnchorOptions = {}): StatementAnchorProof {
  const vals = o.validators ?? defaultValidators();
  const submitter = vals[0]!;
  const sign = (v: TestValidator) => (m: Uint8Array): Buffer => edSign(null, m, v.key);
  const stmtTx = signTx(chainId, { type: 'statement', node: Buffer.from(submitter.publicKey, 'hex'), epoch, hash: Buffer.from(hash, 'hex') }, sign(submitter));
  // Another transaction before it, so the inclusion path is not trivial.
  const other = signTx(chainId, { type: 'leave', node: Buffer.from(submitter.publicKey, 'hex'), nonce: 1 }, sign(submitter));
  const txs = [other, stmtTx];
  const height = o.height ?? 10 + epoch;
  const header: BlockHeader = {
    chainId, height, round: 0, time: 1_700_000_000_000 + height, prevHash: sha256(Buffer.from(`prev ${height}`)), proposer: Buffer.from(submitter.publicKey, 'hex'),
    txRoot: merkleRoot(txs), txCount: txs.length, lastCommitHash: commitHash(null), validatorsHash: validatorSetHash(vals),
  };
  const hashB = blockHash(header);
  const msg = voteSignBytes(chainId, { type: 'precommit', height, round: 0, value: hashB });
  const signatures = (o.signers ?? vals).map((v) => ({ validator: Buffer.from(v.publicKey, 'hex'), signature: sign(v)(msg) }))
    .sort((a, b) => Buffer.compare(a.validator, b.validator));
  const proof = anchorProof({ header, lastCommit: null, txs }, { height, round: 0, blockHash: hashB, signatures }, 1);
  return { ...proof, validators: vals.map((v) => ({ publicKey: v.publicKey, power: v.power })) };
}

/** Anything that sends protocol ops: PayoutClient, or a PayoutService's handle(). */
export interface SubmitPort { call(op: 'statement.submit', args: never): Promise<unknown> }

/** Submits a credit set, then again with the proof that the chain made its statement final. */
export async function submitAnchored(c: SubmitPort, set: { chainId: string; epoch: number; pool: string; operators: ReadonlyArray<{ operator: string; credits: number; uptime: number; window: number }> }, o: AnchorOptions = {}): Promise<{ hash: string; requested: string[]; skipped: Array<{ operator: string; code: string }>; anchor: { height: number; blockHash: string } | null }> {
  const call = (args: unknown): Promise<unknown> => c.call('statement.submit', args as never);
  const first = (await call(set)) as { hash: string };
  return (await call({ ...set, anchor: statementAnchor(set.chainId, set.epoch, first.hash, o) })) as never;
}
