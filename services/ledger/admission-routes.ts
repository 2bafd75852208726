// Validator admission over the API (chain/admission.ts has the rules). Every action is an admin's
// decision about this node and becomes a transaction signed by this node's key:
//   approve  this node, a validator, approves another node (by its public key, from that node's
//            GET /api/v1/node) joining with a power; valid for at most APPROVAL_TTL_HEIGHTS
//   join     this node asks to join; refused (409) until approvals of more than 2/3 of the power
//            are on chain — the chain would refuse the join anyway, so it is not even sent
//   leave    this node leaves the set (self-signed, as before)
// GET …/admission shows the open approvals, so an operator sees when a join can go ahead.
// Nonces and expiry come from the chain state, so N identical requests at once make one
// transaction (identical bytes), exactly as N sequential ones do before the next block.
import type { FastifyInstance } from 'fastify';
import * as Type from '../common/schema.js';
import { LucidError, type ErrorCode } from '../common/errors.js';
import { decodeTx, signTx, txId, type TxBody } from './codec/tx.js';
import {
  APPROVAL_TTL_HEIGHTS, MAX_OPEN_APPROVALS, approvedPower, lastNonce, membershipPrecheck, nextBlockView, type AdmissionFault,
} from './chain/admission.js';
import type { LedgerService } from './service.js';
import { nodeIdOfKey } from './node-id.js';

const Hex64 = Type.String({ pattern: '^[0-9a-f]{64}$' });

const FAULT_CODES: Record<AdmissionFault, ErrorCode> = {
  'not-a-validator': 'LEDGER_ERR_NOT_VALIDATOR',
  'joiner-is-validator': 'LEDGER_ERR_JOINER_IS_VALIDATOR',
  power: 'LEDGER_ERR_JOIN_POWER',
  nonce: 'LEDGER_ERR_TX_REFUSED',
  expiry: 'LEDGER_ERR_TX_REFUSED',
  'too-many-approvals': 'LEDGER_ERR_TOO_MANY_APPROVALS',
  'not-approved': 'LEDGER_ERR_JOIN_NOT_APPROVED',
  'last-validator': 'LEDGER_ERR_LAST_VALIDATOR',
};

/** Signs `body` with the node key after the chain's own check, and submits it. */
function submitChecked(ledger: LedgerService, body: TxBody, override: Partial<Record<AdmissionFault, ErrorCode>> = {}): string {
  const state = ledger.state();
  const tx = signTx(state.chainId, body, (m) => ledger.signWithNodeKey(m));
  // Leaves already waiting count as done: two validators of a two-validator chain leaving one
  // after the other must not both hear 202 when the chain can only take the first.
  const pendingLeavers = new Set(ledger.mempoolEntries().filter((e) => e.tx.type === 'leave').map((e) => (e.tx as { node: Buffer }).node.toString('hex')));
  const refusal = membershipPrecheck(state, decodeTx(tx), pendingLeavers);
  if (refusal) throw new LucidError(override[refusal.fault] ?? FAULT_CODES[refusal.fault], refusal.message, refusal.details);
  const r = ledger.submit(tx);
  if (r !== 'added' && r !== 'known') throw new LucidError('LEDGER_ERR_TX_REFUSED', `the mempool did not take the transaction (${r})`);
  return txId(tx);
}

const ApprovalRow = Type.Object({
  approver: Hex64, approverNodeId: Type.String(), approverPower: Type.Integer({ description: 'the approver\'s voting power now' }), validUntil: Type.Integer(),
});
const PendingRow = Type.Object({
  joiner: Hex64, joinerNodeId: Type.String(), power: Type.Integer(), approvedPower: Type.Integer(),
  enough: Type.Boolean({ description: 'more than 2/3 of the power approved: the joiner may join now' }), approvals: Type.Array(ApprovalRow),
});

export function registerAdmissionRoutes(app: FastifyInstance, ledger: LedgerService): void {
  app.get('/api/v1/ledger/admission', {
    config: { permission: 'node_operator' },
    schema: {
      tags: ['ledger'], summary: 'Open approvals of nodes joining the validator set',
      response: { 200: Type.Object({
        height: Type.Integer(), totalPower: Type.Integer(), maxJoinPower: Type.Integer(), ttlHeights: Type.Integer(), maxOpenApprovals: Type.Integer(),
        self: Type.Object({ publicKey: Hex64, validator: Type.Boolean() }), pending: Type.Array(PendingRow),
      }) },
    },
  }, async () => {
    const state = ledger.state();
    const view = nextBlockView(state);
    const self = ledger.status().node;
    const pending = [];
    for (const [joiner, byApprover] of Object.entries(state.approvals ?? {})) {
      const nonce = lastNonce(state.nonces, joiner);
      const current = Object.entries(byApprover).filter(([, a]) => a.joinerNonce === nonce);
      for (const power of [...new Set(current.map(([, a]) => a.power))].sort((a, b) => a - b)) {
        const { approved, total } = approvedPower(view, joiner, power);
        const approvals = current.filter(([, a]) => a.power === power).map(([approver, a]) => ({
          approver, approverNodeId: nodeIdOfKey(approver), approverPower: state.validators.find((v) => v.publicKey === approver)?.power ?? 0, validUntil: a.validUntil,
        }));
        pending.push({ joiner, joinerNodeId: nodeIdOfKey(joiner), power, approvedPower: approved, enough: 3 * approved > 2 * total, approvals });
      }
    }
    return {
      height: state.height, totalPower: state.validators.reduce((a, v) => a + v.power, 0), maxJoinPower: state.params.maxJoinPower,
      ttlHeights: APPROVAL_TTL_HEIGHTS, maxOpenApprovals: MAX_OPEN_APPROVALS, self: { publicKey: self.publicKey, validator: self.validator }, pending,
    };
  });

  app.post('/api/v1/ledger/validators/approve', {
    config: { permission: 'admin' },
    schema: {
      tags: ['ledger'], summary: 'This validator approves another node joining the set (a transaction signed by this node\'s key)',
      body: Type.Object({
        publicKey: Type.String({ pattern: '^[0-9a-fA-F]{64}$', description: 'the joining node\'s Ed25519 key (its GET /api/v1/node)' }),
        power: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 })),
        validForHeights: Type.Optional(Type.Integer({ minimum: 2, maximum: APPROVAL_TTL_HEIGHTS, description: `default ${APPROVAL_TTL_HEIGHTS}` })),
      }, { additionalProperties: false }),
      response: { 202: Type.Object({ txId: Hex64, validUntil: Type.Integer(), joinerNonce: Type.Integer() }) },
    },
  }, async (request, reply) => {
    const b = request.body as { publicKey: string; power?: number; validForHeights?: number };
    const state = ledger.state();
    const joiner = b.publicKey.toLowerCase();
    const joinerNonce = lastNonce(state.nonces, joiner);
    const validUntil = state.height + (b.validForHeights ?? APPROVAL_TTL_HEIGHTS);
    const id = submitChecked(ledger, {
      type: 'approve', node: Buffer.from(ledger.status().node.publicKey, 'hex'), joiner: Buffer.from(joiner, 'hex'), power: b.power ?? 1, joinerNonce, validUntil,
    });
    request.log.info({ approvedBy: request.principal?.username, joiner, power: b.power ?? 1, validUntil }, 'validator admission approved');
    reply.code(202);
    return { txId: id, validUntil, joinerNonce };
  });

  app.post('/api/v1/ledger/validators/join', {
    config: { permission: 'admin' },
    schema: {
      tags: ['ledger'], summary: 'Ask the chain to make this node a validator (needs approvals of more than 2/3 of the power on chain)',
      body: Type.Object({ power: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 })) }, { additionalProperties: false }),
      response: { 202: Type.Object({ txId: Hex64 }) },
    },
  }, async (request, reply) => {
    const self = ledger.status().node;
    if (self.validator) throw new LucidError('LEDGER_ERR_ALREADY_VALIDATOR');
    const nonce = lastNonce(ledger.state().nonces, self.publicKey) + 1;
    const id = submitChecked(ledger, { type: 'join', node: Buffer.from(self.publicKey, 'hex'), power: (request.body as { power?: number }).power ?? 1, nonce },
      { 'joiner-is-validator': 'LEDGER_ERR_ALREADY_VALIDATOR' });
    reply.code(202);
    return { txId: id };
  });

  app.post('/api/v1/ledger/validators/leave', {
    config: { permission: 'admin' },
    schema: {
      tags: ['ledger'], summary: 'Take this node out of the validator set (signed by the node key)',
      body: Type.Object({}, { additionalProperties: false }),
      response: { 202: Type.Object({ txId: Hex64 }) },
    },
  }, async (_request, reply) => {
    const self = ledger.status().node;
    if (!self.validator) throw new LucidError('LEDGER_ERR_NOT_VALIDATOR');
    const nonce = lastNonce(ledger.state().nonces, self.publicKey) + 1;
    const id = submitChecked(ledger, { type: 'leave', node: Buffer.from(self.publicKey, 'hex'), nonce });
    reply.code(202);
    return { txId: id };
  });
}
