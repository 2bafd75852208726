// The shapes the UI reads, taken from the API's own response schemas (type-only: nothing of the
// server ends up in the browser bundle), so a schema change breaks the UI at typecheck time.
import type { Status } from '../schemas/status.js';
import type { SessionView } from '../../sessions/index.js';

export type { Status, SessionView };
export interface SessionList { sessions: SessionView[]; next: string | null }
export interface VerifyView { ok: boolean; chunkCount: number; bad: Array<{ index: number; reason: string }>; rootMatches: boolean | null; at: string; session: SessionView }
export type ChildStatus = Status['children'][number];
export type LedStatus = NonNullable<Status['led']>;
export type LedStep = LedStatus['steps'][number];
export type SystemStatus = Status['system'];
export type HalStatus = NonNullable<Status['hal']>;
export type ButtonEvent = NonNullable<Status['lastButtonEvent']>;
export type ButtonAction = 'short' | 'long' | 'factory-reset';

export interface Health {
  status: 'ok' | 'unavailable';
  reasons: string[];
}
