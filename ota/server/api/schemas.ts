// Request and response schemas of the fleet API. Bodies are closed (additionalProperties: false)
// with bounds; responses name their main fields and let records through as they are.
import * as T from '../../../services/common/schema.js';
import { ErrorSchema } from '../../../services/api/index.js';

const closed = { additionalProperties: false } as const;
const open = { additionalProperties: true } as const;

export const errors = { '4xx': ErrorSchema, '5xx': ErrorSchema };
export const Id = T.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9@._:-]+$' });
export const IdParams = T.Object({ id: Id }, closed);
export const Tag = T.String({ pattern: '^[a-z0-9][a-z0-9._:-]{0,62}$' });
export const Tags = T.Array(Tag, { maxItems: 32 });
export const Role = T.Union([T.Literal('user'), T.Literal('node_operator'), T.Literal('admin'), T.Literal('super_admin')]);
const Jwt = T.String({ minLength: 20, maxLength: 2048, pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$' });
const Password = T.String({ minLength: 1, maxLength: 256 });
const Username = T.String({ minLength: 1, maxLength: 64 });

export const SetupBody = T.Object({ code: T.String({ minLength: 4, maxLength: 64 }), username: Username, password: Password }, closed);
export const LoginBody = T.Object({ username: Username, password: Password }, closed);
export const RefreshBody = T.Object({ refreshToken: Jwt }, closed);
export const PasswordBody = T.Object({ currentPassword: Password, newPassword: Password }, closed);
export const Tokens = T.Object({ accessToken: T.String(), refreshToken: T.String(), expiresIn: T.Integer(), tokenType: T.Literal('Bearer') });
export const UserBody = T.Object({ username: Username, password: Password, role: Role }, closed);
export const User = T.Object({ id: T.String(), username: T.String(), role: T.String(), createdAt: T.Number(), locked: T.Boolean() }, open);
export const Ok = T.Object({ ok: T.Boolean() });

// Devices (signed messages: the envelope is checked here, its payload by the protocol code)
export const Envelope = T.Object({
  device: T.String({ pattern: '^[0-9a-f]{40}$' }),
  payload: T.String({ minLength: 2, maxLength: 16 * 1024 }),
  signature: T.String({ pattern: '^[A-Za-z0-9_-]{86}$' }),
}, closed);
export const EnrollBody = T.Object({
  token: T.String({ minLength: 8, maxLength: 128 }),
  publicKey: T.String({ pattern: '^[0-9a-f]{64}$' }),
  nodeId: T.String({ pattern: '^[0-9a-f]{40}$' }),
  arch: T.String({ pattern: '^[a-z0-9_]{1,16}$' }),
  version: T.String({ minLength: 1, maxLength: 64 }),
  name: T.Optional(T.String({ maxLength: 64 })),
  proof: T.String({ pattern: '^[A-Za-z0-9_-]{86}$' }),
}, closed);
export const FleetHello = T.Object({ fleetId: T.String() });
export const EnrollReply = T.Object({ deviceId: T.String(), fleetId: T.String(), checkinIntervalS: T.Integer(), tags: T.Array(T.String()) });
export const Assignment = T.Object({
  id: T.String(), rolloutId: T.String(), kind: T.String(), channel: T.String(), version: T.String(), releaseSha256: T.String(), tufPath: T.String(), stage: T.Integer(),
});
export const CheckinReply = T.Object({
  fleetId: T.String(), serverTime: T.Number(), nextCheckinS: T.Integer(), assignment: T.Union([Assignment, T.Null()]), waiting: T.Union([T.String(), T.Null()]),
});
export const ReportReply = T.Object({ state: T.String() });

export const Device = T.Object({ id: T.String(), name: T.String(), tags: T.Array(T.String()), lastSeenAt: T.Number(), online: T.Boolean(), status: T.Object({}, open) }, open);
export const DeviceQuery = T.Object({
  tag: T.Optional(Tag), version: T.Optional(T.String({ maxLength: 64 })), health: T.Optional(T.Union([T.Literal('ok'), T.Literal('degraded'), T.Literal('failed')])),
  state: T.Optional(T.Union([T.Literal('online'), T.Literal('offline')])), search: T.Optional(T.String({ maxLength: 64 })),
  limit: T.Optional(T.Integer({ minimum: 1, maximum: 5000 })), after: T.Optional(T.String({ maxLength: 64 })),
}, closed);
export const TagsBody = T.Object({ tags: Tags }, closed);
export const TokenBody = T.Object({ tags: T.Optional(Tags), ttlHours: T.Optional(T.Integer({ minimum: 1, maximum: 24 * 90 })) }, closed);
export const TokenReply = T.Object({ token: T.String(), id: T.String(), expiresAt: T.Number() });
export const TlsInfo = T.Object({
  pin: T.String({ description: 'base64url SHA-256 of the certificate public key (SPKI DER), 43 characters: what enrollment tokens carry after their dot' }),
  spkiSha256Base64: T.String({ description: 'the same hash in standard base64 (Chromium --ignore-certificate-errors-spki-list)' }),
  publicKeySha256: T.String(), certificateSha256: T.String({ description: 'SHA-256 of the certificate, AB:CD:… as browsers show it' }),
  source: T.Union([T.Literal('fleet'), T.Literal('user')]), names: T.Array(T.String()), validTo: T.String(),
});

const Window = T.Object({ days: T.Array(T.Integer({ minimum: 0, maximum: 6 }), { minItems: 1, maxItems: 7 }), start: T.String({ pattern: '^\\d\\d:\\d\\d$' }), end: T.String({ pattern: '^\\d\\d:\\d\\d$' }) }, closed);
export const GroupBody = T.Object({
  name: T.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$' }),
  kind: T.Union([T.Literal('static'), T.Literal('dynamic')]),
  members: T.Optional(T.Array(T.String({ pattern: '^[0-9a-f]{40}$' }), { maxItems: 100_000 })),
  filter: T.Optional(T.Object({ tags: T.Optional(Tags), version: T.Optional(T.String({ maxLength: 64 })), arch: T.Optional(T.String({ maxLength: 16 })) }, closed)),
  tags: T.Optional(Tags),
  windows: T.Optional(T.Array(Window, { maxItems: 14 })),
}, closed);
export const Group = T.Object({ id: T.String(), name: T.String(), kind: T.String(), tags: T.Array(T.String()) }, open);

export const ChannelBody = T.Object({
  name: T.String({ pattern: '^[a-z0-9][a-z0-9-]{0,31}$' }),
  repositoryUrl: T.String({ maxLength: 512, pattern: '^https?://' }),
  tufChannel: T.Optional(T.String({ pattern: '^[a-z0-9][a-z0-9-]{0,31}$' })),
  rootJson: T.String({ minLength: 2, maxLength: 256 * 1024 }),
}, closed);
export const Channel = T.Object({ name: T.String(), repositoryUrl: T.String(), tufChannel: T.String() }, open);
export const Release = T.Object({ id: T.String(), channel: T.String(), version: T.String(), sha256: T.String(), current: T.Boolean() }, open);

const Stage = T.Object({
  count: T.Optional(T.Integer({ minimum: 1, maximum: 1_000_000 })),
  percent: T.Optional(T.Number({ exclusiveMinimum: 0, maximum: 100 })),
  soakS: T.Integer({ minimum: 0, maximum: 7 * 86_400 }),
  maxFailures: T.Integer({ minimum: 0, maximum: 1_000_000 }),
  maxFailureRate: T.Optional(T.Union([T.Number({ minimum: 0, maximum: 1 }), T.Null()])),
}, closed);
export const RolloutBody = T.Object({
  releaseId: T.String({ minLength: 3, maxLength: 100 }),
  groupId: Id,
  stages: T.Array(Stage, { minItems: 1, maxItems: 10 }),
  rollbackOnHalt: T.Optional(T.Boolean()),
  reason: T.Optional(T.String({ maxLength: 300 })),
}, closed);
export const Rollout = T.Object({ id: T.String(), state: T.String(), stage: T.Integer(), version: T.String(), total: T.Integer() }, open);
export const RolloutCreated = T.Object({ rollout: Rollout, skipped: T.Integer(), approvalId: T.Union([T.String(), T.Null()]) });
export const RolloutAction = T.Object({ id: Id, action: T.Union([T.Literal('pause'), T.Literal('resume'), T.Literal('abort'), T.Literal('retry'), T.Literal('advance')]) }, closed);
export const Approval = T.Object({ id: T.String(), kind: T.String(), reason: T.String(), createdAt: T.Number(), expiresAt: T.Number() }, open);
export const AuditQuery = T.Object({ limit: T.Optional(T.Integer({ minimum: 1, maximum: 1000 })), before: T.Optional(T.Integer({ minimum: 1 })) }, closed);
export const AuditEntry = T.Object({ seq: T.Integer(), at: T.Number(), actor: T.String(), action: T.String(), outcome: T.String(), hash: T.String() }, open);
export const Overview = T.Object({ devices: T.Object({}, open), rollouts: T.Array(T.Object({}, open)), approvals: T.Integer(), fleetId: T.String(), store: T.String() }, open);
