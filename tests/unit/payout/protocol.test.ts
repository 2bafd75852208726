// The protocol's own checks, before any op runs: version, envelope and argument schemas
// (strict: no extra fields), the replay guard's id memory and clock window.
import { describe, expect, it } from 'vitest';
import { ReplayGuard, parseRequest, OPS, CLOCK_WINDOW_MS } from '../../../services/payout/protocol.js';

const env = (over: Record<string, unknown> = {}): Record<string, unknown> => ({ v: 1, id: '00000000-0000-4000-8000-000000000001', at: 1000, op: 'status', args: {}, ...over });
const code = (f: () => unknown): string => { try { f(); return 'ok'; } catch (e) { return (e as { code: string }).code; } };

describe('payout protocol', () => {
  it('accepts a well-formed request of every op with minimal valid arguments', () => {
    expect(parseRequest(env()).op).toBe('status');
    expect(parseRequest(env({ op: 'payout.request', args: { epoch: 1, operator: 'ab'.repeat(32) } })).op).toBe('payout.request');
    expect(Object.keys(OPS)).toContain('payout.approve');
  });

  it('refuses other versions, unknown ops, extra or missing fields, wrong types', () => {
    expect(code(() => parseRequest(env({ v: 2 })))).toBe('PAYOUT_ERR_IPC_VERSION');
    expect(code(() => parseRequest(env({ op: 'payout.sign' })))).toBe('PAYOUT_ERR_IPC_SCHEMA');
    expect(code(() => parseRequest(env({ extra: true })))).toBe('PAYOUT_ERR_IPC_SCHEMA');
    expect(code(() => parseRequest({ v: 1, op: 'status', args: {} }))).toBe('PAYOUT_ERR_IPC_SCHEMA');
    expect(code(() => parseRequest(env({ op: 'payout.request', args: { epoch: '1', operator: 'ab'.repeat(32) } })))).toBe('PAYOUT_ERR_IPC_SCHEMA');
    expect(code(() => parseRequest(env({ op: 'payout.request', args: { epoch: 1, operator: 'AB'.repeat(32) } })))).toBe('PAYOUT_ERR_IPC_SCHEMA');
    expect(code(() => parseRequest(env({ op: 'statement.submit', args: { chainId: 'c', epoch: 1, pool: '1.5', operators: [] } })))).toBe('PAYOUT_ERR_IPC_SCHEMA');
    expect(code(() => parseRequest(env({ op: 'address.change', args: { operator: 'ab'.repeat(32), to: 'T1', version: 1, signatures: ['00'] } })))).toBe('PAYOUT_ERR_IPC_SCHEMA');
    expect(code(() => parseRequest(null))).toBe('PAYOUT_ERR_IPC_SCHEMA');
  });

  it('the replay guard takes an id once, and only timestamps inside the window and after the start', () => {
    let now = 100_000_000;
    const guard = new ReplayGuard(now, () => now);
    const e = parseRequest(env({ at: now })).envelope;
    guard.check(e);
    expect(code(() => guard.check(e))).toBe('PAYOUT_ERR_IPC_REPLAY');
    expect(code(() => guard.check({ ...e, id: '00000000-0000-4000-8000-000000000002', at: now - 5000 }))).toBe('PAYOUT_ERR_IPC_REPLAY');
    now += 60_000;
    expect(code(() => guard.check({ ...e, id: '00000000-0000-4000-8000-000000000003', at: now - CLOCK_WINDOW_MS - 1 }))).toBe('PAYOUT_ERR_IPC_REPLAY');
    expect(code(() => guard.check({ ...e, id: '00000000-0000-4000-8000-000000000004', at: now + CLOCK_WINDOW_MS + 1 }))).toBe('PAYOUT_ERR_IPC_REPLAY');
    expect(code(() => guard.check({ ...e, id: '00000000-0000-4000-8000-000000000005', at: now }))).toBe('ok');
  });
});
