// Request and response schemas of the auth, users, audit and emergency routes. Every body is
// closed (additionalProperties: false) with lengths and formats; the fuzz test throws malformed
// requests at all of them.
import * as Type from '../common/schema.js';
import { MAX_PASSWORD_LENGTH } from './passwords.js';
import { TRON_ADDRESS_PATTERN } from './tron-message.js';

export const Username = Type.String({ minLength: 3, maxLength: 32, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{2,31}$', description: 'letters, digits, . _ -' });
export const Password = Type.String({ minLength: 1, maxLength: MAX_PASSWORD_LENGTH });
export const RoleSchema = Type.Union([Type.Literal('user'), Type.Literal('node_operator'), Type.Literal('admin'), Type.Literal('super_admin')]);
export const Address = Type.String({ pattern: TRON_ADDRESS_PATTERN, description: 'TRON base58check address' });
export const Signature = Type.String({ pattern: '^(0x)?[0-9a-fA-F]{130}$', description: 'r ‖ s ‖ v, 65 bytes hex (v = 27/28 or 0/1)' });
export const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
const Jwt = Type.String({ minLength: 20, maxLength: 2048, pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$' });

const closed = { additionalProperties: false } as const;

export const SetupBody = Type.Object({ code: Type.String({ minLength: 4, maxLength: 64 }), username: Username, password: Password }, closed);
export const LoginBody = Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }), password: Password }, closed);
export const ChallengeBody = Type.Object({ address: Address }, closed);
export const WalletBody = Type.Object({ address: Address, signature: Signature }, closed);
export const RefreshBody = Type.Object({ refreshToken: Jwt }, closed);
export const EmptyBody = Type.Object({}, closed);
export const DownloadTokenBody = Type.Object({
  path: Type.String({ pattern: '^/api/v1/[^?#\\s]*$', maxLength: 512, description: 'the URL path (no query) the token opens, e.g. /api/v1/sessions/<id>/content' }),
}, closed);
export const DownloadTokenReply = Type.Object({
  token: Type.String(), expiresIn: Type.Integer({ description: 'seconds the token lives' }),
  url: Type.String({ description: 'the path with ?token= appended: open it directly (a link, a download)' }),
});

export const UserRef = Type.Object({ id: Type.String(), username: Type.String(), role: RoleSchema });
export const Tokens = Type.Object({
  accessToken: Type.String(), refreshToken: Type.String(), expiresIn: Type.Integer({ description: 'seconds the access token lives' }),
  tokenType: Type.Literal('Bearer'), user: UserRef,
});
export const ChallengeReply = Type.Object({
  address: Type.String(), message: Type.String({ description: 'sign exactly this text with TIP-191 (signMessageV2)' }),
  nonce: Type.String(), expiresAt: Type.Number(),
});
export const Methods = Type.Object({ setupRequired: Type.Boolean(), hardwareWallet: Type.Boolean(), newSessionsAllowed: Type.Boolean(), lockdown: Type.Boolean() });

const MaybeId = Type.Union([Type.String(), Type.Null()]);
export const PublicUser = Type.Object({
  id: Type.String(), username: Type.String({ description: 'canonical form (NFKC, case-folded)' }), role: RoleSchema, wallets: Type.Array(Type.String()),
  createdAt: Type.Number(), createdBy: MaybeId,
  roleChangedBy: MaybeId, roleChangedAt: Type.Number(), roleApprovedBy: Type.Union([Type.String(), Type.Null()], { description: 'the second admin of a two-person change, or "device"' }),
  credentialsChangedBy: MaybeId, credentialsChangedAt: Type.Number(),
  lockedUntil: Type.Number(), locked: Type.Boolean(),
});
export const UserList = Type.Object({ users: Type.Array(PublicUser) });
export const CreateUserBody = Type.Object({ username: Username, password: Password, role: RoleSchema }, closed);
export const UpdateUserBody = Type.Object({ role: Type.Optional(RoleSchema), password: Type.Optional(Password) }, { ...closed, minProperties: 1 });
export const PasswordBody = Type.Object({ currentPassword: Password, newPassword: Password }, closed);
export const IdParams = Type.Object({ id: Id }, closed);
export const WalletParams = Type.Object({ id: Id, address: Address }, closed);

export const SessionInfo = Type.Object({
  id: Type.String(), userId: Type.String(), createdAt: Type.Number(), lastUsedAt: Type.Number(), expiresAt: Type.Number(),
  method: Type.String(), ip: Type.Union([Type.String(), Type.Null()]), current: Type.Boolean(),
});
export const SessionList = Type.Object({ sessions: Type.Array(SessionInfo) });
export const SessionsQuery = Type.Object({ all: Type.Optional(Type.Boolean()) }, closed);

const Actor = Type.Union([Type.Object({ id: Type.String(), username: Type.String(), role: Type.String() }), Type.Null()]);
export const Outcome = Type.Union([Type.Literal('success'), Type.Literal('failure'), Type.Literal('denied')]);
export const AuditEntrySchema = Type.Object({
  seq: Type.Integer(), at: Type.Number(), actor: Actor, action: Type.String(), target: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]), outcome: Outcome,
  details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]), prev: Type.String(), hash: Type.String(),
});
export const AuditQuery = Type.Object({
  action: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9.-]+$' })),
  actor: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  outcome: Type.Optional(Outcome),
  since: Type.Optional(Type.Integer({ minimum: 0 })),
  until: Type.Optional(Type.Integer({ minimum: 0 })),
  before: Type.Optional(Type.Integer({ minimum: 1 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
}, closed);
export const AuditPage = Type.Object({ entries: Type.Array(AuditEntrySchema), next: Type.Union([Type.Integer(), Type.Null()]) });
export const AuditVerify = Type.Object({
  ok: Type.Boolean(), entries: Type.Integer(), headSeq: Type.Integer(),
  checkpoint: Type.Union([Type.Object({ seq: Type.Integer(), at: Type.Number() }), Type.Null()]),
  firstBad: Type.Union([Type.Object({ seq: Type.Integer(), reason: Type.String() }), Type.Null()]),
  code: Type.Union([Type.Literal('AUDIT_ERR_CORRUPT'), Type.Null()]),
});

const Switch = Type.Object({
  active: Type.Boolean(), since: Type.Union([Type.Number(), Type.Null()]), until: Type.Union([Type.Number(), Type.Null()]), by: Type.Union([Type.String(), Type.Null()]),
});
export const EmergencyActionSchema = Type.Union([Type.Literal('lockdown'), Type.Literal('stop-all-sessions')]);
export const PendingRequestSchema = Type.Object({
  id: Type.String(), action: EmergencyActionSchema, requestedBy: Type.Object({ id: Type.String(), username: Type.String(), role: Type.String() }),
  reason: Type.String(), at: Type.Number(), expiresAt: Type.Number(),
});
export const EmergencyStateSchema = Type.Object({ lockdown: Switch, sessionsDisabled: Switch, requests: Type.Array(PendingRequestSchema) });
export const EmergencyRequestBody = Type.Object({ action: EmergencyActionSchema, reason: Type.String({ minLength: 1, maxLength: 500 }) }, closed);
export const SessionsSwitchBody = Type.Object({ disabled: Type.Boolean() }, closed);
export const ApproveReply = Type.Object({ request: PendingRequestSchema, result: Type.Record(Type.String(), Type.Unknown()), state: EmergencyStateSchema });
export const ApprovalSchema = Type.Object({
  id: Type.String(), kind: Type.String({ description: 'lockdown, stop-all-sessions, user.update, user.wallet.link, user.wallet.unlink' }),
  params: Type.Record(Type.String(), Type.Unknown()), requestedBy: Type.Object({ id: Type.String(), username: Type.String(), role: Type.String() }),
  reason: Type.String(), createdAt: Type.Number(), expiresAt: Type.Number(),
  deviceCode: Type.Boolean({ description: 'no account can approve it: a one-time code from the device (long press of the button) may' }),
});
export const ApprovalList = Type.Object({ approvals: Type.Array(ApprovalSchema) });
export const ApproveBody = Type.Object({
  deviceCode: Type.Optional(Type.String({ minLength: 4, maxLength: 64, description: 'the one-time code a long press of the button prints (bootstrap only)' })),
}, closed);
export const ApprovalDone = Type.Object({
  request: Type.Object({ id: Type.String(), kind: Type.String(), params: Type.Record(Type.String(), Type.Unknown()), requestedBy: Type.Object({ id: Type.String(), username: Type.String(), role: Type.String() }), reason: Type.String(), createdAt: Type.Number(), expiresAt: Type.Number() }),
  result: Type.Record(Type.String(), Type.Unknown()),
});
/** 202: the change waits for a second admin (the user as it is now, and the request). */
export const PendingChange = Type.Object({ user: PublicUser, approval: ApprovalSchema });
export const DeviceWallet = Type.Object({ address: Type.String(), version: Type.String() });
export const Ok = Type.Object({ ok: Type.Boolean() });
