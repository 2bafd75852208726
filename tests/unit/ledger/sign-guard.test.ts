// The double-sign guard: its rules, its file format under torn writes and corruption, rotation,
// and a real kill -9 of a process that signs in a loop (every message it reported as sent must
// be covered by the log it leaves behind).
import { describe, expect, it, afterEach } from 'vitest';
import { mkdtempSync, rmSync, statSync, readFileSync, writeFileSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { compareSteps, MemoryGuardStorage, SignGuard, SIGN_STEP, type SignRequest } from '../../../services/ledger/consensus/sign-guard.js';
import { FileGuardStorage, GUARD_RECORD_BYTES } from '../../../services/ledger/consensus/guard-file.js';
import { isLucidError } from '../../../services/common/errors.js';

const signFn = (b: Uint8Array): Buffer => Buffer.concat([Buffer.from(b).subarray(0, 32), Buffer.alloc(64)]).subarray(0, 64);
const req = (height: number, round: number, step: 0 | 1 | 2, body = 'x', lock: { r: number; id: string | null } = { r: -1, id: null }): SignRequest => ({
  height, round, step, signBytes: Buffer.from(`${height}/${round}/${step}/${body}`), lockedRound: lock.r, lockedId: lock.id,
});

const dirs: string[] = [];
const tmp = (): string => { const d = mkdtempSync(join(tmpdir(), 'lucid-guard-')); dirs.push(d); return d; };
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

describe('double-sign guard', () => {
  it('signs strictly later steps, repeats the same message, refuses a different one and anything earlier', () => {
    const g = new SignGuard(new MemoryGuardStorage(), signFn);
    expect(g.sign(req(5, 0, SIGN_STEP.prevote)).kind).toBe('signed');
    expect(g.sign(req(5, 0, SIGN_STEP.prevote)).kind).toBe('repeat');
    const c = g.sign(req(5, 0, SIGN_STEP.prevote, 'other'));
    expect(c.kind).toBe('conflict');
    expect(c.kind === 'conflict' && c.record.signBytes.toString()).toBe('5/0/1/x');
    expect(g.sign(req(5, 0, SIGN_STEP.proposal)).kind).toBe('refused');
    expect(g.sign(req(4, 9, SIGN_STEP.precommit)).kind).toBe('refused');
    expect(g.sign(req(5, 0, SIGN_STEP.precommit)).kind).toBe('signed');
    expect(g.sign(req(5, 1, SIGN_STEP.proposal)).kind).toBe('signed');
    expect(g.signedAt(5)).toHaveLength(3);
    expect(g.sign(req(6, 0, SIGN_STEP.prevote)).kind).toBe('signed');
    expect(g.signedAt(5)).toHaveLength(0);
    expect(compareSteps({ height: 1, round: 2, step: 0 }, { height: 1, round: 1, step: 2 })).toBeGreaterThan(0);
  });

  it('a restarted guard (same file) keeps every record of the height, the lock and the locked block', () => {
    const dir = tmp();
    const g = new SignGuard(new FileGuardStorage(dir), signFn);
    g.sign(req(3, 0, 1));
    g.sign(req(4, 0, 1));
    g.sign({ ...req(4, 0, 2, 'v', { r: 0, id: 'ab'.repeat(32) }), lockedBlock: Buffer.from('the locked block') });
    g.sign(req(4, 1, 1, 'nil', { r: 0, id: 'ab'.repeat(32) }));
    const again = new SignGuard(new FileGuardStorage(dir), signFn);
    expect(again.signedAt(4).map((r) => r.signBytes.toString())).toEqual(['4/0/1/x', '4/0/2/v', '4/1/1/nil']);
    expect(again.last?.lockedId).toBe('ab'.repeat(32));
    expect(again.lockedBlock?.toString()).toBe('the locked block');
    expect(again.sign(req(4, 0, 2, 'w')).kind).toBe('refused');
    expect(again.sign(req(4, 1, 1, 'other')).kind).toBe('conflict');
  });

  it('a torn last record is ignored (its message never left); damage before intact records refuses to start', () => {
    const dir = tmp();
    const g = new SignGuard(new FileGuardStorage(dir), signFn);
    g.sign(req(7, 0, 1));
    g.sign(req(7, 0, 2));
    const file = join(dir, 'sign-log.bin');
    truncateSync(file, GUARD_RECORD_BYTES + 100); // the second record half-written
    const torn = new SignGuard(new FileGuardStorage(dir), signFn);
    expect(torn.last?.step).toBe(1);
    expect(torn.sign(req(7, 0, 2, 'again')).kind).toBe('signed'); // overwrites the torn tail
    expect(statSync(file).size).toBe(2 * GUARD_RECORD_BYTES);
    const bytes = readFileSync(file);
    bytes[10] = bytes[10]! ^ 0xff; // damage the first record, the second stays intact
    writeFileSync(file, bytes);
    let err: unknown;
    try { new SignGuard(new FileGuardStorage(dir), signFn); } catch (e) { err = e; }
    expect(isLucidError(err, 'LEDGER_ERR_SIGN_GUARD')).toBe(true);
  });

  it('rotates the log at a new height once it is long', () => {
    const dir = tmp();
    const g = new SignGuard(new FileGuardStorage(dir), signFn);
    for (let h = 1; h <= 100; h++) for (const s of [0, 1, 2] as const) g.sign(req(h, 0, s));
    expect(statSync(join(dir, 'sign-log.bin')).size).toBeLessThan(300 * GUARD_RECORD_BYTES);
    expect(statSync(join(dir, 'sign-log.bin')).size).toBeLessThanOrEqual(256 * GUARD_RECORD_BYTES);
    const again = new SignGuard(new FileGuardStorage(dir), signFn);
    expect(again.last).toMatchObject({ height: 100, step: 2 });
    expect(again.signedAt(100)).toHaveLength(3);
  });

  it('kill -9 while signing in a loop: everything reported sent is in the log', async () => {
    const dir = tmp();
    const script = `
      import { SignGuard } from ${JSON.stringify(new URL('../../../services/ledger/consensus/sign-guard.ts', import.meta.url).pathname)};
      import { FileGuardStorage } from ${JSON.stringify(new URL('../../../services/ledger/consensus/guard-file.ts', import.meta.url).pathname)};
      const g = new SignGuard(new FileGuardStorage(${JSON.stringify(dir)}), (b) => Buffer.alloc(64, 1));
      for (let h = 1; ; h++) for (const s of [0, 1, 2]) {
        const r = g.sign({ height: h, round: 0, step: s, signBytes: Buffer.from(h + '/' + s), lockedRound: -1, lockedId: null });
        if (r.kind === 'signed') process.stdout.write('sent ' + h + ' ' + s + '\\n');
      }`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    await new Promise<void>((resolve) => { const t = setInterval(() => { if (out.split('\n').length > 200) { clearInterval(t); resolve(); } }, 20); });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const sent = out.trim().split('\n').filter((l) => l.startsWith('sent ')).map((l) => l.split(' ').slice(1).map(Number));
    const lastSent = sent[sent.length - 1]!;
    const g = new SignGuard(new FileGuardStorage(dir), signFn);
    expect(compareSteps(g.last!, { height: lastSent[0]!, round: 0, step: lastSent[1]! })).toBeGreaterThanOrEqual(0);
    // Nothing sent can be signed differently now.
    expect(g.sign({ ...req(lastSent[0]!, 0, lastSent[1]! as 0), signBytes: Buffer.from('different') }).kind).not.toBe('signed');
  });
});
