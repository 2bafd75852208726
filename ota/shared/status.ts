// The OTA status document: what the agent reports on its socket and core serves in
// /api/v1/status (`ota`) and /api/v1/ota, and what the web UI's Updates page draws. Plain data.

export type OtaPhase = 'idle' | 'fetching' | 'staging' | 'staged' | 'switching' | 'trial';
export type OtaOutcome = 'committed' | 'rolled-back' | 'failed';

export interface OtaError {
  readonly code: string;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface OtaReleaseSummary {
  readonly version: string;
  readonly channel: string;
  readonly minVersion: string;
  readonly created: string;
  readonly notes?: string;
  readonly source: 'online' | 'bundle';
  /** Compressed bytes of this platform's layers. */
  readonly downloadBytes: number;
  /** Of those, what the device does not hold yet. */
  readonly missingBytes: number | null;
}

export interface OtaJobStatus {
  readonly id: string;
  readonly kind: 'update' | 'rollback';
  readonly version: string;
  readonly fromVersion: string;
  readonly source: 'online' | 'bundle' | 'previous-slot';
  readonly slot: 'a' | 'b';
  readonly startedAt: number;
  readonly progress: { readonly done: number; readonly total: number; readonly transferred: number };
  readonly error: OtaError | null;
}

export interface OtaHistoryEntry {
  readonly id: string;
  readonly kind: 'update' | 'rollback';
  readonly version: string;
  readonly fromVersion: string;
  readonly outcome: OtaOutcome;
  readonly reason: string;
  readonly at: number;
  readonly source: 'online' | 'bundle' | 'previous-slot';
}

export interface OtaStatus {
  readonly version: string;
  readonly slot: 'a' | 'b' | null;
  /** False in development (no slot layout): checks work, installs do not. */
  readonly slotsAvailable: boolean;
  readonly channel: string;
  readonly online: boolean;
  readonly intervalS: number | null;
  readonly autoInstall: boolean;
  readonly phase: OtaPhase;
  readonly job: OtaJobStatus | null;
  readonly trial: {
    readonly slot: 'a' | 'b';
    readonly version: string;
    readonly boots: number;
    readonly maxBoots: number;
    readonly soakS: number;
    readonly healthySinceS: number | null;
    readonly selftest: 'pending' | 'passed' | 'failed';
  } | null;
  readonly lastCheck: { readonly at: number; readonly source: 'online' | 'bundle'; readonly error: OtaError | null } | null;
  readonly available: OtaReleaseSummary | null;
  readonly previous: { readonly slot: 'a' | 'b'; readonly version: string } | null;
  readonly history: readonly OtaHistoryEntry[];
  readonly trustTime: { readonly clock: number; readonly floor: number } | null;
  /** Fleet mode (LUCID_FLEET_URL, or an enrollment from the Updates page); absent when not used. */
  readonly fleet?: OtaFleetStatus;
}

export interface OtaFleetStatus {
  readonly url: string;
  readonly enrolled: boolean;
  readonly fleetId: string | null;
  readonly deviceId: string | null;
  /** The pinned certificate key (base64url SHA-256 of its SPKI) and where it came from. */
  readonly pin: string | null;
  readonly pinSource: 'token' | 'first-use' | 'none' | null;
  readonly lastCheckinAt: number | null;
  readonly nextCheckinAt: number | null;
  /** E.g. OTA_ERR_FLEET_PIN "fleet certificate changed": the device keeps working on its own. */
  readonly error: OtaError | null;
  readonly warning: string | null;
  readonly assignment: { readonly id: string; readonly kind: string; readonly version: string; readonly phase: string; readonly reason: string | null } | null;
  readonly waiting: string | null;
}
