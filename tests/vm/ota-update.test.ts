// OTA in the VM bed (issue 21 §5): the .deb installed on Debian 12 under real systemd, then
// updated from signed offline bundles uploaded through the forwarded port (the Updates page's
// call; the guest's network reaches nothing else). v2 goes into slot b, boots on trial through
// the package's own host step (lucid-slot prestart → lucid-ota-boot start), passes its health
// gate and is committed by the watch timer; v3, whose self-test fails, is rolled back to v2 by
// itself with the reason shown; v4, whose supervisor cannot start, is rolled back by the host
// step's boot count. Then the faults: one update each with a power cut (SIGKILL of qemu) at every
// OTA state in turn, one with kill -9 of the agent at every state, one with kill -9 of the
// supervisor at every state — each ends committed and healthy on the new version. One guest (one
// apt install) for the file; the power cuts boot it again on the same disk. The figures (apply +
// commit, rollback) are printed as `[vm ota] {…}` and recorded in ota/README.md.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, linkSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { debBuild, type DebFixture } from '../helpers/deb-build.js';
import { createReleaseEnv, type ReleaseEnv, type TestRelease } from '../helpers/ota-releases.js';
import { parseKeyValues } from '../../ota/client/slots/host-state.js';
import type { OtaStatus } from '../../ota/shared/status.js';
import { ROOT } from '../helpers/appliance.js';
import { FullGuest, type PinnedHttps } from './harness/index.js';
import { getJson, guestAdminToken } from './harness/appliance-api.js';
import { waitUnitActive } from './harness/systemd.js';

const UNIT = 'lucid-appliance.service';
const SOAK_S = 10;
let fx: DebFixture;
let env: ReleaseEnv;
let v2: TestRelease;
let v3: TestRelease;
let share: string;
let g: FullGuest;
let token = '';
const times: Record<string, number> = {};
const seconds = (since: number): number => Math.round((performance.now() - since) / 100) / 10;
const t0 = performance.now();
/** Progress on stderr as it happens (a run takes many minutes under emulation). */
const step = (what: string): void => { process.stderr.write(`[vm ota] +${seconds(t0)} s ${what}\n`); };

// Site settings: the test repository's root as the trust anchor (the image ships the production
// one), a short soak, and room for emulation (Node runs ~8× slower under TCG, tests/vm/README.md).
// A test child, `finalizer`, holds the update lock while /data/hold-update-lock exists, as a
// finalize in progress would: that keeps the agent in `staged` until the fault has struck.
const siteEnv = [
  'LUCID_HEARTBEAT_MS=10000', 'LUCID_OTA_TRUST_ROOT=/data/ota-test-root.json', `LUCID_OTA_SOAK_S=${SOAK_S}`,
  'LUCID_OTA_HEALTH_TIMEOUT_S=900', 'LUCID_OTA_AUTO_INSTALL=off',
  `LUCID_EXTRA_CHILDREN='${JSON.stringify([{ name: 'finalizer', entry: '/data/test-children/ota-lock-holder.mjs' }])}'`, '',
].join('\n');
const PHASES = ['fetching', 'staging', 'staged', 'switching', 'trial'] as const;

const hostState = async (): Promise<Record<string, string>> => parseKeyValues(await g.run('cat /var/lib/lucid/boot/state'));
const setupCode = async (): Promise<string | null> => {
  const r = await g.exec('cat /var/lib/lucid/data/setup-code');
  return r.code === 0 ? r.stdout.trim() : null;
};
const ota = async (): Promise<OtaStatus | null> => {
  try {
    const r = await getJson<OtaStatus>(g.https!, '/api/v1/ota', token);
    if (r.status === 401) token = await guestAdminToken(g.https!, setupCode);
    return r.status === 200 ? r.body : null;
  } catch {
    return null; // restarting
  }
};
async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs: number, everyMs = 2000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => null);
    if (v) {
      step(what);
      return v;
    }
    if (Date.now() > until) {
      const log = await g.exec(`cat /var/lib/lucid/boot/state /var/lib/lucid/data/ota/state.json; ls -l /var/lib/lucid/data/ota/host /var/lib/lucid/data/hold-update-lock
        cat /run/lucid-fault/hits; journalctl -u lucid-fault-watch.service --no-pager -n 40 -o short-precise
        journalctl -u ${UNIT} -u lucid-appliance-slot.service -u lucid-ota-watch.service --no-pager -n 80`).catch(() => null);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${log?.stdout ?? ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
/** Uploads a bundle through the forwarded HTTPS port (certificate pinned) and asks for its install (PUT /api/v1/ota/bundle?install=true). */
async function uploadBundle(release: TestRelease): Promise<{ status: number; body: any }> {
  const file = await env.bundle(release, join(env.dir, `${release.version}.lucid-bundle`), { architectures: ['amd64'] });
  const put = (): ReturnType<PinnedHttps['fetch']> => g.https!.fetch('/api/v1/ota/bundle?install=true', {
    method: 'PUT', body: readFileSync(file), headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
    signal: AbortSignal.timeout(600_000),
  });
  let res = await put();
  if (res.status === 401) { // the 15-minute access token ran out during a long step: log in again
    await res.body?.cancel();
    token = await guestAdminToken(g.https!, setupCode);
    res = await put();
  }
  return { status: res.status, body: await res.json() };
}
/** Running `version` from the committed slot, healthy, no trial left in the host's state. */
const committed = (version: string) => async (): Promise<OtaStatus | null> => {
  const host = await hostState();
  if (host['trial'] !== '') return null;
  const s = await ota();
  return s && s.version === version && s.slot === host['committed'] && s.phase === 'idle' ? s : null;
};

beforeAll(async () => {
  fx = await debBuild();
  env = await createReleaseEnv();
  v2 = await env.build('2.0.0');
  v3 = await env.build('3.0.0', { fault: 'selftest-fails' });
  share = mkdtempSync(join(tmpdir(), 'lucid-vm-ota-'));
  linkSync(fx.debs.amd64.file, join(share, basename(fx.debs.amd64.file)));
  copyFileSync(env.rootJson, join(share, 'root.json'));
  for (const f of ['ota-lock-holder.mjs', 'child-kit.mjs']) copyFileSync(join(ROOT, 'tests/fixtures/children', f), join(share, f));
  copyFileSync(join(ROOT, 'tests/vm/guest/ota-fault-watch.sh'), join(share, 'ota-fault-watch.sh'));
  writeFileSync(join(share, 'fault-plan'), 'none\n');
  g = await FullGuest.create({ name: 'ota', share });
  times['bootToAgentS'] = (await g.boot()).agent;
}, 40 * 60_000);

afterAll(async () => {
  console.log(`[vm ota] ${JSON.stringify(times)}`);
  await g?.dispose();
  await env?.stop();
  if (share) rmSync(share, { recursive: true, force: true });
});

describe.sequential('OTA on Debian 12 with systemd: the .deb, a bundle update and a rollback (VM)', () => {
  it('the .deb installs the OTA host side: slot a committed in boot/state, the watch timer on, the agent sees both slots', async () => {
    // The data folder as postinst would make it, with the test repository's root inside (read-only to the appliance).
    await g.run(`install -d -m 0700 -o 65532 -g 65532 /var/lib/lucid/data /var/lib/lucid/data/test-children && install -m 0644 /mnt/host/root.json /var/lib/lucid/data/ota-test-root.json
      install -m 0644 -o 65532 -g 65532 /mnt/host/ota-lock-holder.mjs /mnt/host/child-kit.mjs /var/lib/lucid/data/test-children/
      mkdir -p /etc/lucid && cat > /etc/lucid/appliance.env <<'EOF'\n${siteEnv}EOF`);
    const started = performance.now();
    const out = await g.run(`DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Options::=--force-confold /mnt/host/${basename(fx.debs.amd64.file)} 2>&1`, 1_200_000);
    times['installS'] = seconds(started);
    step('apt install returned');
    expect(out).toContain('lucid-slot: installed');
    await waitUnitActive(g, UNIT, 900_000);
    await g.waitHealthy(600_000);
    expect(await hostState()).toMatchObject({ committed: 'a', trial: '', boots: '0' });
    expect((await g.run('readlink /var/lib/lucid/active')).trim()).toBe('slots/a');
    expect((await g.run('stat -c %u /var/lib/lucid/slots/b')).trim()).toBe('65532'); // the agent's to write
    expect((await g.run('systemctl is-active lucid-ota-watch.timer')).trim()).toBe('active');
    token = await guestAdminToken(g.https!, setupCode);
    const s = await waitFor('the agent\'s status', ota, 300_000);
    expect(s).toMatchObject({ version: fx.image.result.version, slot: 'a', slotsAvailable: true, phase: 'idle' });
  }, 40 * 60_000);

  it('v2 from an uploaded bundle: written into slot b, booted on trial by systemd, committed after its health gate', async () => {
    await env.publish(v2);
    const started = performance.now();
    const r = await uploadBundle(v2);
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.body.job).toMatchObject({ version: '2.0.0', source: 'bundle', slot: 'b' });
    times['v2UploadS'] = seconds(started);
    step('v2 uploaded, install started');
    await waitFor('v2 on trial', async () => (await hostState())['trial'] === 'b', 900_000);
    times['v2StagedToTrialS'] = seconds(started);
    // The agent's decision: the commit request it writes for the host (after the soak).
    await waitFor('v2 passed its gate', async () => (await g.exec('cat /var/lib/lucid/data/ota/host/commit')).code === 0, 900_000);
    times['v2GatePassedS'] = seconds(started);
    const done = await waitFor('v2 committed', committed('2.0.0'), 300_000);
    times['applyCommitS'] = Math.round((seconds(started) - SOAK_S) * 10) / 10; // soak excluded, as in the bench
    expect(done.history[0]).toMatchObject({ version: '2.0.0', outcome: 'committed', source: 'bundle' });
    expect(done.slot).toBe('b');
    expect(await hostState()).toMatchObject({ committed: 'b', last_outcome: 'committed', last_version: '2.0.0' });
    expect((await g.run('readlink /var/lib/lucid/active')).trim()).toBe('slots/b');
    expect(await g.run('/usr/libexec/lucid-appliance/lucid-slot status')).toMatch(/mounted: b\n/);
  }, 40 * 60_000);

  it('v3, whose self-test fails, rolls back to v2 by itself; the reason is in boot/state and the status', async () => {
    await env.publish(v3);
    const r = await uploadBundle(v3);
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.body.job).toMatchObject({ version: '3.0.0', slot: 'a' });
    step('v3 uploaded, install started');
    await waitFor('v3 on trial', async () => (await hostState())['trial'] === 'a', 900_000);
    const trialAt = performance.now();
    const back = await waitFor('back on v2', async () => {
      const s = await committed('2.0.0')();
      return s?.history[0]?.version === '3.0.0' ? s : null;
    }, 900_000);
    times['rollbackS'] = seconds(trialAt);
    expect(back.history[0]).toMatchObject({ version: '3.0.0', outcome: 'rolled-back' });
    expect(back.history[0]!.reason).toMatch(/self-test failed: addon:classic-level \(injected by the test release\)/);
    expect(await hostState()).toMatchObject({ committed: 'b', trial: '', last_outcome: 'rolled-back', last_version: '3.0.0' });
    expect(await g.run('cat /var/lib/lucid/boot/history')).toMatch(/version=3\.0\.0 slot=a outcome=rolled-back .*self-test failed/);
    expect((await g.run('readlink /var/lib/lucid/active')).trim()).toBe('slots/b');
  }, 40 * 60_000);

  // From here on the updates are app-only (slot b holds v2's whole image; a keeps v3's lower
  // layers): each fetches and unpacks one layer. Test settings, on the disk (they outlive the
  // power cuts): restarts after 2 s instead of the shipped 30 s, no start rate limit (its reboot
  // after 5 starts in 90 minutes would come in the middle of these chains), and the watch timer
  // every 10 s instead of every minute — the shipped values are unit-restart-policy.test.ts's.
  // The fault watcher (guest/ota-fault-watch.sh) is a unit of its own that starts before the
  // appliance's slot step at every boot, so it is in place before a resumed agent moves on.
  it('test settings: fast restarts, no start limit, a 10 s watch timer, the fault watcher', async () => {
    await g.run(`mkdir -p /etc/systemd/system/${UNIT}.d /etc/systemd/system/lucid-ota-watch.timer.d
      printf '[Unit]\\nStartLimitIntervalSec=0\\n[Service]\\nRestartSec=2s\\n' > /etc/systemd/system/${UNIT}.d/test-fast.conf
      printf '[Timer]\\nOnBootSec=\\nOnBootSec=15s\\nOnUnitActiveSec=10s\\nAccuracySec=1s\\n' > /etc/systemd/system/lucid-ota-watch.timer.d/test-fast.conf
      install -m 0755 /mnt/host/ota-fault-watch.sh /usr/local/sbin/lucid-fault-watch
      cat > /etc/systemd/system/lucid-fault-watch.service <<'UNIT_END'
[Unit]
Description=Test only: strikes the appliance at OTA states (tests/vm/ota-update.test.ts)
DefaultDependencies=no
After=local-fs.target
Before=lucid-appliance-slot.service
[Service]
ExecStartPre=/bin/sh -c 'mountpoint -q /mnt/host || mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,ro host /mnt/host'
ExecStart=/usr/local/sbin/lucid-fault-watch
[Install]
WantedBy=multi-user.target
UNIT_END
      systemctl daemon-reload && systemctl enable lucid-fault-watch.service && systemctl restart lucid-ota-watch.timer && sync`);
    expect((await g.run(`systemctl show ${UNIT} -p RestartUSec -p StartLimitIntervalUSec`)).trim()).toBe('RestartUSec=2s\nStartLimitIntervalUSec=0');
    // One empty assignment resets every trigger of the timer (OnBootSec= and OnUnitActiveSec= alike).
    const timers = (await g.run('systemctl show lucid-ota-watch.timer -p TimersMonotonic')).trim().split('\n').map((l) => l.replace(/ ; next_elapse=.*/, '')).sort();
    expect(timers).toEqual(['TimersMonotonic={ OnBootUSec=15s', 'TimersMonotonic={ OnUnitActiveUSec=10s']);
  }, 5 * 60_000);

  it('v4, whose supervisor cannot start, rolls back to v2 through the host step\'s boot count', async () => {
    const v4 = await env.build('4.0.0', { fault: 'supervisor-cannot-start' });
    await env.publish(v4);
    await g.run(`systemctl reset-failed ${UNIT}`);
    const r = await uploadBundle(v4);
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.body.job).toMatchObject({ version: '4.0.0', slot: 'a' });
    step('v4 uploaded, install started');
    await waitFor('v4 on trial', async () => (await hostState())['trial'] === 'a', 900_000);
    const trialAt = performance.now();
    const back = await waitFor('back on v2 after the boot count', async () => {
      const st = await committed('2.0.0')();
      return st?.history[0]?.version === '4.0.0' ? st : null;
    }, 900_000);
    times['bootCountRollbackS'] = seconds(trialAt);
    expect(back.history[0]).toMatchObject({ version: '4.0.0', outcome: 'rolled-back' });
    expect(back.history[0]!.reason).toMatch(/no commit after 3 boots/);
    expect(await hostState()).toMatchObject({ committed: 'b', trial: '', last_outcome: 'rolled-back', last_version: '4.0.0' });
    expect(await g.run('cat /var/lib/lucid/boot/history')).toMatch(/version=4\.0\.0 slot=a outcome=rolled-back boots=3 reason=no commit after 3 boots/);
    const starts = Number((await g.run(`journalctl -u ${UNIT} --no-pager -o cat | grep -c 'injected: this supervisor cannot start' || true`)).trim());
    expect(starts, 'v4\'s supervisor started and died on each trial boot').toBeGreaterThanOrEqual(3);
    expect((await g.run('readlink /var/lib/lucid/active')).trim()).toBe('slots/b');
  }, 40 * 60_000);

  let major = 4;
  let current = '2.0.0';
  /** Hits the watcher recorded this boot: `<phase> <action> <pid> <phase seen>`. */
  const hits = async (): Promise<string[][]> => (await g.exec('cat /run/lucid-fault/hits')).stdout.trim().split('\n').filter(Boolean).map((l) => l.split(' '));
  const plan = (line: string): void => writeFileSync(join(share, 'fault-plan'), `${line}\n`);
  /**
   * Never neither: healthy, no trial left, running `version` from the committed slot, which
   * `active` names and whose slot record is that version, staged whole; the history says so.
   */
  async function endsCommitted(version: string, what: string): Promise<OtaStatus> {
    const s = await waitFor(`${version} committed after ${what}`, committed(version), 900_000);
    const host = await hostState();
    expect((await g.run('readlink /var/lib/lucid/active')).trim()).toBe(`slots/${host['committed']}`);
    const slot = JSON.parse(await g.run(`cat /var/lib/lucid/slots/${host['committed']}/slot.json`)) as { version: string; state: string };
    expect(slot).toMatchObject({ version, state: 'staged' });
    expect(s.history[0]).toMatchObject({ version, outcome: 'committed', source: 'bundle' });
    expect((await g.run(`systemctl is-active ${UNIT}`)).trim()).toBe('active');
    return s;
  }
  /** The next version (app-only), and the update lock held so that `staged` lasts until the fault. */
  async function nextRelease(): Promise<TestRelease> {
    const next = await env.build(`${++major}.0.0`);
    await env.publish(next);
    await g.run(`systemctl reset-failed ${UNIT}; install -o 65532 -g 65532 -m 0600 /dev/null /var/lib/lucid/data/hold-update-lock; sync`);
    return next;
  }

  it('a power cut at every OTA state in turn (fetching, staging, staged, switching, trial): the update ends committed and healthy', async () => {
    const to = await nextRelease();
    const started = performance.now();
    const cuts: string[] = [];
    // Each phase's plan is on the share before the boot that reaches it: the watcher starts
    // with the plan before the appliance does, so a resumed agent cannot get there first.
    plan(`power ${PHASES[0]}`);
    await g.run('systemctl restart lucid-fault-watch.service');
    for (const [i, phase] of PHASES.entries()) {
      // The first cut comes during the upload's hand-over: its answer may never arrive.
      const upload = i === 0 ? uploadBundle(to).catch((e: Error) => ({ status: 0, body: e.message })) : null;
      const hit = await waitFor(`the power cut's moment: ${phase}`, async () => (await hits()).find((h) => h[0] === phase), 900_000, 250);
      expect(hit[2], `the appliance was frozen in ${phase}`).toBe('frozen');
      expect(hit[3], `the agent's state when the cut came (${phase})`).toBe(phase);
      await g.powerCut();
      cuts.push(phase);
      step(`power cut in ${phase}`);
      plan(i + 1 < PHASES.length ? `power ${PHASES[i + 1]}` : 'none');
      const boot = await g.boot();
      step(`booted again (guest agent after ${boot.agent} s)`);
      if (phase === 'staged') await g.run('rm -f /var/lib/lucid/data/hold-update-lock');
      if (upload) {
        // What survived on the disk. The agent makes the install durable (state file renamed
        // and fsynced) before it answers: a cut after the answer must find the job there; a cut
        // before it may find either the job or the old state (an install never acknowledged is
        // lost, the box stays healthy on the old version — old or new, never neither).
        const answered = (await upload).status;
        const kept = JSON.parse(await g.run('cat /var/lib/lucid/data/ota/state.json')) as { phase: string; job: { version: string } | null };
        if (kept.job === null) {
          expect(answered, 'an acknowledged install was lost to the power cut').toBe(0);
          expect(kept.phase).toBe('idle');
          const st = await waitFor(`${current} still committed and healthy after the cut`, committed(current), 600_000);
          expect(st.job).toBeNull();
          step(`the cut came before the install was durable (no answer): ${current} healthy, the install gone; uploaded again`);
          const again = await uploadBundle(to);
          expect(again.status, JSON.stringify(again.body)).toBe(202);
        } else {
          expect(kept.job.version).toBe(to.version);
          step(`the install survived the cut in ${kept.phase} (upload answered ${answered})`);
        }
      }
    }
    await g.run('rm -f /var/lib/lucid/data/hold-update-lock');
    const s = await endsCommitted(to.version, `power cuts in ${cuts.join(', ')}`);
    times['powerCutChainS'] = seconds(started);
    current = s.version;
    expect(cuts).toEqual([...PHASES]);
  }, 60 * 60_000);

  for (const action of ['agent', 'supervisor'] as const) {
    it(`kill -9 of the ${action} at every OTA state in turn: the update ends committed and healthy`, async () => {
      const from = current;
      const to = await nextRelease();
      const started = performance.now();
      plan(`${action} ${PHASES.join(' ')}`);
      await g.run('systemctl restart lucid-fault-watch.service');
      const r = await uploadBundle(to).catch((e: Error) => ({ status: 0, body: { message: e.message } as any }));
      // The kill in `fetching` may land before the agent answered core (or, for the supervisor,
      // take core down with it): then 503 OTA_ERR_AGENT_UNAVAILABLE or no answer; the install goes on.
      step(`${to.version} uploaded: ${r.status} ${JSON.stringify(r.body).slice(0, 160)}`);
      if (r.status !== 202 && r.status !== 0) expect(r.body?.code, JSON.stringify(r.body)).toBe('OTA_ERR_AGENT_UNAVAILABLE');
      const all = await waitFor(`kill -9 of the ${action} in all five states`, async () => {
        const h = await hits();
        return h.length === PHASES.length ? h : null;
      }, 900_000, 1000);
      for (const [i, phase] of PHASES.entries()) {
        expect(all[i]![0]).toBe(phase);
        expect(all[i]![2], `a ${action} process was killed in ${phase}`).toMatch(/^\d+$/);
      }
      step(`kills: ${all.map((h) => `${h[0]}→pid ${h[2]}`).join(', ')}`);
      await g.run('rm -f /var/lib/lucid/data/hold-update-lock');
      const s = await endsCommitted(to.version, `kill -9 of the ${action} in every state`);
      expect(s.previous?.version).toBe(from);
      times[`${action}KillChainS`] = seconds(started);
      current = s.version;
    }, 40 * 60_000);
  }
});
