// Block validity and the state transition, in one pure function: checkAndApply(state, bytes)
// either throws InvalidBlock (with the reason) or returns the next state and what the block
// anchored. valid(v) in the consensus machine is exactly "checkAndApply does not throw", so
// every honest node accepts the same blocks.
import { blockHash, commitHash, decodeBlock, validatorsHash, type Block, type Commit } from '../codec/block.js';
import { decodeTx, txId, txSignBytes, type Tx } from '../codec/tx.js';
import { voteSignBytes } from '../codec/vote.js';
import { merkleRoot } from '../../common/merkle.js';
import type { Verifier } from '../crypto.js';
import { proposerFor, proposerOrder } from './ranking.js';
import { AdmissionRefused, applyApprove, applyJoin, lastNonce, pruneApprovals, type AdmissionView, type Approvals } from './admission.js';
import { powerOf, totalPower, type ChainState, type ValidatorEntry } from './state.js';
import { CreditBook, anchorSizeProblem } from '../credits/book.js';
import { applyStatement } from './statements.js';

export class InvalidBlock extends Error {
  override readonly name = 'InvalidBlock';
  /** Index of the offending transaction, when one transaction makes the block invalid. */
  constructor(message: string, readonly txIndex?: number) {
    super(message);
  }
}

export interface AnchorRecord {
  readonly manifestHash: string;
  readonly merkleRoot: string;
  readonly sessionId: string;
  readonly node: string;
  readonly height: number;
  readonly txIndex: number;
  readonly time: number;
  /** The manifest's sizes, as the anchor carries them. */
  readonly chunkCount: number;
  readonly chunkSize: number;
  readonly totalBytes: number;
}

/**
 * Anchors committed recently, by manifest hash (storage challenges, dedupe) and by node. It must
 * hold at least every anchor of the scoring window; older entries may linger, as checkAndApply
 * only counts those whose block time falls inside the window of the block being checked.
 */
export interface RecentAnchors {
  get(manifestHash: string): AnchorRecord | undefined;
  /** A node's anchors, oldest first (height, then place in the block). */
  byNode(node: string): readonly AnchorRecord[];
  /** Every node with anchors, sorted. */
  nodes(): readonly string[];
}

export interface ApplyContext {
  readonly verifier: Verifier;
  readonly recentAnchors: RecentAnchors;
  /** Ids of transactions whose signature was already verified (the mempool's), to skip re-verifying. */
  readonly verifiedTxs?: { has(id: string): boolean; add?(id: string): void };
}

export interface Applied {
  readonly block: Block;
  readonly hash: Buffer;
  readonly state: ChainState;
  readonly anchors: readonly AnchorRecord[];
}

const toKeys = (vals: readonly ValidatorEntry[]) => vals.map((v) => ({ publicKey: Buffer.from(v.publicKey, 'hex'), power: v.power }));

export function validatorSetHash(vals: readonly ValidatorEntry[]): Buffer {
  return validatorsHash(toKeys(vals));
}

/**
 * True when `commit` holds valid precommits for `hash` at `height` from more than 2/3 of the
 * validators' power (3·signed > 2·total, integers). Any bad signature or stranger fails it.
 */
export function verifyCommit(chainId: string, commit: Commit, height: number, hash: Buffer, vals: readonly ValidatorEntry[], verifier: Verifier): string | null {
  if (commit.height !== height) return `commit is for height ${commit.height}, not ${height}`;
  if (!commit.blockHash.equals(hash)) return 'commit is for another block';
  const msg = voteSignBytes(chainId, { type: 'precommit', height, round: commit.round, value: hash });
  let signed = 0;
  for (const s of commit.signatures) {
    const power = powerOf(vals, s.validator.toString('hex'));
    if (power === 0) return `commit signer ${s.validator.toString('hex').slice(0, 16)}… is not a validator`;
    if (!verifier.verify(s.validator, msg, s.signature)) return `bad commit signature from ${s.validator.toString('hex').slice(0, 16)}…`;
    signed += power;
  }
  if (!(3 * signed > 2 * totalPower(vals))) return `commit power ${signed} of ${totalPower(vals)} is not more than 2/3`;
  return null;
}

export function checkAndApply(state: ChainState, bytes: Uint8Array, ctx: ApplyContext): Applied {
  let block: Block;
  try {
    block = decodeBlock(bytes);
  } catch (err) {
    throw new InvalidBlock(`undecodable: ${(err as Error).message}`);
  }
  const h = block.header;
  const fail = (why: string): never => { throw new InvalidBlock(`block ${h.height}: ${why}`); };
  const failTx = (index: number, why: string): never => { throw new InvalidBlock(`block ${h.height}: transaction ${index}: ${why}`, index); };
  if (h.chainId !== state.chainId) fail('wrong chain id');
  if (h.height !== state.height + 1) fail(`height ${h.height}, expected ${state.height + 1}`);
  if (h.prevHash.toString('hex') !== state.headHash) fail('previous hash does not match the head');
  if (!(h.time > state.headTime)) fail('time does not increase');
  if (!h.validatorsHash.equals(validatorSetHash(state.validators))) fail('validators hash does not match');
  const order = proposerOrder(state);
  if (h.proposer.toString('hex') !== proposerFor(order, h.round)) fail(`proposer is not proposer(${h.height}, ${h.round})`);
  if (!h.txRoot.equals(merkleRoot(block.txs))) fail('transaction root does not match');
  if (!h.lastCommitHash.equals(commitHash(block.lastCommit))) fail('last commit hash does not match');
  if (state.height === 0) {
    if (block.lastCommit !== null) fail('block 1 carries no last commit');
  } else {
    if (block.lastCommit === null) fail('missing last commit');
    const why = verifyCommit(state.chainId, block.lastCommit!, state.height, Buffer.from(state.headHash, 'hex'), state.lastValidators, ctx.verifier);
    if (why) fail(`last commit: ${why}`);
  }

  const book = new CreditBook({ state, height: h.height, time: h.time, anchors: ctx.recentAnchors });
  book.commitSigners((block.lastCommit?.signatures ?? []).map((s) => s.validator.toString('hex')));

  let validators = [...state.validators];
  const nonces = { ...state.nonces };
  let approvals: Approvals = state.approvals ?? {};
  const admission = (): AdmissionView => ({ params: state.params, height: h.height, voters: state.validators, validators, nonces, approvals });
  const seenTx = new Set<string>();
  const seenAnchor = new Set<string>();
  const anchors: AnchorRecord[] = [];
  let stated = state.stated;

  block.txs.forEach((bytesTx, index) => {
    const id = txId(bytesTx);
    if (seenTx.has(id)) failTx(index, `repeats an earlier one`);
    seenTx.add(id);
    let tx: Tx;
    try {
      tx = decodeTx(bytesTx);
    } catch (err) {
      failTx(index, `undecodable: ${(err as Error).message}`);
    }
    tx = tx!;
    if (!ctx.verifiedTxs?.has(id)) {
      if (!ctx.verifier.verify(tx.node, txSignBytes(state.chainId, bytesTx), tx.signature)) failTx(index, `has a bad signature`);
      ctx.verifiedTxs?.add?.(id);
    }
    const node = tx.node.toString('hex');
    switch (tx.type) {
      case 'anchor': {
        const m = tx.manifestHash.toString('hex');
        if (seenAnchor.has(m) || book.anchor(ctx.recentAnchors.get(m))) failTx(index, `anchors a manifest already anchored`);
        const why = anchorSizeProblem(tx);
        if (why) failTx(index, `anchor sizes: ${why}`);
        seenAnchor.add(m);
        const record: AnchorRecord = {
          manifestHash: m, merkleRoot: tx.merkleRoot.toString('hex'), sessionId: tx.sessionId, node, height: h.height, txIndex: index, time: h.time,
          chunkCount: tx.chunkCount, chunkSize: tx.chunkSize, totalBytes: tx.totalBytes,
        };
        anchors.push(record);
        book.anchored(record);
        break;
      }
      case 'work': {
        const why = tx.kind === 'answer' ? book.answer(tx) : book.verdicts(tx);
        if (why) failTx(index, why);
        break;
      }
      case 'join':
        try {
          approvals = applyJoin(admission(), tx);
        } catch (err) {
          if (err instanceof AdmissionRefused) failTx(index, err.message);
          throw err;
        }
        nonces[node] = tx.nonce;
        validators = [...validators, { publicKey: node, power: tx.power }].sort((a, b) => (a.publicKey < b.publicKey ? -1 : 1));
        break;
      case 'approve':
        try {
          approvals = applyApprove(admission(), tx);
        } catch (err) {
          if (err instanceof AdmissionRefused) failTx(index, err.message);
          throw err;
        }
        break;
      case 'statement': {
        const r = applyStatement(state, stated, tx, h.height, index);
        if (typeof r === 'string') failTx(index, r);
        stated = r as Exclude<typeof r, string>;
        break;
      }
      case 'leave':
        if (!validators.some((v) => v.publicKey === node)) failTx(index, `not a validator`);
        if (validators.length <= 1) failTx(index, `the last validator cannot leave`);
        if (tx.nonce <= lastNonce(nonces, node)) failTx(index, `stale nonce`);
        nonces[node] = tx.nonce;
        validators = validators.filter((v) => v.publicKey !== node);
        break;
    }
  });

  const hash = blockHash(h);
  const credited = book.finish(hash, h.proposer.toString('hex'), validators);
  const recentProposers = [...state.recentProposers, h.proposer.toString('hex')].slice(-Math.max(1, state.params.maxCooldown));
  const next: ChainState = {
    ...state,
    height: h.height,
    headHash: hash.toString('hex'),
    headTime: h.time,
    validators,
    lastValidators: state.validators,
    recentProposers,
    nonces,
    approvals: pruneApprovals(approvals, h.height + 1, validators),
    prevTime: state.headTime,
    ...credited,
    ...(stated ? { stated } : {}),
  };
  return { block, hash, state: next, anchors };
}
