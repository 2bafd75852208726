// The core ⇄ payout protocol, version 1: newline-delimited JSON over a Unix socket that only
// core may connect to. Every request is an envelope { v, id, at, op, args }; every answer
// { v, re, ok, result | error }. The payout process checks the version, the schema of the
// envelope and of the op's arguments, and replay (ids seen within the window, timestamps more
// than 5 min off or older than the process) before it looks at anything else.
//
// What this protocol deliberately does NOT rely on: the identity of the sender. Anyone able to
// write to the socket is "core", and core may be compromised. So no op grants authority by
// itself — authority comes from what the payout process verifies on its own: TIP-191
// signatures of enrolled approvers over texts naming the exact object (messages.ts), the
// keystore passphrase, and (once the chain's credits are provable) the chain's commit
// signatures. A per-boot shared secret would add nothing against a compromised core, which
// would hold it (README "Trust").
import * as T from '../common/schema.js';
import type { Static, TSchema } from '../common/schema.js';
import { Errors } from 'typebox/schema';
import { LucidError } from '../common/errors.js';

export const PROTOCOL_VERSION = 1;
export const MAX_MESSAGE_BYTES = 256 * 1024;
export const CLOCK_WINDOW_MS = 5 * 60 * 1000;

const Hex64 = T.String({ pattern: '^[0-9a-f]{64}$' });
const Address = T.String({ pattern: '^T[1-9A-HJ-NP-Za-km-z]{33}$' });
const Signature = T.String({ pattern: '^(0x)?[0-9a-fA-F]{130}$' });
const Micro = T.String({ pattern: '^(0|[1-9][0-9]{0,20})$' });
const PayoutId = T.String({ pattern: '^[0-9]{1,10}:[0-9a-f]{64}$' });
const Epoch = T.Integer({ minimum: 0, maximum: 2 ** 31 });
const Passphrase = T.String({ minLength: 1, maxLength: 1024 });
const Empty = T.Object({}, { additionalProperties: false });
const strict = <P extends Record<string, TSchema>>(p: P) => T.Object(p, { additionalProperties: false });
const Hex = (n: number) => T.String({ pattern: `^[0-9a-f]{${n}}$` });
const Height = T.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
const AnchorProof = strict({
  height: Height,
  txIndex: T.Integer({ minimum: 0 }),
  txCount: T.Integer({ minimum: 1 }),
  tx: T.String({ maxLength: 512, pattern: '^[A-Za-z0-9+/=]*$' }),
  path: T.Array(Hex(64), { maxItems: 64 }),
  header: T.Object({ hash: Hex(64), bytes: T.String({ maxLength: 1024, pattern: '^[0-9a-f]*$' }) }),
  commit: T.Object({
    height: Height, round: T.Integer({ minimum: 0 }), blockHash: Hex(64),
    signatures: T.Array(strict({ validator: Hex(64), signature: Hex(128) }), { maxItems: 1000 }),
  }),
  validators: T.Array(strict({ publicKey: Hex(64), power: T.Integer({ minimum: 1 }) }), { minItems: 1, maxItems: 1000 }),
});

/** Arguments of every op. */
export const OPS = {
  'status': Empty,
  'statement.submit': strict({
    chainId: T.String({ minLength: 1, maxLength: 64 }),
    epoch: Epoch,
    pool: Micro,
    operators: T.Array(strict({ operator: Hex64, credits: T.Integer({ minimum: 0 }), uptime: T.Integer({ minimum: 0 }), window: T.Integer({ minimum: 0 }) }), { maxItems: 10_000 }),
    proof: T.Optional(T.Unknown()),
    /** Where the chain made this statement final (services/statement/anchor-proof.ts); without it nothing is paid. */
    anchor: T.Optional(AnchorProof),
  }),
  'statement.list': Empty,
  'payout.list': Empty,
  'payout.request': strict({ epoch: Epoch, operator: Hex64 }),
  'payout.approvalText': strict({ id: PayoutId }),
  'payout.preview': strict({ id: PayoutId }),
  'payout.approve': strict({ id: PayoutId, signatures: T.Array(Signature, { minItems: 1, maxItems: 4 }) }),
  'payout.retry': strict({ id: PayoutId }),
  'keystore.create': strict({ passphrase: Passphrase }),
  'keystore.unlock': strict({ passphrase: Passphrase, ttlMs: T.Optional(T.Integer({ minimum: 1000, maximum: 24 * 3600 * 1000 })) }),
  'keystore.lock': Empty,
  'ledger.setup': Empty,
  'approver.text': strict({ approver: Address, name: T.String({ minLength: 1, maxLength: 64, pattern: '^[^\\n]*$' }) }),
  'approver.enroll': strict({ approver: Address, name: T.String({ minLength: 1, maxLength: 64, pattern: '^[^\\n]*$' }), version: T.Integer({ minimum: 1 }), signatures: T.Array(Signature, { minItems: 1, maxItems: 4 }) }),
  'address.text': strict({ operator: Hex64, to: Address }),
  'address.change': strict({ operator: Hex64, to: Address, version: T.Integer({ minimum: 1 }), signatures: T.Array(Signature, { minItems: 1, maxItems: 4 }) }),
  'earnings': strict({ operator: Hex64 }),
} as const;

export type Op = keyof typeof OPS;
export type OpArgs<O extends Op> = Static<(typeof OPS)[O]>;

export const Envelope = strict({
  v: T.Integer(),
  id: T.String({ pattern: '^[0-9a-f-]{36}$' }),
  at: T.Integer({ minimum: 0 }),
  op: T.String({ minLength: 1, maxLength: 64 }),
  args: T.Unknown(),
});
export type Envelope = Static<typeof Envelope>;

export type Reply =
  | { readonly v: number; readonly re: string; readonly ok: true; readonly result: unknown }
  | { readonly v: number; readonly re: string; readonly ok: false; readonly error: { code: string; message: string; details?: Record<string, unknown> } };

function schemaError(what: string, schema: TSchema, value: unknown): LucidError | null {
  const [valid, errors] = Errors(schema, value);
  if (valid) return null;
  return new LucidError('PAYOUT_ERR_IPC_SCHEMA', `${what} does not match the protocol`, {
    errors: errors.slice(0, 5).map((e) => ({ path: (e as { instancePath?: string }).instancePath ?? '', message: (e as { message?: string }).message ?? '' })),
  });
}

/** Checks version, envelope and arguments. Answers the typed request or throws a coded error. */
export function parseRequest(raw: unknown): { envelope: Envelope; op: Op; args: unknown } {
  const v = (raw as { v?: unknown } | null)?.v;
  if (typeof raw === 'object' && raw !== null && v !== PROTOCOL_VERSION && typeof v === 'number') {
    throw new LucidError('PAYOUT_ERR_IPC_VERSION', `protocol version ${v} is not ${PROTOCOL_VERSION}`);
  }
  const envErr = schemaError('the envelope', Envelope, raw);
  if (envErr) throw envErr;
  const envelope = raw as Envelope;
  if (envelope.v !== PROTOCOL_VERSION) throw new LucidError('PAYOUT_ERR_IPC_VERSION', `protocol version ${envelope.v} is not ${PROTOCOL_VERSION}`);
  if (!Object.hasOwn(OPS, envelope.op)) throw new LucidError('PAYOUT_ERR_IPC_SCHEMA', `unknown op ${envelope.op}`);
  const op = envelope.op as Op;
  const argErr = schemaError(`${op}'s arguments`, OPS[op], envelope.args);
  if (argErr) throw argErr;
  return { envelope, op, args: envelope.args };
}

/**
 * Replay protection of the envelope: an id is accepted once; a timestamp must be within the
 * clock window and not older than the process (ids of a previous run are not remembered, so
 * nothing from before the start is accepted). Ids are forgotten once outside the window.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();

  constructor(private readonly startedAt: number, private readonly now: () => number = Date.now) {}

  check(e: Envelope): void {
    const now = this.now();
    if (Math.abs(now - e.at) > CLOCK_WINDOW_MS || e.at < this.startedAt - 1000) {
      throw new LucidError('PAYOUT_ERR_IPC_REPLAY', 'message timestamp outside the accepted window', { at: e.at, now });
    }
    if (this.seen.has(e.id)) throw new LucidError('PAYOUT_ERR_IPC_REPLAY', `message ${e.id} was received before`);
    this.seen.set(e.id, e.at);
    if (this.seen.size > 1000) for (const [id, at] of this.seen) if (now - at > CLOCK_WINDOW_MS) this.seen.delete(id);
  }
}
