// Response schema of the OTA routes and of `ota` in /api/v1/status: the agent's status document
// (ota/shared/status.ts), field for field.
import * as Type from '../../common/schema.js';

const N = <T extends ReturnType<typeof Type.Number> | ReturnType<typeof Type.Integer>>(t: T) => Type.Union([t, Type.Null()]);
const S = Type.Union([Type.String(), Type.Null()]);
const SlotName = Type.Union([Type.Literal('a'), Type.Literal('b')]);
const Source = Type.Union([Type.Literal('online'), Type.Literal('bundle'), Type.Literal('previous-slot')]);

export const OtaErrorSchema = Type.Object({
  code: Type.String(),
  message: Type.String(),
  details: Type.Optional(Type.Object({}, { additionalProperties: true })),
});

export const OtaStatusSchema = Type.Object({
  version: Type.String({ description: 'the installed (running) version' }),
  slot: Type.Union([SlotName, Type.Null()], { description: 'the slot this version runs from (null without a slot layout)' }),
  slotsAvailable: Type.Boolean(),
  channel: Type.String(),
  online: Type.Boolean({ description: 'LUCID_OTA_URL is set' }),
  intervalS: N(Type.Integer()),
  autoInstall: Type.Boolean(),
  phase: Type.String({ description: 'idle | fetching | staging | staged | switching | trial' }),
  job: Type.Union([Type.Object({
    id: Type.String(), kind: Type.String({ description: 'update | rollback' }), version: Type.String(), fromVersion: Type.String(),
    source: Source, slot: SlotName, startedAt: Type.Number(),
    progress: Type.Object({ done: Type.Number(), total: Type.Number(), transferred: Type.Number() }, { description: 'bytes of the missing blobs on disk, of their total; bytes received so far' }),
    error: Type.Union([OtaErrorSchema, Type.Null()]),
  }), Type.Null()]),
  trial: Type.Union([Type.Object({
    slot: SlotName, version: Type.String(), boots: Type.Integer(), maxBoots: Type.Integer(), soakS: Type.Integer(),
    healthySinceS: N(Type.Integer()), selftest: Type.String({ description: 'pending | passed | failed' }),
  }), Type.Null()]),
  lastCheck: Type.Union([Type.Object({ at: Type.Number(), source: Type.String(), error: Type.Union([OtaErrorSchema, Type.Null()]) }), Type.Null()]),
  available: Type.Union([Type.Object({
    version: Type.String(), channel: Type.String(), minVersion: Type.String(), created: Type.String(), notes: Type.Optional(Type.String()),
    source: Type.String(), downloadBytes: Type.Number(), missingBytes: N(Type.Number()),
  }), Type.Null()]),
  previous: Type.Union([Type.Object({ slot: SlotName, version: Type.String() }), Type.Null()]),
  history: Type.Array(Type.Object({
    id: Type.String(), kind: Type.String(), version: Type.String(), fromVersion: Type.String(),
    outcome: Type.String({ description: 'committed | rolled-back | failed' }), reason: Type.String(), at: Type.Number(), source: Source,
  })),
  trustTime: Type.Union([Type.Object({ clock: Type.Number(), floor: Type.Number({ description: 'seconds: the trust-time floor from signed metadata' }) }), Type.Null()]),
  fleet: Type.Optional(Type.Object({
    url: Type.String(), enrolled: Type.Boolean(), fleetId: S, deviceId: S,
    pin: Type.Union([Type.String({ description: 'base64url SHA-256 of the fleet certificate\'s SPKI' }), Type.Null()]),
    pinSource: S, lastCheckinAt: N(Type.Number()), nextCheckinAt: N(Type.Number()),
    error: Type.Union([OtaErrorSchema, Type.Null()], { description: 'e.g. OTA_ERR_FLEET_PIN: fleet certificate changed' }), warning: S,
    assignment: Type.Union([Type.Object({ id: Type.String(), kind: Type.String(), version: Type.String(), phase: Type.String(), reason: S }), Type.Null()]),
    waiting: S,
  }, { description: 'fleet mode: the enrollment, its pin and the current assignment' })),
});

export const FleetEnrollBody = Type.Object({
  url: Type.String({ minLength: 8, maxLength: 500, description: 'https://… of the fleet server (http:// only on loopback)' }),
  token: Type.String({ minLength: 8, maxLength: 400, description: 'lft_<secret>.<pin> from the fleet' }),
}, { additionalProperties: false });

export const BundleQuery = Type.Object({
  install: Type.Optional(Type.Boolean({ description: 'install the bundle\'s release once verified (default false: only offer it)' })),
}, { additionalProperties: false });
