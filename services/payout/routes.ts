// Core's payout API: a thin, schema-checked proxy to the payout process, plus what only core
// can check: who the caller is (role); that an approval signature was made by a wallet linked
// to the calling account; and, for a payout from 5,000 USDT and for a payout address, that the
// second person is an account independent of the first (services/auth's two-person rule,
// two-person.ts). Every state-changing call is audited. Nothing here grants authority by itself:
// the payout process verifies every signature again (README "Trust"). Without payouts enabled
// every route answers PAYOUT_ERR_DISABLED.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import * as T from '../common/schema.js';
import { LucidError } from '../common/errors.js';
import { ErrorSchema } from '../api/index.js';
import type { PayoutClient } from './client.js';
import type { Op, OpArgs } from './protocol.js';
import { tip191Signer } from './tron/tip191.js';
import { formatUsdt } from './messages.js';
import { PAYOUT_ADDRESS, PAYOUT_APPROVE, type PayoutTwoPerson } from './two-person.js';

export interface PayoutAuditEntry {
  readonly actor: { readonly id: string; readonly username: string; readonly role: string } | null;
  readonly action: string;
  readonly target?: string | null;
  readonly ip?: string | null;
  readonly outcome: 'success' | 'failure' | 'denied';
  readonly details?: Record<string, unknown> | null;
}

/** One epoch's credits from this node's chain, for a statement (null when the epoch is unknown). */
export type CreditSetSource = (epoch: number) => Promise<{
  chainId: string; epoch: number; pool: string; operators: Array<{ operator: string; credits: number; uptime: number; window: number }>;
  /** The proof of the epoch's statement transaction, once final on chain (services/statement/anchor-proof.ts). */
  anchor?: OpArgs<'statement.submit'>['anchor'];
} | null>;

export interface PayoutRoutesDeps {
  /** null: payouts are off here (every route answers PAYOUT_ERR_DISABLED). */
  readonly client: PayoutClient | null;
  readonly twoPerson: PayoutTwoPerson | null;
  readonly audit: (entry: PayoutAuditEntry) => Promise<unknown>;
  /** The TRON wallets linked to a user, and the user a wallet is linked to (services/auth). */
  readonly walletsOf: (userId: string) => Promise<readonly string[]>;
  readonly userOfWallet: (address: string) => Promise<string | null>;
  readonly credits: CreditSetSource;
  /** This appliance's own operator id (its node key): the earnings page's default. */
  readonly selfOperator: string;
}

const Hex64 = T.String({ pattern: '^[0-9a-f]{64}$' });
const Address = T.String({ pattern: '^T[1-9A-HJ-NP-Za-km-z]{33}$' });
const Signature = T.String({ pattern: '^(0x)?[0-9a-fA-F]{130}$' });
const Any = T.Object({}, { additionalProperties: true });
const errors = { '4xx': ErrorSchema, '5xx': ErrorSchema };
const strict = <P extends Record<string, import('../common/schema.js').TSchema>>(p: P) => T.Object(p, { additionalProperties: false });
const IdParams = strict({ id: T.String({ pattern: '^[0-9]{1,10}:[0-9a-f]{64}$' }) });
const Passphrase = strict({ passphrase: T.String({ minLength: 1, maxLength: 1024 }) });
const BODY_LIMIT = 64 * 1024;

export function payoutRoutes(deps: PayoutRoutesDeps): FastifyPluginAsync {
  const on = (): { client: PayoutClient; twoPerson: PayoutTwoPerson } => {
    if (!deps.client || !deps.twoPerson) throw new LucidError('PAYOUT_ERR_DISABLED');
    return { client: deps.client, twoPerson: deps.twoPerson };
  };
  const call = <O extends Op>(op: O, args: OpArgs<O>): Promise<Record<string, unknown>> => on().client.call(op, args) as Promise<Record<string, unknown>>;
  const who = (r: FastifyRequest) => {
    if (!r.principal) throw new LucidError('AUTH_ERR_UNAUTHENTICATED');
    return { id: r.principal.userId, username: r.principal.username, role: r.principal.role };
  };
  /** Runs a state-changing call and audits it (success or failure, never secrets). */
  async function audited<T>(r: FastifyRequest, action: string, target: string | null, details: Record<string, unknown>, run: () => Promise<T>): Promise<T> {
    try {
      const result = await run();
      await deps.audit({ actor: who(r), action, target, ip: r.ip, outcome: 'success', details });
      return result;
    } catch (err) {
      await deps.audit({ actor: who(r), action, target, ip: r.ip, outcome: 'failure', details: { ...details, code: (err as { code?: string }).code ?? 'error' } });
      throw err;
    }
  }
  /** Each signature must come from a wallet linked to the calling account. */
  async function ownSignatures(r: FastifyRequest, text: string, signatures: readonly string[]): Promise<void> {
    const mine = new Set(await deps.walletsOf(who(r).id));
    for (const s of signatures) {
      const signer = tip191Signer(text, s);
      if (!signer || !mine.has(signer)) {
        throw new LucidError('PAYOUT_ERR_APPROVAL_INVALID', signer ? `${signer} is not a wallet linked to your account` : 'the signature does not verify over the text', { signer });
      }
    }
  }

  return async (app) => {
    const tags = ['payouts'];
    const admin = { permission: 'admin' as const };
    const get = (url: string, summary: string, op: 'status' | 'statement.list' | 'payout.list') =>
      app.get(url, { config: admin, schema: { tags, summary, response: { 200: Any, ...errors } } }, async () => ({ [op === 'status' ? 'status' : 'items']: await call(op, {}) }));
    get('/api/v1/payouts/status', 'The payout process: wallet, balance, signer, limits, approvers, addresses', 'status');
    get('/api/v1/payouts/statements', 'Statements per epoch (computed and kept by the payout process)', 'statement.list');
    get('/api/v1/payouts', 'Every payout with its state, approvals, attempts and txids', 'payout.list');

    app.post('/api/v1/payouts/statements', {
      config: admin, bodyLimit: BODY_LIMIT,
      schema: { tags, summary: 'State an epoch: its credits from this node\'s chain go to the payout process, which computes the statement', body: strict({ epoch: T.Integer({ minimum: 0, maximum: 2 ** 31 }) }), response: { 200: Any, ...errors } },
    }, async (r) => {
      const { epoch } = r.body as { epoch: number };
      const set = await deps.credits(epoch);
      if (!set) throw new LucidError('PAYOUT_ERR_STATEMENT', `no credits for epoch ${epoch} (not closed yet, or the chain has no payout pool)`);
      return audited(r, 'payout.statement', String(epoch), { epoch }, () => call('statement.submit', set));
    });

    app.post('/api/v1/payouts/requests', {
      config: admin, bodyLimit: BODY_LIMIT,
      schema: { tags, summary: 'Request the payout of a stated line (after its operator\'s address was registered)', body: strict({ epoch: T.Integer({ minimum: 0, maximum: 2 ** 31 }), operator: Hex64 }), response: { 200: Any, ...errors } },
    }, async (r) => {
      const b = r.body as { epoch: number; operator: string };
      return audited(r, 'payout.request', `${b.epoch}:${b.operator}`, b, () => call('payout.request', b));
    });

    app.get('/api/v1/payouts/:id/approval', {
      config: admin, schema: { tags, summary: 'What an approver signs, and the transaction it leads to, decoded', params: IdParams, response: { 200: Any, ...errors } },
    }, async (r) => {
      const { id } = r.params as { id: string };
      const { text } = await call('payout.approvalText', { id });
      let preview: unknown = null;
      let previewError: string | null = null;
      try {
        preview = await call('payout.preview', { id });
      } catch (err) {
        previewError = (err as { code?: string }).code ?? 'error';
      }
      return { id, text, preview, previewError };
    });

    app.get('/api/v1/payouts/approvals', {
      config: admin, schema: { tags, summary: 'Payouts and address changes waiting for a second, independent admin', response: { 200: Any, ...errors } },
    }, async () => ({ items: on().twoPerson.list() }));

    app.post('/api/v1/payouts/:id/approve', {
      config: admin, bodyLimit: BODY_LIMIT,
      schema: {
        tags, summary: 'Approve with your wallet\'s TIP-191 signature of the approval text; from 5,000 USDT the first approval files a two-person request (202) that a second, independent admin completes the same way',
        params: IdParams, body: strict({ signature: Signature }), response: { 200: Any, 202: Any, ...errors },
      },
    }, async (r, reply) => {
      const { id } = r.params as { id: string };
      const { signature } = r.body as { signature: string };
      const { twoPerson } = on();
      const { text } = await call('payout.approvalText', { id });
      return audited(r, 'payout.approve', id, {}, async () => {
        await ownSignatures(r, String(text), [signature]);
        const list = (await call('payout.list', {})) as unknown as Array<{ id: string; amount: string; recipient: string; epoch: number; operator: string; approvalsNeeded: number; approvals: Array<{ approver: string }> }>;
        const p = list.find((x) => x.id === id);
        if (!p) throw new LucidError('PAYOUT_ERR_NOT_FOUND', `no payout ${id}`);
        if (p.approvalsNeeded < 2) return call('payout.approve', { id, signatures: [signature] });
        const pending = twoPerson.pending(PAYOUT_APPROVE, (q) => q['payoutId'] === id);
        if (pending) return twoPerson.second(pending, who(r), signature, r.ip);
        if (p.approvals.length > 0) {
          // The first approval is on record but its request lapsed: only its own admin reopens it.
          if (await deps.userOfWallet(p.approvals[0]!.approver) !== who(r).id) {
            throw new LucidError('PAYOUT_ERR_STATE', 'the first approval\'s request expired: its admin must approve again to reopen it', { state: 'requested' });
          }
        } else {
          await call('payout.approve', { id, signatures: [signature] }).catch((err: unknown) => {
            if ((err as { code?: string }).code !== 'PAYOUT_ERR_SECOND_APPROVAL') throw err;
          });
        }
        const approval = await twoPerson.request(PAYOUT_APPROVE, { payoutId: id, epoch: p.epoch, operator: p.operator, recipient: p.recipient, amount: p.amount },
          who(r), `payout of ${formatUsdt(BigInt(p.amount))} USDT to ${p.recipient}`, r.ip);
        return reply.code(202).send({ approval });
      });
    });

    app.post('/api/v1/payouts/:id/retry', {
      config: admin, schema: { tags, summary: 'Request a failed payout again (a new round, approved again; only when no attempt can still pay)', params: IdParams, response: { 200: Any, ...errors } },
    }, async (r) => {
      const { id } = r.params as { id: string };
      return audited(r, 'payout.retry', id, {}, () => call('payout.retry', { id }));
    });

    app.post('/api/v1/payouts/keystore', {
      config: { permission: 'super_admin' }, bodyLimit: BODY_LIMIT,
      schema: { tags, summary: 'Create the payout keystore (a fresh key sealed under this passphrase)', body: Passphrase, response: { 200: Any, ...errors } },
    }, async (r) => audited(r, 'payout.keystore.create', null, {}, () => call('keystore.create', r.body as { passphrase: string })));

    app.post('/api/v1/payouts/keystore/unlock', {
      config: admin, bodyLimit: BODY_LIMIT,
      schema: { tags, summary: 'Unlock the keystore for one session', body: Passphrase, response: { 200: Any, ...errors } },
    }, async (r) => audited(r, 'payout.keystore.unlock', null, {}, () => call('keystore.unlock', r.body as { passphrase: string })));

    app.post('/api/v1/payouts/keystore/lock', {
      config: admin, schema: { tags, summary: 'Lock the keystore now', response: { 200: Any, ...errors } },
    }, async (r) => audited(r, 'payout.keystore.lock', null, {}, () => call('keystore.lock', {})));

    app.post('/api/v1/payouts/ledger', {
      config: admin, schema: { tags, summary: 'Use the Ledger\'s address as the payout wallet (confirm it on the device)', response: { 200: Any, ...errors } },
    }, async (r) => audited(r, 'payout.ledger.setup', null, {}, () => call('ledger.setup', {})));

    const Enroll = { approver: Address, name: T.String({ minLength: 1, maxLength: 64, pattern: '^[^\\n]*$' }) };
    app.post('/api/v1/payouts/approvers/text', {
      config: admin, bodyLimit: BODY_LIMIT, schema: { tags, summary: 'The enrollment text the new approver and the enrolled ones sign', body: strict(Enroll), response: { 200: Any, ...errors } },
    }, async (r) => call('approver.text', r.body as OpArgs<'approver.text'>));
    app.post('/api/v1/payouts/approvers', {
      config: admin, bodyLimit: BODY_LIMIT,
      schema: { tags, summary: 'Enroll an approver (its own signature, plus min(2, enrolled) approvers\')', body: strict({ ...Enroll, version: T.Integer({ minimum: 1 }), signatures: T.Array(Signature, { minItems: 1, maxItems: 4 }) }), response: { 200: Any, ...errors } },
    }, async (r) => {
      const b = r.body as OpArgs<'approver.enroll'>;
      return audited(r, 'payout.approver.enroll', b.approver, { name: b.name }, () => call('approver.enroll', b));
    });

    const Change = { operator: Hex64, to: Address };
    app.post('/api/v1/payouts/addresses/text', {
      config: admin, bodyLimit: BODY_LIMIT, schema: { tags, summary: 'The text two approvers sign to set an operator\'s payout address', body: strict(Change), response: { 200: Any, ...errors } },
    }, async (r) => call('address.text', r.body as OpArgs<'address.text'>));
    app.post('/api/v1/payouts/addresses', {
      config: admin, bodyLimit: BODY_LIMIT,
      schema: {
        tags, summary: 'Set or change an operator\'s payout address: the first admin\'s signature files a two-person request (202), a second, independent admin\'s completes it',
        body: strict({ ...Change, version: T.Integer({ minimum: 1 }), signature: Signature }), response: { 200: Any, 202: Any, ...errors },
      },
    }, async (r, reply) => {
      const b = r.body as { operator: string; to: string; version: number; signature: string };
      const { twoPerson } = on();
      return audited(r, 'payout.address.change', b.operator, { to: b.to, version: b.version }, async () => {
        const { text, version } = await call('address.text', { operator: b.operator, to: b.to });
        if (version !== b.version) throw new LucidError('PAYOUT_ERR_ADDRESS_CHANGE', `the address entry is at version ${Number(version) - 1}; this change was signed for another`, { version: Number(version) - 1 });
        await ownSignatures(r, String(text), [b.signature]);
        const pending = twoPerson.pending(PAYOUT_ADDRESS, (q) => q['operator'] === b.operator && q['to'] === b.to && q['version'] === b.version);
        if (pending) return twoPerson.second(pending, who(r), b.signature, r.ip);
        const approval = await twoPerson.request(PAYOUT_ADDRESS, { operator: b.operator, to: b.to, version: b.version }, who(r), `payout address of ${b.operator.slice(0, 12)}… → ${b.to}`, r.ip, { signature: b.signature });
        return reply.code(202).send({ approval });
      });
    });

    app.get('/api/v1/payouts/earnings', {
      config: { permission: 'node_operator' },
      schema: { tags, summary: 'An operator\'s statement lines and payouts (default: this appliance\'s node)', querystring: strict({ operator: T.Optional(Hex64) }), response: { 200: Any, ...errors } },
    }, async (r) => call('earnings', { operator: (r.query as { operator?: string }).operator ?? deps.selfOperator }));
  };
}
