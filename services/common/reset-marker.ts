// The factory reset's hand-over between the supervisor and core: the supervisor, which owns the
// button, writes `<data>/factory-reset` (durably) once the reset is confirmed, then restarts
// core; core performs the reset at its next start, before it serves anything, audits it and
// removes the file last. A power cut anywhere in between leaves the file, so the next start
// finishes the job (every step is idempotent). What the reset erases and keeps:
// appliance/README.md "Factory reset".
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from './errors.js';
import { fsyncDir, writeFileAtomic } from './fs-atomic.js';

export const RESET_MARKER_FILE = 'factory-reset';

export interface ResetRequest {
  readonly v: 1;
  /** `button` (the GPIO button) or `simulated-button` (the simulated HAL: API or IPC). */
  readonly via: 'button' | 'simulated-button';
  /** Epoch ms of the ≥ 10 s press and of the confirming press. */
  readonly armedAt: number;
  readonly confirmedAt: number;
}

export async function writeResetMarker(dataDir: string, request: ResetRequest): Promise<void> {
  await writeFileAtomic(join(dataDir, RESET_MARKER_FILE), `${JSON.stringify(request)}\n`, { mode: 0o600 });
}

/**
 * The pending request, or null. A marker that cannot be parsed (a torn write is impossible, but a
 * person may have made one by hand) still asks for the reset: its presence is the request.
 */
export async function readResetMarker(dataDir: string): Promise<ResetRequest | null> {
  let text: string;
  try {
    text = await readFile(join(dataDir, RESET_MARKER_FILE), 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
  try {
    const r = JSON.parse(text) as Partial<ResetRequest>;
    if (r && (r.via === 'button' || r.via === 'simulated-button') && Number.isFinite(r.armedAt) && Number.isFinite(r.confirmedAt)) {
      return { v: 1, via: r.via, armedAt: r.armedAt!, confirmedAt: r.confirmedAt! };
    }
  } catch { /* below */ }
  return { v: 1, via: 'button', armedAt: 0, confirmedAt: 0 };
}

export async function clearResetMarker(dataDir: string): Promise<void> {
  try {
    await unlink(join(dataDir, RESET_MARKER_FILE));
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
    return;
  }
  await fsyncDir(dataDir);
}
