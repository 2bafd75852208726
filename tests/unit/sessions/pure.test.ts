// The pure parts of the sessions service: the state table, HTTP ranges, ids, the session lock.
import { describe, expect, it } from 'vitest';
import { SESSION_STATES, nextState, transition, allowedActions, ACTIONS, type SessionState } from '../../../services/sessions/state-machine.js';
import { parseRange } from '../../../services/sessions/range.js';
import { isSessionId, newSessionId } from '../../../services/sessions/ids.js';
import { SessionLocks } from '../../../services/sessions/session-lock.js';

describe('session state machine (DESIGN §2)', () => {
  const allowed: Record<SessionState, Record<string, SessionState>> = {
    created: { start: 'recording', quarantine: 'failed', delete: 'deleted' },
    recording: { pause: 'paused', stop: 'stopped', quarantine: 'failed', delete: 'deleted' },
    paused: { resume: 'recording', stop: 'stopped', quarantine: 'failed', delete: 'deleted' },
    stopped: { finalize: 'processing', quarantine: 'failed', delete: 'deleted' },
    processing: { complete: 'completed', fail: 'failed', quarantine: 'failed', delete: 'deleted' },
    completed: { delete: 'deleted' },
    failed: { finalize: 'processing', delete: 'deleted' },
    deleted: {},
  };
  it('allows exactly the documented transitions and refuses the rest with a coded 409', () => {
    for (const from of SESSION_STATES) {
      for (const action of ACTIONS) {
        const want = allowed[from][action] ?? null;
        expect(nextState(from, action), `${from} --${action}-->`).toBe(want);
        if (want === null) {
          expect(() => transition(from, action)).toThrow(expect.objectContaining({ code: 'SESS_ERR_INVALID_TRANSITION', statusCode: 409 }));
        }
      }
      expect(allowedActions(from).sort()).toEqual(Object.keys(allowed[from]).sort());
    }
  });
});

describe('HTTP Range', () => {
  it.each([
    [undefined, 100, { kind: 'full' }],
    ['bytes=0-9', 100, { kind: 'partial', start: 0, end: 10 }],
    ['bytes=90-', 100, { kind: 'partial', start: 90, end: 100 }],
    ['bytes=-10', 100, { kind: 'partial', start: 90, end: 100 }],
    ['bytes=-1000', 100, { kind: 'partial', start: 0, end: 100 }],
    ['bytes=50-5000', 100, { kind: 'partial', start: 50, end: 100 }],
    ['bytes=100-', 100, { kind: 'unsatisfiable' }],
    ['bytes=-0', 100, { kind: 'unsatisfiable' }],
    ['bytes=0-0', 0, { kind: 'unsatisfiable' }],
    ['bytes=9-3', 100, { kind: 'full' }],
    ['bytes=0-1,5-6', 100, { kind: 'full' }],
    ['items=0-1', 100, { kind: 'full' }],
    ['bytes=abc', 100, { kind: 'full' }],
    ['bytes=99999999999999999999-', 100, { kind: 'unsatisfiable' }],
  ] as const)('%s of %i', (header, total, want) => {
    expect(parseRange(header, total)).toEqual(want);
  });
});

describe('session ids', () => {
  it('are UUIDv7, sorting by creation time', () => {
    const a = newSessionId(1_700_000_000_000);
    const b = newSessionId(1_700_000_000_001);
    expect(isSessionId(a)).toBe(true);
    expect(a[14]).toBe('7');
    expect(['8', '9', 'a', 'b']).toContain(a[19]);
    expect(a < b).toBe(true);
    expect(isSessionId('../../etc/passwd')).toBe(false);
    expect(isSessionId(a.toUpperCase())).toBe(false);
  });
});

describe('session lock', () => {
  it('serialises holders in order and times a waiter out with SESS_ERR_BUSY', async () => {
    const locks = new SessionLocks();
    const order: string[] = [];
    const r1 = await locks.acquire('s', 1000);
    const p2 = locks.acquire('s', 1000).then((r) => { order.push('2'); return r; });
    const p3 = locks.acquire('s', 30);
    await expect(p3).rejects.toMatchObject({ code: 'SESS_ERR_BUSY' });
    order.push('1');
    r1();
    const r2 = await p2;
    expect(order).toEqual(['1', '2']);
    expect(locks.isBusy('s')).toBe(true);
    r2();
    r2(); // idempotent
    const r4 = await locks.acquire('s', 10); // the timed-out waiter passed its turn on
    r4();
    expect(locks.isBusy('s')).toBe(false);
  });
});
