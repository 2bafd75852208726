// Response schemas of the foundation routes. They drive validation, serialization and the
// OpenAPI document at /docs; the web UI reads exactly these fields.
import * as Type from '../../common/schema.js';
import type { Static } from '../../common/schema.js';
import { OtaStatusSchema } from './ota.js';

const Nullable = <T extends ReturnType<typeof Type.Number>>(t: T) => Type.Union([t, Type.Null()]);

export const ExitSchema = Type.Object({
  code: Type.Union([Type.Integer(), Type.Null()]),
  signal: Type.Union([Type.String(), Type.Null()]),
  reason: Type.String(),
  at: Type.Number(),
});

export const ChildSchema = Type.Object({
  name: Type.String(),
  critical: Type.Boolean(),
  state: Type.String({ description: 'idle | starting | ready | stopping | backoff | failed | stopped. A failed child is retried slowly: `nextStartAt` is its next retry' }),
  pid: Type.Union([Type.Integer(), Type.Null()]),
  restarts: Type.Integer(),
  startedAt: Nullable(Type.Number()),
  readyAt: Nullable(Type.Number()),
  nextStartAt: Nullable(Type.Number()),
  lastExit: Type.Union([ExitSchema, Type.Null()]),
  failedReason: Type.Union([Type.String(), Type.Null()]),
  failedSince: Type.Union([Type.Number({ description: 'epoch ms since which the child has been failing (failed, or retrying after a failure); null once it is ready again' }), Type.Null()]),
});

export const LedSchema = Type.Object({
  state: Type.String({ description: 'booting | ready | degraded | updating | fault | lockdown | reset-pending' }),
  steps: Type.Array(Type.Object({ on: Type.Boolean(), ms: Type.Number() })),
  since: Type.Number({ description: 'epoch ms at which the current pattern started; it repeats from then' }),
  drivers: Type.Array(Type.String()),
  simulatedOn: Type.Union([Type.Boolean(), Type.Null()]),
});

export const SystemSchema = Type.Object({
  uptimeSec: Nullable(Type.Number()),
  loadavg: Type.Union([Type.Array(Type.Number()), Type.Null()]),
  cpuCount: Type.Integer(),
  cpuPercent: Nullable(Type.Number()),
  memory: Type.Union([Type.Object({ totalBytes: Type.Number(), availableBytes: Type.Number() }), Type.Null()]),
  temperatureC: Nullable(Type.Number()),
  disk: Type.Union([Type.Object({
    path: Type.String(), totalBytes: Type.Number(), freeBytes: Type.Number(), availableBytes: Type.Number(),
  }), Type.Null()]),
  throttled: Type.Union([Type.Object({
    raw: Type.String(),
    underVoltageNow: Type.Boolean(), frequencyCappedNow: Type.Boolean(), throttledNow: Type.Boolean(), softTempLimitNow: Type.Boolean(),
    underVoltageOccurred: Type.Boolean(), frequencyCappedOccurred: Type.Boolean(), throttledOccurred: Type.Boolean(), softTempLimitOccurred: Type.Boolean(),
  }), Type.Null()]),
});
export type SystemStatus = Static<typeof SystemSchema>;

export const ProcessSchema = Type.Object({
  name: Type.String(),
  pid: Type.Integer(),
  rssBytes: Type.Number(),
  heapUsedBytes: Type.Number(),
  uptimeSec: Type.Number(),
});

export const StatusSchema = Type.Object({
  version: Type.String(),
  revision: Type.String(),
  uptimeSec: Type.Number({ description: 'seconds since the supervisor started (the appliance runtime)' }),
  node: Type.Object({ id: Type.String(), publicKey: Type.String() }),
  healthy: Type.Boolean(),
  reasons: Type.Array(Type.String()),
  supervised: Type.Boolean(),
  children: Type.Array(ChildSchema),
  led: Type.Union([LedSchema, Type.Null()]),
  locks: Type.Array(Type.Object({ name: Type.String(), holders: Type.Array(Type.String()) })),
  hal: Type.Union([Type.Object({
    mode: Type.String(), watchdog: Type.Union([Type.String(), Type.Null()]), button: Type.Union([Type.String(), Type.Null()]),
  }), Type.Null()]),
  lastButtonEvent: Type.Union([Type.Object({ action: Type.String(), at: Type.Number() }), Type.Null()]),
  core: ProcessSchema,
  system: SystemSchema,
  ota: Type.Union([OtaStatusSchema, Type.Null()], { description: 'updates (as GET /api/v1/ota); null when the agent does not answer' }),
});
export type Status = Static<typeof StatusSchema>;

export const HealthSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  reasons: Type.Array(Type.String()),
});

export const NodeSchema = Type.Object({
  id: Type.String({ description: '40 hex: first 20 bytes of SHA-256 of the raw Ed25519 public key' }),
  publicKey: Type.String({ description: 'raw 32-byte Ed25519 public key, hex' }),
  algorithm: Type.Literal('ed25519'),
});
