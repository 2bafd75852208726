// Block validity and the state transition, in one pure function: checkAndApply(state, bytes)
// either throws InvalidBlock (with the reason) or returns the next state and what the block
// anchored. valid(v) in the consensus machine is exactly "checkAndApply does not throw", so
// every honest node accepts the same blocks.
import { createHash } from 'node:crypto';
import { blockHash, commitHash, decodeBlock, validatorsHash, type Block, type Commit } from '../codec/block.js';
import { decodeTx, txId, txSignBytes, type Tx } from '../codec/tx.js';
import { voteSignBytes } from '../codec/vote.js';
import { merkleRoot, verifyInclusion } from '../../common/merkle.js';
import type { Verifier } from '../crypto.js';
import { proposerFor, proposerOrder } from './ranking.js';
import { AdmissionRefused, applyApprove, applyJoin, lastNonce, pruneApprovals, type AdmissionView, type Approvals } from './admission.js';
import {
  emptyCounts, epochOf, powerOf, totalPower, windowEpochs,
  type ChainState, type EpochState, type ValidatorEntry, type WorkCounts,
} from './state.js';

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
}

/**
 * Anchors committed recently, by manifest hash (storage challenges, dedupe). It must hold at
 * least every anchor of the scoring window; older entries may linger, as checkAndApply only
 * counts those whose block time falls inside the window of the block being checked.
 */
export interface RecentAnchors {
  get(manifestHash: string): { readonly merkleRoot: string; readonly time: number } | undefined;
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

const CHALLENGE_DOMAIN = Buffer.from('lucid/challenge/v1', 'ascii');

/** Leaf a node must answer for `manifestHash` at the height after `prevHash` (storage work proof). */
export function challengeIndex(prevHash: string, manifestHash: Buffer, node: Buffer, treeSize: number): number {
  const d = createHash('sha256').update(CHALLENGE_DOMAIN).update(Buffer.from(prevHash, 'hex')).update(manifestHash).update(node).digest();
  return Number(d.readBigUInt64BE(0) % BigInt(treeSize));
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

  const epoch = epochOf(state.params, h.time);
  const firstEpoch = epoch - windowEpochs(state.params) + 1;
  const epochs: Record<string, EpochState> = {};
  for (const [k, v] of Object.entries(state.epochs)) {
    if (Number(k) >= firstEpoch) epochs[k] = { blocks: v.blocks, nodes: Object.fromEntries(Object.entries(v.nodes).map(([n, c]) => [n, { ...c }])) };
  }
  const counts = (e: number, node: string): WorkCounts => {
    const ep = (epochs[String(e)] ??= { blocks: 0, nodes: {} });
    return (ep.nodes[node] ??= emptyCounts());
  };
  (epochs[String(epoch)] ??= { blocks: 0, nodes: {} }).blocks += 1;
  for (const s of block.lastCommit?.signatures ?? []) counts(epoch, s.validator.toString('hex')).validation += 1;

  let validators = [...state.validators];
  const nonces = { ...state.nonces };
  let approvals: Approvals = state.approvals ?? {};
  const admission = (): AdmissionView => ({ params: state.params, height: h.height, voters: state.validators, validators, nonces, approvals });
  const relayClaims = state.relayClaims.filter((c) => Number(c.split(':')[0]) >= firstEpoch);
  const claimSet = new Set(relayClaims);
  const seenTx = new Set<string>();
  const seenAnchor = new Set<string>();
  const storageBy = new Set<string>();
  const inWindow = <A extends { time: number }>(a: A | undefined): A | undefined => (a && epochOf(state.params, a.time) >= firstEpoch ? a : undefined);
  const anchors: AnchorRecord[] = [];

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
        if (seenAnchor.has(m) || inWindow(ctx.recentAnchors.get(m))) failTx(index, `anchors a manifest already anchored`);
        seenAnchor.add(m);
        counts(epoch, node).anchors += 1;
        anchors.push({ manifestHash: m, merkleRoot: tx.merkleRoot.toString('hex'), sessionId: tx.sessionId, node, height: h.height, txIndex: index, time: h.time });
        break;
      }
      case 'work':
        if (tx.kind === 'relay') {
          if (tx.epoch !== epoch && tx.epoch !== epoch - 1) failTx(index, `relay proof for epoch ${tx.epoch} outside ${epoch - 1}..${epoch}`);
          const claim = `${tx.epoch}:${node}`;
          if (claimSet.has(claim)) failTx(index, `relay proof for epoch ${tx.epoch} already counted`);
          claimSet.add(claim);
          relayClaims.push(claim);
          const c = counts(tx.epoch, node);
          c.relaySessions += tx.sessions;
          c.relayBytes += tx.bytes;
        } else {
          if (tx.challengeHeight !== state.height || state.height === 0) failTx(index, `storage proof must answer the challenge of height ${state.height}`);
          if (storageBy.has(node)) failTx(index, `one storage proof per node and block`);
          storageBy.add(node);
          const anchor = inWindow(ctx.recentAnchors.get(tx.manifestHash.toString('hex')));
          if (!anchor) failTx(index, `storage proof for a manifest not anchored in the window`);
          if (tx.treeSize < 1 || tx.leafIndex !== challengeIndex(state.headHash, tx.manifestHash, tx.node, tx.treeSize)) failTx(index, `storage proof answers the wrong leaf`);
          if (!verifyInclusion(tx.leafHash, tx.leafIndex, tx.treeSize, tx.path, Buffer.from(anchor!.merkleRoot, 'hex'))) failTx(index, `storage proof path does not reach the anchored root`);
          counts(epoch, node).storage += 1;
        }
        break;
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
  const recentProposers = [...state.recentProposers, h.proposer.toString('hex')].slice(-Math.max(1, state.params.maxCooldown));
  const next: ChainState = {
    ...state,
    height: h.height,
    headHash: hash.toString('hex'),
    headTime: h.time,
    validators,
    lastValidators: state.validators,
    recentProposers,
    epochs,
    nonces,
    approvals: pruneApprovals(approvals, h.height + 1, validators),
    relayClaims,
  };
  return { block, hash, state: next, anchors };
}
