// The ledger's API. Anchors are public (anyone may check a session against the chain); the chain
// status is public; lists of blocks, validators, credits, the mempool and evidence are for node
// operators; joining, leaving and approving a joiner are an admin's decisions about this node
// (admission-routes.ts).
// Anchors are never POSTed: they come from completed sessions only.
import type { FastifyPluginAsync } from 'fastify';
import * as Type from '../common/schema.js';
import { LucidError } from '../common/errors.js';
import { anchorProof } from './anchors/proof.js';
import { proposerRanking } from './chain/ranking.js';
import { scoreOf, windowEpochs } from './chain/state.js';
import type { LedgerService } from './service.js';
import { nodeIdOfKey } from './node-id.js';
import { registerAdmissionRoutes } from './admission-routes.js';

const Hex64 = Type.String({ pattern: '^[0-9a-f]{64}$' });

export const AnchorProofSchema = Type.Object({
  height: Type.Integer(),
  txIndex: Type.Integer(),
  txCount: Type.Integer(),
  tx: Type.String({ description: 'base64 of the anchor transaction bytes; leaf = SHA-256(0x00 ‖ tx)' }),
  path: Type.Array(Hex64, { description: 'RFC 6962 audit path, leaf to root, hex' }),
  header: Type.Object({
    chainId: Type.String(), height: Type.Integer(), round: Type.Integer(), time: Type.Integer(),
    prevHash: Hex64, proposer: Hex64, txRoot: Hex64, txCount: Type.Integer(), lastCommitHash: Hex64, validatorsHash: Hex64,
    hash: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of `bytes`' }),
    bytes: Type.String({ pattern: '^[0-9a-f]+$', description: 'the canonical header encoding (README "Blocks")' }),
  }),
  commit: Type.Object({
    height: Type.Integer(), round: Type.Integer(), blockHash: Hex64,
    signatures: Type.Array(Type.Object({ validator: Hex64, signature: Type.String({ pattern: '^[0-9a-f]{128}$' }) })),
  }),
});

const StatusSchema = Type.Object({
  chainId: Type.String(), genesisHash: Hex64, height: Type.Integer(), headHash: Hex64, headTime: Type.Integer(),
  consensus: Type.Object({
    height: Type.Integer(), round: Type.Integer(), step: Type.String({ description: 'propose | prevote | precommit | waiting (idle, or the previous block is being made durable)' }), lockedRound: Type.Integer(),
    startedBy: Type.Union([Type.String({ description: 'why this height started: work | heartbeat | joined | resumed | every-slot' }), Type.Null()]),
    heartbeatDueAt: Type.Integer({ description: 'ms since the epoch: when an idle chain makes its next (empty) block' }),
  }),
  node: Type.Object({ publicKey: Hex64, nodeId: Type.String(), validator: Type.Boolean(), nextProposer: Type.Boolean(), role: Type.String({ description: 'proposer | validator | follower' }) }),
  slotMs: Type.Integer(), emptyBlockIntervalMs: Type.Integer(), validators: Type.Integer(), totalPower: Type.Integer(),
  mempool: Type.Object({ transactions: Type.Integer(), bytes: Type.Integer() }),
  peers: Type.Array(Type.Object({ key: Hex64, address: Type.String(), direction: Type.String(), height: Type.Integer() })),
  multiNode: Type.Boolean(),
});

const BlockRow = Type.Object({
  height: Type.Integer(), round: Type.Integer(), hash: Hex64, time: Type.Integer(), proposer: Hex64, proposerNodeId: Type.String(),
  txCount: Type.Integer(), anchors: Type.Integer(), bytes: Type.Integer(), signatures: Type.Integer(),
  validatorsHash: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'hash of the validator set that voted on this block (header field)' }),
  finalityMs: Type.Union([Type.Number(), Type.Null()]), via: Type.Union([Type.String(), Type.Null()]),
});

const ValidatorRow = Type.Object({
  publicKey: Hex64, nodeId: Type.String(), power: Type.Integer(), rank: Type.Integer(), inCooldown: Type.Boolean(), self: Type.Boolean(),
  credits: Type.Integer(), signed: Type.Integer(), blocks: Type.Integer(),
  uptimeMs: Type.Integer({ description: 'time of the window vouched for by the validator\'s commit signatures' }),
  score: Type.Number({ description: 'credits × uptime share over the window (uptimeMs / time the commits covered)' }),
});

const CreditsRow = Type.Object({
  node: Hex64, nodeId: Type.String(),
  relay: Type.Integer({ description: 'min(relayCap, max(relaySessions, ceil(relayBytes / 5 MB)))' }),
  storage: Type.Integer({ description: 'min(storageCap, audits passed)' }),
  validation: Type.Integer({ description: 'min(validationCap, commit signatures)' }),
  total: Type.Integer(),
  anchors: Type.Integer({ description: 'anchors put on chain (informational)' }),
  relaySessions: Type.Integer({ description: 'anchored sessions whose intake challenge passed' }),
  relayBytes: Type.Integer({ description: 'their plaintext bytes, from the anchors (the manifests\' totalBytes)' }),
  audits: Type.Integer({ description: 'audit challenges issued to the node' }),
  uptimeMs: Type.Integer({ description: 'time of the epoch vouched for by the node\'s commit signatures' }),
});

export function ledgerRoutes(ledger: LedgerService): FastifyPluginAsync {
  return async (app) => {
    app.get('/api/v1/anchors/:manifestHash', {
      config: { permission: 'public' },
      schema: {
        tags: ['ledger'], summary: 'Proof that a manifest is anchored in a final block (404 until final)',
        params: Type.Object({ manifestHash: Type.String({ pattern: '^[0-9a-fA-F]{64}$' }) }, { additionalProperties: false }),
        response: { 200: AnchorProofSchema },
      },
    }, async (request) => {
      const hash = (request.params as { manifestHash: string }).manifestHash.toLowerCase();
      const proof = await ledger.anchorProof(hash);
      if (!proof) throw new LucidError('LEDGER_ERR_ANCHOR_NOT_FOUND', `manifest ${hash} is not anchored in a final block (yet)`, { manifestHash: hash });
      return proof;
    });

    app.get('/api/v1/ledger/status', {
      config: { permission: 'public' },
      schema: { tags: ['ledger'], summary: 'Chain height, consensus step and this node\'s role', response: { 200: StatusSchema } },
    }, async () => {
      const s = ledger.status();
      return { ...s, node: { ...s.node, nodeId: nodeIdOfKey(s.node.publicKey) } };
    });

    app.get('/api/v1/ledger/genesis', {
      config: { permission: 'public' },
      schema: { tags: ['ledger'], summary: 'The genesis document of this chain' },
    }, async () => ledger.genesis());

    app.get('/api/v1/ledger/blocks', {
      config: { permission: 'node_operator' },
      schema: {
        tags: ['ledger'], summary: 'Recent final blocks, newest first',
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 20 })), before: Type.Optional(Type.Integer({ minimum: 1 })) }, { additionalProperties: false }),
        response: { 200: Type.Object({ height: Type.Integer(), blocks: Type.Array(BlockRow) }) },
      },
    }, async (request) => {
      const { limit = 20, before } = request.query as { limit?: number; before?: number };
      const head = ledger.state().height;
      const top = Math.min(head, before !== undefined ? before - 1 : head);
      const stats = new Map(ledger.recentBlocks(500).map((b) => [b.height, b]));
      const blocks = [];
      for (let h = top; h >= 1 && blocks.length < limit; h--) {
        const b = await ledger.chain.block(h);
        if (!b) break;
        const commit = await ledger.chain.commit(h);
        const stat = stats.get(h);
        const proposer = b.header.proposer.toString('hex');
        blocks.push({
          height: h, round: b.header.round, hash: stat?.hash ?? (commit?.blockHash.toString('hex') ?? ''), time: b.header.time, proposer, proposerNodeId: nodeIdOfKey(proposer),
          txCount: b.txs.length, anchors: b.txs.filter((t) => t[1] === 1).length, bytes: b.txs.reduce((a, t) => a + t.length + 4, 0),
          signatures: commit?.signatures.length ?? 0, validatorsHash: b.header.validatorsHash.toString('hex'), finalityMs: stat?.finalityMs ?? null, via: stat?.via ?? null,
        });
      }
      return { height: head, blocks };
    });

    app.get('/api/v1/ledger/validators', {
      config: { permission: 'node_operator' },
      schema: { tags: ['ledger'], summary: 'Validators with power, PoOT score and credits, in proposer order', response: { 200: Type.Object({ cooldown: Type.Integer(), validators: Type.Array(ValidatorRow) }) } },
    }, async () => {
      const state = ledger.state();
      const self = ledger.status().node.publicKey;
      const ranking = proposerRanking(state);
      return {
        cooldown: Math.max(0, Math.min(state.params.maxCooldown, state.validators.length - 1)),
        validators: ranking.map((r, i) => {
          const s = scoreOf(state, r.publicKey);
          return {
            publicKey: r.publicKey, nodeId: nodeIdOfKey(r.publicKey), power: r.power, rank: i + 1, inCooldown: r.inCooldown, self: r.publicKey === self,
            credits: s.credits, signed: s.signed, blocks: s.blocks, uptimeMs: s.uptimeMs, score: s.chainMs > 0 ? (s.credits * s.uptimeMs) / s.chainMs : 0,
          };
        }),
      };
    });

    app.get('/api/v1/ledger/credits', {
      config: { permission: 'node_operator' },
      schema: {
        tags: ['ledger'], summary: 'Work credits per node for one epoch (payouts read these)',
        querystring: Type.Object({ epoch: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            epoch: Type.Integer(), epochMs: Type.Integer(), windowEpochs: Type.Integer(), blocks: Type.Integer(),
            chainMs: Type.Integer({ description: 'time of the epoch covered by commits' }),
            closedBy: Type.Union([Type.Integer(), Type.Null()], { description: 'height of the first block of a later epoch; from it on the record is final' }),
            caps: Type.Object({ relay: Type.Integer(), storage: Type.Integer(), validation: Type.Integer() }),
            openChallenges: Type.Integer(),
            nodes: Type.Array(CreditsRow),
          }),
        },
      },
    }, async (request) => {
      const state = ledger.state();
      const c = await ledger.creditsForEpoch((request.query as { epoch?: number }).epoch);
      return {
        epoch: c.epoch, epochMs: state.params.epochMs, windowEpochs: windowEpochs(state.params), blocks: c.blocks, chainMs: c.chainMs, closedBy: c.closedBy,
        caps: { relay: state.params.relayCap, storage: state.params.storageCap, validation: state.params.validationCap },
        openChallenges: state.challenges.length,
        nodes: c.nodes.map((n) => ({ ...n, nodeId: nodeIdOfKey(n.node) })),
      };
    });

    app.get('/api/v1/ledger/mempool', {
      config: { permission: 'node_operator' },
      schema: {
        tags: ['ledger'], summary: 'Transactions waiting for a block (first 200)',
        response: { 200: Type.Object({ transactions: Type.Integer(), bytes: Type.Integer(), entries: Type.Array(Type.Object({ id: Hex64, type: Type.String(), node: Hex64, local: Type.Boolean(), addedAt: Type.Integer(), manifestHash: Type.Union([Hex64, Type.Null()]) })) }) },
      },
    }, async () => {
      const entries = ledger.mempoolEntries();
      return {
        transactions: entries.length,
        bytes: entries.reduce((a, e) => a + e.bytes.length, 0),
        entries: entries.slice(0, 200).map((e) => ({
          id: e.id, type: e.tx.type === 'work' ? `work/${e.tx.kind}` : e.tx.type, node: e.tx.node.toString('hex'), local: e.local, addedAt: e.addedAt,
          manifestHash: e.tx.type === 'anchor' ? e.tx.manifestHash.toString('hex') : null,
        })),
      };
    });

    app.get('/api/v1/ledger/evidence', {
      config: { permission: 'node_operator' },
      schema: {
        tags: ['ledger'], summary: 'Validators seen signing two different messages for one step',
        response: { 200: Type.Object({ evidence: Type.Array(Type.Object({ validator: Hex64, height: Type.Integer(), round: Type.Integer(), kind: Type.String(), first: Type.String(), second: Type.String() })) }) },
      },
    }, async () => ({ evidence: await ledger.evidence() }));

    registerAdmissionRoutes(app, ledger);
  };
}

