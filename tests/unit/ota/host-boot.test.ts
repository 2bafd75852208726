// The host step (ota/host/lucid-ota-boot.sh) run the way systemd runs it — as root, before each
// start — on a slot layout in a temp folder, read back through the agent's HostFiles. Trial boots
// are counted, a commit or a failed gate settles the trial, N boots without a commit roll back,
// invalid requests are refused, and nothing the agent wrote makes root touch files outside.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostFiles } from '../../../ota/client/slots/host-state.js';
import { ROOT } from '../../helpers/appliance.js';

const SCRIPT = join(ROOT, 'ota/host/lucid-ota-boot.sh');
const isRoot = process.getuid?.() === 0;
let root: string;
let host: HostFiles;
let now: number;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'lucid-host-'));
  host = new HostFiles(root, join(root, 'data'));
  mkdirSync(host.requestsDir, { recursive: true });
  now = 1_800_000_000;
  run('init', 'a');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function run(...args: string[]): string {
  const res = spawnSync('sh', [SCRIPT, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH']!, LUCID_OTA_ROOT: root, LUCID_OTA_NOW: String(now), LUCID_OTA_RESTART_CMD: '', LUCID_OTA_AGENT_OWNER: isRoot ? '65532:65532' : `${process.getuid!()}:${process.getgid!()}`, LUCID_OTA_TRIAL_TIMEOUT_S: '600' },
  });
  if (res.status !== 0) throw new Error(`lucid-ota-boot.sh ${args.join(' ')} → ${res.status}: ${res.stderr}`);
  return res.stdout;
}

function stage(slot: 'a' | 'b', id: string): void {
  mkdirSync(join(root, 'slots', slot, 'rootfs/app'), { recursive: true });
  mkdirSync(join(root, 'slots', slot, 'rootfs/data'), { recursive: true });
  writeFileSync(join(root, 'slots', slot, 'rootfs/app/x'), id);
  writeFileSync(join(root, 'slots', slot, 'owners'), '65532 65532 700 data\n');
  writeFileSync(join(root, 'slots', slot, 'ready'), `id=${id}\n`);
}
const active = (): string => readlinkSync(join(root, 'active'));

describe('lucid-ota-boot.sh', () => {
  it('init makes slot a the committed one and points active at it', async () => {
    expect(active()).toBe('slots/a');
    expect(await host.state()).toMatchObject({ committed: 'a', trial: null, boots: 0, last: null });
  });

  it('boots a requested trial, counts its boots, and commits when the agent says so', async () => {
    stage('b', 'job-1');
    await host.requestTrial('b', 'job-1', '2.0.0');
    run('start');
    expect(active()).toBe('slots/b');
    expect(await host.state()).toMatchObject({ committed: 'a', trial: 'b', trialId: 'job-1', trialVersion: '2.0.0', boots: 1 });
    expect(existsSync(join(host.requestsDir, 'trial'))).toBe(false);
    if (isRoot) {
      // Sealed: the tree is root's, with the image's exceptions applied.
      expect(statSync(join(root, 'slots/b/rootfs/app/x')).uid).toBe(0);
      expect(statSync(join(root, 'slots/b/rootfs/data')).uid).toBe(65532);
      expect(statSync(join(root, 'slots/b/rootfs/data')).mode & 0o7777).toBe(0o700);
    }
    run('start');
    expect((await host.state())!.boots).toBe(2);
    await host.requestCommit('job-1');
    run('start');
    expect(active()).toBe('slots/b');
    const s = (await host.state())!;
    expect(s).toMatchObject({ committed: 'b', trial: null, boots: 0, last: { id: 'job-1', outcome: 'committed', version: '2.0.0' } });
    expect((await host.history()).at(-1)).toMatchObject({ id: 'job-1', outcome: 'committed', slot: 'b', boots: 2 });
    // The old slot goes to the agent for the next update.
    expect(existsSync(join(root, 'slots/a/ready'))).toBe(false);
    if (isRoot) expect(statSync(join(root, 'slots/a')).uid).toBe(65532);
  });

  it('rolls back after max boots without a commit (a crash loop), and on a failed gate with its reason', async () => {
    stage('b', 'job-2');
    await host.requestTrial('b', 'job-2', '3.0.0');
    for (let i = 1; i <= 3; i++) {
      run('start');
      expect(active()).toBe('slots/b');
      expect((await host.state())!.boots).toBe(i);
    }
    run('start');
    expect(active()).toBe('slots/a');
    expect((await host.state())!.last).toMatchObject({ id: 'job-2', outcome: 'rolled-back', reason: 'no commit after 3 boots (crash loop or failed start)' });

    stage('b', 'job-3');
    await host.requestTrial('b', 'job-3', '3.0.1');
    run('start');
    await host.requestFail('job-3', 'selftest failed: addon:classic-level\nsecond line');
    run('start');
    expect(active()).toBe('slots/a');
    expect((await host.state())!.last).toMatchObject({ id: 'job-3', outcome: 'rolled-back', reason: 'selftest failed: addon:classic-level second line' });
  });

  it('ignores a fail or commit for another trial id', async () => {
    stage('b', 'job-4');
    await host.requestTrial('b', 'job-4', '4.0.0');
    run('start');
    await host.requestCommit('job-0');
    await host.requestFail('other', 'x');
    run('start');
    expect(await host.state()).toMatchObject({ trial: 'b', boots: 2, last: null });
  });

  it('refuses invalid trial requests: slot not ready, the active slot, a bad id', async () => {
    await host.requestTrial('b', 'job-5', '5.0.0'); // nothing staged
    run('start');
    expect(active()).toBe('slots/a');
    expect(existsSync(join(host.requestsDir, 'trial.invalid'))).toBe(true);
    stage('a', 'job-6');
    await host.requestTrial('a', 'job-6', '6.0.0');
    run('start');
    expect((await host.state())!.trial).toBeNull();
    stage('b', 'bad id;rm');
    writeFileSync(join(host.requestsDir, 'trial'), 'slot=b\nid=bad id;rm\nversion=1.0.0\n');
    run('start');
    expect((await host.state())!.trial).toBeNull();
  });

  it('watch: records a commit while the appliance runs, and ends a trial that never reports (restart)', async () => {
    stage('b', 'job-7');
    await host.requestTrial('b', 'job-7', '7.0.0');
    run('start');
    expect(run('watch')).toBe('');
    await host.requestCommit('job-7');
    expect(run('watch')).toBe('');
    expect(await host.state()).toMatchObject({ committed: 'b', trial: null, last: { outcome: 'committed' } });

    stage('a', 'job-8');
    await host.requestTrial('a', 'job-8', '8.0.0');
    run('start');
    now += 601;
    expect(run('watch')).toBe('restart\n');
    expect((await host.state())!.last).toMatchObject({ id: 'job-8', outcome: 'rolled-back', reason: 'no commit within 600 s of the trial start' });
    run('start');
    expect(active()).toBe('slots/b');
  });

  it.runIf(isRoot)('never follows a symlink the agent planted: owners lines through links are skipped', () => {
    const outside = mkdtempSync(join(tmpdir(), 'lucid-outside-'));
    try {
      writeFileSync(join(outside, 'victim'), 'x');
      stage('b', 'job-9');
      symlinkSync(outside, join(root, 'slots/b/rootfs/evil'));
      writeFileSync(join(root, 'slots/b/owners'), `65532 65532 4755 evil/victim\n65532 65532 700 data\n65532 65532 777 ../../../${outside.slice(1)}/victim\n`);
      writeFileSync(join(host.requestsDir, 'trial'), 'slot=b\nid=job-9\nversion=9.0.0\n');
      run('start');
      expect(statSync(join(outside, 'victim')).uid).toBe(0);
      expect(statSync(join(outside, 'victim')).mode & 0o7777).toBe(0o644);
      expect(lstatSync(join(root, 'slots/b/rootfs/evil')).uid).toBe(0);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('passes shellcheck-level sanity: sh -n, and no bashisms under dash', () => {
    execFileSync('sh', ['-n', SCRIPT]);
    expect(readFileSync(SCRIPT, 'utf8').startsWith('#!/bin/sh')).toBe(true);
  });
});
