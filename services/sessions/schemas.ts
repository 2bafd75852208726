// Request and response schemas of /api/v1/sessions (TypeBox, so OpenAPI shows them).
import * as Type from '../common/schema.js';
import type { Static } from '../common/schema.js';
import { MAX_CHUNK_SIZE, MIN_CHUNK_SIZE } from '../chunks/index.js';
import { SESSION_ID_PATTERN } from './ids.js';
import { SESSION_STATES } from './state-machine.js';

// `type: [T, 'null']` rather than anyOf: fast-json-stringify compiles an anyOf into a runtime
// validator per branch, which made these routes' serializers the bulk of the API's start-up.
const Nullable = <T extends Type.TSchema>(s: T) => Type.Unsafe<Type.Static<T> | null>({ ...s, type: [(s as unknown as { type: string }).type, 'null'] });
const Hex64 = Type.String({ pattern: '^[0-9a-f]{64}$' });
const Time = Type.String({ description: 'ISO 8601 time' });

export const LABEL_KEY_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$';
export const MAX_LABELS = 32;

export const SessionId = Type.String({ pattern: SESSION_ID_PATTERN, description: 'session id (UUIDv7)' });
/** Links a browser opens (downloads) carry a download token instead of a header: see routes with `downloadToken`. */
export const DownloadQuery = Type.Object({
  token: Type.Optional(Type.String({ maxLength: 2048, description: 'a download token for this path (POST /api/v1/auth/download-token)' })),
}, { additionalProperties: false });
export const IdParams = Type.Object({ id: SessionId }, { additionalProperties: false });
export const ChunkParams = Type.Object({ id: SessionId, index: Type.Integer({ minimum: 0, maximum: 0xffffffff }) }, { additionalProperties: false });

// Enumerations as `enum` (not an anyOf of literals): one check in the validator and serializer.
const StringEnum = <T extends string>(values: readonly T[], description?: string) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...(description ? { description } : {}) });
export const Cipher = StringEnum(['aes-256-gcm', 'xchacha20-poly1305'] as const);
export const State = StringEnum(SESSION_STATES);
const Labels = Type.Record(Type.String({ pattern: LABEL_KEY_PATTERN }), Type.String({ maxLength: 256 }), { maxProperties: MAX_LABELS, additionalProperties: false });

export const CreateBody = Type.Object({
  chunkSize: Type.Optional(Type.Integer({ minimum: MIN_CHUNK_SIZE, maximum: MAX_CHUNK_SIZE, description: 'plaintext bytes per chunk; default 1 MiB' })),
  cipher: Type.Optional(StringEnum(['aes-256-gcm', 'xchacha20-poly1305'] as const, 'default: aes-256-gcm where the CPU has AES instructions, else xchacha20-poly1305')),
  labels: Type.Optional(Labels),
  quotaBytes: Type.Optional(Type.Integer({ minimum: 1, description: 'largest session size; default and maximum: the appliance setting' })),
}, { additionalProperties: false });
export type CreateBody = Static<typeof CreateBody>;

export const ListQuery = Type.Object({
  state: Type.Optional(State),
  label: Type.Optional(Type.String({ maxLength: 330, description: '`key` or `key=value`' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(SessionId),
}, { additionalProperties: false });
export type ListQuery = Static<typeof ListQuery>;

export const DataQuery = Type.Object({
  offset: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'byte offset of the body in the session' }),
}, { additionalProperties: false });

const VerifyResult = Type.Object({
  at: Time,
  ok: Type.Boolean(),
  chunkCount: Type.Integer(),
  bad: Type.Array(Type.Object({ index: Type.Integer(), reason: Type.String() })),
  rootMatches: Nullable(Type.Boolean()),
  scope: Type.Optional(StringEnum(['full', 'storage'] as const, '`storage` when the data key is unavailable (a quarantined session): objects checked against their leaf hashes and the root only')),
});

export const SessionView = Type.Object({
  id: Type.String(),
  state: State,
  owner: Nullable(Type.String()),
  labels: Type.Record(Type.String(), Type.String()),
  chunkSize: Type.Integer(),
  cipher: Cipher,
  codec: StringEnum(['gzip-6'] as const),
  quotaBytes: Type.Integer(),
  createdAt: Time,
  updatedAt: Time,
  startedAt: Nullable(Time),
  stoppedAt: Nullable(Time),
  completedAt: Nullable(Time),
  deletedAt: Nullable(Time),
  received: Type.Integer({ description: 'acknowledged (durable) plaintext bytes: resume uploads from here' }),
  chunkCount: Type.Integer({ description: 'committed chunk objects' }),
  storedBytes: Type.Integer({ description: 'bytes of the committed chunk objects' }),
  compressionRatio: Nullable(Type.Number({ description: 'plaintext ÷ stored bytes of the committed chunks' })),
  pausedReason: Type.Unsafe<'user' | 'storage-full' | null>({ type: ['string', 'null'], enum: ['user', 'storage-full', null] }),
  merkleRoot: Nullable(Hex64),
  manifestHash: Nullable(Hex64),
  anchor: Nullable(Type.Object({}, { additionalProperties: true, description: 'the chain anchor of the manifest, filled by the ledger once final' })),
  failure: Nullable(Type.Object({
    code: Type.String(), message: Type.String(),
    reason: Type.Optional(Type.String({ description: 'with SESS_ERR_DAMAGED: what is damaged (services/common/errors.md)' })),
    index: Type.Optional(Type.Integer({ description: 'the damaged chunk, where there is one' })),
    state: Type.Optional(State),
  })),
  lastVerify: Nullable(VerifyResult),
  actions: Type.Array(Type.String(), { description: 'transitions allowed from this state' }),
});
export type SessionView = Static<typeof SessionView>;

export const SessionList = Type.Object({ sessions: Type.Array(SessionView), next: Nullable(SessionId) });
export const AckView = Type.Object({
  received: Type.Integer({ description: 'acknowledged length of the session after this upload' }),
  chunkCount: Type.Integer(),
  state: State,
});
export const ProofView = Type.Object({
  index: Type.Integer(),
  treeSize: Type.Integer(),
  leaf: Hex64,
  root: Hex64,
  path: Type.Array(Hex64, { description: 'RFC 6962 audit path, leaf to root' }),
  manifestHash: Hex64,
});
export const VerifyView = Type.Object({ ...VerifyResult.properties, session: SessionView });
export const ManifestView = Type.Object({}, { additionalProperties: true, description: 'the signed manifest, RFC 8785 canonical JSON (hash these bytes without `signature`)' });
