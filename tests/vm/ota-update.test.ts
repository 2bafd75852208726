// OTA in the VM bed (issue 21 §5): the .deb installed on Debian 12 under real systemd, then
// updated from signed offline bundles uploaded through the forwarded port (the Updates page's
// call; the guest's network reaches nothing else). v2 goes into slot b, boots on trial through
// the package's own host step (lucid-slot prestart → lucid-ota-boot start), passes its health
// gate and is committed by the watch timer; v3, whose self-test fails, is rolled back to v2 by
// itself with the reason shown. One guest boot for the file. The figures (apply + commit,
// rollback) are printed as `[vm ota] {…}` and recorded in ota/README.md.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, linkSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { debBuild, type DebFixture } from '../helpers/deb-build.js';
import { createReleaseEnv, type ReleaseEnv, type TestRelease } from '../helpers/ota-releases.js';
import { parseKeyValues } from '../../ota/client/slots/host-state.js';
import type { OtaStatus } from '../../ota/shared/status.js';
import { FullGuest } from './harness/index.js';
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
const siteEnv = [
  'LUCID_HEARTBEAT_MS=10000', 'LUCID_OTA_TRUST_ROOT=/data/ota-test-root.json', `LUCID_OTA_SOAK_S=${SOAK_S}`,
  'LUCID_OTA_HEALTH_TIMEOUT_S=900', 'LUCID_OTA_AUTO_INSTALL=off', '',
].join('\n');

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
      const log = await g.exec(`cat /var/lib/lucid/boot/state /var/lib/lucid/data/ota/state.json; ls -l /var/lib/lucid/data/ota/host
        journalctl -u ${UNIT} -u lucid-appliance-slot.service -u lucid-ota-watch.service --no-pager -n 80`).catch(() => null);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${log?.stdout ?? ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
/** Uploads a bundle through the forwarded HTTPS port (certificate pinned) and asks for its install (PUT /api/v1/ota/bundle?install=true). */
async function uploadBundle(release: TestRelease): Promise<{ status: number; body: any }> {
  const file = await env.bundle(release, join(env.dir, `${release.version}.lucid-bundle`), { architectures: ['amd64'] });
  const res = await g.https!.fetch('/api/v1/ota/bundle?install=true', {
    method: 'PUT', body: readFileSync(file), headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
    signal: AbortSignal.timeout(600_000),
  });
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
    await g.run(`install -d -m 0700 -o 65532 -g 65532 /var/lib/lucid/data && install -m 0644 /mnt/host/root.json /var/lib/lucid/data/ota-test-root.json
      mkdir -p /etc/lucid && printf '${siteEnv}' > /etc/lucid/appliance.env`);
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
});
