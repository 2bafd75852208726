// The wire format between an appliance's OTA agent (fleet mode) and the fleet server. Both sides
// import this file, so what the device signs is exactly what the server verifies.
//
// Every device message after enrollment is an envelope `{ device, payload, signature }`:
//   - `payload` is the JSON text of the message (signed as sent: no canonicalisation needed);
//   - `signature` is Ed25519 (the appliance's node key, services/identity) over
//     `lucid-fleet/1 ‖ \n ‖ <kind> ‖ \n ‖ <fleetId> ‖ \n ‖ payload`, base64url. The kind and the
//     fleet id are bound in, so a check-in cannot pass as a report, nor a message for one fleet
//     be replayed to another.
//   - `seq` inside the payload grows with every message of the device (check-ins and reports
//     share it); the server refuses any `seq` not above the last it accepted (replay), and tells
//     an honest device that lost its counter where to continue (`details.lastSeq`).
// Enrollment proves the key the same way: the device signs the token and its node id.
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

export const FLEET_DOMAIN = 'lucid-fleet/1';
export type MessageKind = 'checkin' | 'report' | 'enroll';

/** Raw 32-byte Ed25519 public key (hex) → a node KeyObject (SPKI prefix + key). */
export function publicKeyFromHex(hex: string): KeyObject {
  const raw = Buffer.from(hex, 'hex');
  if (raw.length !== 32) throw new Error('an Ed25519 public key is 32 bytes');
  return createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });
}

/** The node id of services/identity: the first 20 bytes of SHA-256 over the raw public key, hex. */
export function nodeIdOfHex(publicKeyHex: string): string {
  return createHash('sha256').update(Buffer.from(publicKeyHex, 'hex')).digest('hex').slice(0, 40);
}

export function signedBytes(kind: MessageKind, fleetId: string, payload: string): Buffer {
  return Buffer.from(`${FLEET_DOMAIN}\n${kind}\n${fleetId}\n${payload}`, 'utf8');
}

export interface Envelope {
  readonly device: string;
  readonly payload: string;
  readonly signature: string;
}

/** Signs with a private KeyObject or a `sign(bytes)` function (the node identity's). */
export type Signer = KeyObject | ((message: Uint8Array) => Buffer);

export function signEnvelope(kind: MessageKind, fleetId: string, device: string, message: object, signer: Signer): Envelope {
  const payload = JSON.stringify(message);
  const bytes = signedBytes(kind, fleetId, payload);
  const sig = typeof signer === 'function' ? signer(bytes) : sign(null, bytes, signer);
  return { device, payload, signature: sig.toString('base64url') };
}

export function verifyEnvelope(kind: MessageKind, fleetId: string, envelope: Envelope, key: KeyObject): boolean {
  const sig = Buffer.from(envelope.signature, 'base64url');
  if (sig.length !== 64) return false;
  return verify(null, signedBytes(kind, fleetId, envelope.payload), key, sig);
}

export type Health = 'ok' | 'degraded' | 'failed';

/** What an update step ended in, as the agent reports it (and as its OTA history says). */
export type ReportPhase = 'assigned' | 'downloading' | 'installing' | 'trial' | 'committed' | 'failed' | 'rolled-back' | 'reverted' | 'deferred';
export const REPORT_PHASES: readonly ReportPhase[] = ['assigned', 'downloading', 'installing', 'trial', 'committed', 'failed', 'rolled-back', 'reverted', 'deferred'];

export interface CheckinMessage {
  readonly seq: number;
  /** The device's clock (ms); informational — a Pi without an RTC may be far off. */
  readonly ts: number;
  readonly version: string;
  readonly arch: string;
  /** The slot the device runs (a/b), null without a slot layout. */
  readonly slot: string | null;
  readonly health: Health;
  readonly reasons?: readonly string[];
  /** The agent's last update outcome (its OTA history's newest entry). */
  readonly lastUpdate: { readonly version: string; readonly outcome: string; readonly reason: string; readonly at: number } | null;
  readonly freeDiskBytes: number | null;
  /** The assignment the agent is working on (or finished), with its phase. */
  readonly assignment?: { readonly id: string; readonly phase: ReportPhase; readonly reason?: string } | null;
}

export interface ReportMessage {
  readonly seq: number;
  readonly ts: number;
  readonly rolloutId: string;
  readonly assignmentId: string;
  readonly phase: ReportPhase;
  readonly version: string;
  readonly reason?: string;
}

export interface EnrollRequest {
  readonly token: string;
  readonly publicKey: string;
  readonly nodeId: string;
  readonly arch: string;
  readonly version: string;
  readonly name?: string;
  /** Ed25519 over signedBytes('enroll', fleetId, `${token}\n${nodeId}`). */
  readonly proof: string;
}

export const enrollProofPayload = (token: string, nodeId: string): string => `${token}\n${nodeId}`;

/** What the server answers a check-in with: what to do next. */
export interface Assignment {
  /** Stable per (rollout, attempt): the agent installs one assignment once. */
  readonly id: string;
  readonly rolloutId: string;
  /** `update`: install the release; `rollback`: return to the previous slot (a halted rollout asked it). */
  readonly kind: 'update' | 'rollback';
  readonly channel: string;
  readonly version: string;
  /** SHA-256 (hex) of the release document TUF signs; the agent refuses any other. */
  readonly releaseSha256: string;
  /** Where the agent reads the channel's TUF repository (metadata/, targets/), relative to the fleet URL. */
  readonly tufPath: string;
  readonly stage: number;
}

export interface CheckinAnswer {
  readonly fleetId: string;
  readonly serverTime: number;
  readonly nextCheckinS: number;
  readonly assignment: Assignment | null;
  /** Why no assignment now although the device has one waiting (maintenance window, paused). */
  readonly waiting: string | null;
}
