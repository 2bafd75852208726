// The session lifecycle of DESIGN §2, as a pure table:
//   created → recording ⇄ paused → stopped → processing → completed | failed
// `deleted` is a tombstone reachable from every other state. `failed` may be finalized again.
// `quarantine` (recovery's, never a client's) sends any open state to `failed` when startup
// finds the session's data damaged (recovery.ts); the rest of the appliance starts regardless.
// Everything that changes a session's state asks `transition()` first; a refusal is a 409.
import { LucidError } from '../common/errors.js';

export const SESSION_STATES = ['created', 'recording', 'paused', 'stopped', 'processing', 'completed', 'failed', 'deleted'] as const;
export type SessionState = (typeof SESSION_STATES)[number];

export const ACTIONS = ['start', 'pause', 'resume', 'stop', 'finalize', 'complete', 'fail', 'quarantine', 'delete'] as const;
export type SessionAction = (typeof ACTIONS)[number];
/** The actions a client asks for by URL (`complete` and `fail` are the pipeline's). */
export const CLIENT_ACTIONS = ['start', 'pause', 'resume', 'stop'] as const;
export type ClientAction = (typeof CLIENT_ACTIONS)[number];

const TABLE: Readonly<Record<SessionState, Partial<Record<SessionAction, SessionState>>>> = {
  created: { start: 'recording', quarantine: 'failed', delete: 'deleted' },
  recording: { pause: 'paused', stop: 'stopped', quarantine: 'failed', delete: 'deleted' },
  paused: { resume: 'recording', stop: 'stopped', quarantine: 'failed', delete: 'deleted' },
  stopped: { finalize: 'processing', quarantine: 'failed', delete: 'deleted' },
  processing: { complete: 'completed', fail: 'failed', quarantine: 'failed', delete: 'deleted' },
  completed: { delete: 'deleted' },
  failed: { finalize: 'processing', delete: 'deleted' },
  deleted: {},
};

/** The next state, or null when the action is not allowed from `from`. */
export function nextState(from: SessionState, action: SessionAction): SessionState | null {
  return TABLE[from][action] ?? null;
}

export function transition(from: SessionState, action: SessionAction): SessionState {
  const to = nextState(from, action);
  if (to === null) {
    throw new LucidError('SESS_ERR_INVALID_TRANSITION', `cannot ${action} a session that is ${from}`, { state: from, action, allowed: allowedActions(from) });
  }
  return to;
}

export function allowedActions(from: SessionState): SessionAction[] {
  return Object.keys(TABLE[from]) as SessionAction[];
}

/** States whose sessions recovery must look at after a crash (data may be half-written). */
export function isOpen(state: SessionState): boolean {
  return state !== 'completed' && state !== 'deleted';
}

/** Data may be appended only while recording. */
export function acceptsData(state: SessionState): boolean {
  return state === 'recording';
}
