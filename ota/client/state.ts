// The agent's persisted state (`<data>/ota/state.json`): written atomically and fsynced before
// every transition (mender's rule), read by whichever version of the agent starts next — the old
// one after a rollback, the new one on trial — so the shape is versioned and stays compatible.
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../services/common/fs-atomic.js';
import type { ReleaseDoc } from '../shared/release/release-doc.js';
import type { OtaError, OtaHistoryEntry, OtaPhase } from '../shared/status.js';
import type { SlotName } from './slots/slot-store.js';

export type JobSource = { readonly kind: 'online' } | { readonly kind: 'bundle'; readonly path: string } | { readonly kind: 'previous-slot' };

export interface Job {
  readonly id: string;
  readonly kind: 'update' | 'rollback';
  readonly version: string;
  readonly fromVersion: string;
  readonly source: JobSource;
  /** The verified release document (null for a rollback to the previous slot). */
  readonly release: ReleaseDoc | null;
  readonly slot: SlotName;
  readonly startedAt: number;
  readonly progress: { readonly done: number; readonly total: number; readonly transferred: number };
  /** The last transient error and when to try again. */
  readonly error: OtaError | null;
  readonly retryAt: number | null;
  readonly attempts: number;
  /** Set by the agent that runs the trial: when it started watching the gate. */
  readonly trialSeenAt: number | null;
}

export interface Available {
  readonly release: ReleaseDoc;
  readonly source: JobSource;
  readonly foundAt: number;
  readonly missingBytes: number | null;
}

export interface AgentState {
  readonly schema: 1;
  readonly seq: number;
  readonly phase: OtaPhase;
  readonly job: Job | null;
  readonly available: Available | null;
  readonly lastCheck: { readonly at: number; readonly source: 'online' | 'bundle'; readonly error: OtaError | null } | null;
  /** The intact previously committed version, for "roll back to previous". */
  readonly previous: { readonly slot: SlotName; readonly version: string } | null;
  /** Versions automatic installs skip (rolled back, or left by an admin rollback). */
  readonly blocked: readonly string[];
  readonly history: readonly OtaHistoryEntry[];
}

export const HISTORY_MAX = 50;

export function initialState(): AgentState {
  return { schema: 1, seq: 0, phase: 'idle', job: null, available: null, lastCheck: null, previous: null, blocked: [], history: [] };
}

export class StateStore {
  constructor(readonly file: string) {}

  async read(): Promise<AgentState> {
    try {
      const raw = JSON.parse(await readFile(this.file, 'utf8')) as AgentState;
      if (raw.schema === 1 && typeof raw.phase === 'string' && Array.isArray(raw.history)) return { ...initialState(), ...raw };
    } catch { /* first start, or unreadable: start idle (the host state still tells what runs) */ }
    return initialState();
  }

  /** Persists `next` (seq + 1) durably; returns what was written. */
  async write(next: AgentState): Promise<AgentState> {
    const out = { ...next, seq: next.seq + 1 };
    await writeFileAtomic(this.file, `${JSON.stringify(out)}\n`);
    return out;
  }
}

export function withHistory(state: AgentState, entry: OtaHistoryEntry): AgentState {
  return { ...state, history: [entry, ...state.history.filter((h) => h.id !== entry.id)].slice(0, HISTORY_MAX) };
}
