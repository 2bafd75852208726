// The supervisor ⇄ child protocol over Node's IPC channel (child_process.fork). Plain JSON
// objects with a `t` tag. The supervisor never imports service code and services never import
// the supervisor: both speak only these types.
import type { TlsMaterial } from './tls.js';

export type ChildPhase = 'idle' | 'starting' | 'ready' | 'stopping' | 'backoff' | 'failed' | 'stopped';

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: string | null;
  /** Why it ended: 'exit', 'crash', 'heartbeat-missed', 'ready-timeout', 'stopped'. */
  readonly reason: string;
  readonly at: number;
}

export interface ChildStatus {
  readonly name: string;
  readonly critical: boolean;
  readonly phase: ChildPhase;
  readonly pid: number | null;
  readonly restarts: number;
  readonly startedAt: number | null;
  readonly readyAt: number | null;
  readonly nextStartAt: number | null;
  readonly lastExit: ExitInfo | null;
  readonly failedReason: string | null;
  /** Since when the child has been failing (failed, or retrying after a failure); null once ready. */
  readonly failedSince: number | null;
}

export const LED_STATES = ['booting', 'ready', 'degraded', 'updating', 'fault', 'lockdown', 'reset-pending'] as const;
export type LedState = (typeof LED_STATES)[number];

export interface LedStep { readonly on: boolean; readonly ms: number }

export interface LedSnapshot {
  readonly state: LedState;
  /** One period of the pattern; it repeats from `since`. */
  readonly steps: readonly LedStep[];
  readonly since: number;
  /** Which driver shows it ('sim', 'sysfs:ACT', 'gpio:17', …). */
  readonly drivers: readonly string[];
  /** Simulated driver only: the level right now. */
  readonly simulatedOn: boolean | null;
}

export interface LockInfo { readonly name: string; readonly holders: readonly string[] }

export interface SupervisorSnapshot {
  readonly version: string;
  readonly pid: number;
  readonly startedAt: number;
  readonly healthy: boolean;
  readonly reasons: readonly string[];
  readonly children: readonly ChildStatus[];
  readonly led: LedSnapshot;
  readonly locks: readonly LockInfo[];
  readonly flags: Readonly<Record<string, boolean>>;
  readonly hal: { readonly mode: 'sim' | 'pi'; readonly watchdog: string | null; readonly button: string | null };
  readonly at: number;
}

export type ButtonAction = 'short' | 'long' | 'factory-reset';

export interface HalEvent {
  readonly kind: 'button';
  readonly action: ButtonAction;
  readonly at: number;
}

/** Requests a child may make of the supervisor; each gets exactly one reply. */
export interface RequestMap {
  'lock.acquire': { args: { name: string }; result: { name: string; holders: string[] } };
  'lock.release': { args: { name: string }; result: { name: string; holders: string[] } };
  'hal.button': { args: { action: ButtonAction }; result: { accepted: boolean; factoryReset: 'armed' | 'confirmed' | null } };
  'child.restart': { args: { name: string }; result: { name: string } };
  'flag.set': { args: { name: string; value: boolean }; result: { name: string; value: boolean } };
  /**
   * The OTA agent's update hand-over: waits (at most timeoutMs) until no other child holds an
   * update lock, then refuses new locks to others until the restart (or update.cancel).
   */
  'update.prepare': { args: { timeoutMs: number }; result: { pending: true } };
  'update.cancel': { args: Record<string, never>; result: { pending: false } };
  /** Stop the whole tree and exit so systemd starts the unit again (into the slot switched to). */
  'update.switch': { args: { reason: string }; result: { accepted: true } };
}
export type RequestOp = keyof RequestMap;

export type ChildToSupervisor =
  | { t: 'ready' }
  | { t: 'heartbeat' }
  | { t: 'request'; id: number; op: RequestOp; args: unknown }
  /** Core asks for the API's listening sockets and the TLS material (appliance/supervisor/listeners.ts). */
  | { t: typeof LISTENERS_REQUEST }
  /** With a copy of a listening socket beside it, sent once core accepts on it: the supervisor keeps it without accepting. */
  | { t: typeof LISTENER_PARK; name: ListenerName };

export type SupervisorToChild =
  | { t: 'snapshot'; snapshot: SupervisorSnapshot }
  | { t: 'event'; event: HalEvent }
  | { t: 'reply'; id: number; ok: true; result: unknown }
  | { t: 'reply'; id: number; ok: false; error: { code: string; message: string } }
  /** The certificate and key to serve HTTPS with: sent before the listeners, and again when re-issued. */
  | { t: typeof TLS_MATERIAL; material: TlsMaterial }
  /** With a listening socket beside it: descriptor `index` of `count` for the listener `name`. */
  | { t: typeof LISTENER; name: ListenerName; index: number; count: number };

/** The API's listening sockets: plain HTTP (LUCID_PORT) and HTTPS (LUCID_HTTPS_PORT). */
export type ListenerName = 'http' | 'https';
export const LISTENER_NAMES: readonly ListenerName[] = ['http', 'https'];
export const LISTENERS_REQUEST = 'listeners-request';
export const LISTENER = 'listener';
export const LISTENER_PARK = 'listener-park';
export const TLS_MATERIAL = 'tls-material';

export function isChildMessage(value: unknown): value is ChildToSupervisor {
  return typeof value === 'object' && value !== null && typeof (value as { t?: unknown }).t === 'string';
}
