// The device's fleet enrollment (`<data>/ota/fleet.json`): fleet and device ids, the certificate
// pin, the message counter and the assignment being worked on. Written atomically and fsynced
// (writeFileAtomic) before anything that depends on it is sent: the pin before the first
// check-in, the counter before each message (a counter behind the server's costs one refused
// message and a resync from details.lastSeq; a pin lost would reopen trust on first use).
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../../services/common/fs-atomic.js';
import type { ReportPhase } from '../../shared/fleet-protocol.js';

export interface FleetAssignmentRecord {
  readonly id: string;
  readonly rolloutId: string;
  readonly kind: 'update' | 'rollback';
  readonly version: string;
  /** The agent's job for it (null until started, or when nothing had to be done). */
  readonly jobId: string | null;
  readonly phase: ReportPhase;
  readonly reason: string | null;
  /** The last phase the server accepted a report of. */
  readonly reported: ReportPhase | null;
}

export interface FleetEnrollment {
  readonly schema: 1;
  readonly url: string;
  readonly fleetId: string;
  readonly deviceId: string;
  /** base64url SHA-256 of the fleet certificate's SPKI; null only for http on loopback. */
  readonly pin: string | null;
  readonly pinSource: 'token' | 'first-use' | 'none';
  readonly enrolledAt: number;
  readonly seq: number;
  readonly current: FleetAssignmentRecord | null;
}

export class EnrollmentStore {
  constructor(readonly file: string) {}

  async read(): Promise<FleetEnrollment | null> {
    try {
      const raw = JSON.parse(await readFile(this.file, 'utf8')) as FleetEnrollment;
      if (raw.schema === 1 && typeof raw.url === 'string' && typeof raw.fleetId === 'string' && Number.isSafeInteger(raw.seq)) return raw;
    } catch { /* not enrolled */ }
    return null;
  }

  async write(e: FleetEnrollment): Promise<FleetEnrollment> {
    await writeFileAtomic(this.file, `${JSON.stringify(e)}\n`);
    return e;
  }
}
