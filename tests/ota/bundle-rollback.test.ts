// An appliance without internet (no LUCID_OTA_URL) on the process-level harness: an admin
// uploads an offline bundle through the API (the Updates page's call) and it installs through
// the same verification and install path; a bundle on a "USB stick" (LUCID_OTA_BUNDLE_DIR) is
// found by a check; "roll back to previous" boots the previous slot on trial and commits it;
// a tampered bundle is refused with nothing installed; parallel install requests start one update;
// an older release, or one whose minimum version is above the installed one, is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readdirSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createReleaseEnv, type ReleaseEnv, type TestRelease } from '../helpers/ota-releases.js';
import { OtaDevice } from '../helpers/ota-device.js';
import { BundleReader } from '../../ota/shared/release/bundle-format.js';

let env: ReleaseEnv;
let device: OtaDevice;
let usb: string;
const releases: Record<string, TestRelease> = {};

beforeAll(async () => {
  env = await createReleaseEnv();
  for (const v of ['1.0.0', '2.0.0', '3.0.0', '4.0.0']) releases[v] = await env.build(v);
  usb = join(env.dir, 'usb');
  mkdirSync(usb);
  device = await OtaDevice.create(releases['1.0.0']!, { env: { LUCID_OTA_BUNDLE_DIR: usb, LUCID_OTA_AUTO_INSTALL: 'off', LUCID_OTA_SOAK_S: '2' } });
  device.start();
  await device.waitCommitted('1.0.0');
}, 20 * 60_000);
afterAll(async () => {
  await device?.destroy();
  await env?.stop();
});

async function upload(file: string, install: boolean): Promise<{ status: number; body: any }> {
  const bytes = readFileSync(file);
  const res = await fetch(`${device.url}/api/v1/ota/bundle${install ? '?install=true' : ''}`, {
    method: 'PUT', body: bytes, headers: { authorization: `Bearer ${await device.token()}`, 'content-type': 'application/octet-stream' },
  });
  return { status: res.status, body: await res.json() };
}

describe('offline updates and rollback (process-level harness)', () => {
  it('an uploaded bundle installs v2 (signed release, amd64 blobs only, no registry reachable)', async () => {
    await env.publish(releases['2.0.0']!);
    const file = await env.bundle(releases['2.0.0']!, join(env.dir, 'v2.lucid-bundle'), { architectures: ['amd64'] });
    await env.registry.stop(); // from here on the device could not reach it anyway: no URL
    const r = await upload(file, true);
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.body.job).toMatchObject({ version: '2.0.0', source: 'bundle' });
    const s = await device.waitCommitted('2.0.0');
    expect(s.history[0]).toMatchObject({ version: '2.0.0', outcome: 'committed', source: 'bundle' });
  }, 240_000);

  it('refuses a bundle whose metadata is fine but whose layers are not, installing nothing', async () => {
    const repo = env.repo;
    await (await import('../../ota/release/release-build.js')).signRelease(repo, { layoutDir: releases['3.0.0']!.layoutDir, channel: 'stable', version: '3.0.0', source: null });
    const file = await env.bundle(releases['3.0.0']!, join(env.dir, 'v3-bad.lucid-bundle'), { architectures: ['amd64'] });
    const reader = await BundleReader.open(file);
    const app = releases['3.0.0']!.appLayer;
    const raw = readFileSync(file);
    const at = raw.indexOf(Buffer.from(`blobs/sha256/${app.digest.slice(7)}`)) + 512 + 4096;
    raw[at]! ^= 0xff;
    writeFileSync(file, raw);
    expect(reader.has(`blobs/sha256/${app.digest.slice(7)}`)).toBe(true);
    const r = await upload(file, true);
    expect(r.status).toBe(202); // verified metadata: the install starts, then the layer fails its digest
    const s = await device.waitFor('the job to fail', async () => {
      const st = await device.ota();
      return st?.phase === 'idle' && st.history[0]?.version === '3.0.0' ? st : null;
    }, 60_000);
    expect(s.history[0]).toMatchObject({ outcome: 'failed' });
    expect(s.history[0]!.reason).toMatch(/^OCI_ERR_DIGEST_MISMATCH/);
    expect(s.version).toBe('2.0.0');
    expect((await device.hostState())!.trial).toBeNull();
  }, 120_000);

  it('finds a bundle on the USB folder at a check; parallel installs start exactly one update', async () => {
    await (await import('../../ota/release/release-build.js')).signRelease(env.repo, { layoutDir: releases['4.0.0']!.layoutDir, channel: 'stable', version: '4.0.0', source: null });
    await env.bundle(releases['4.0.0']!, join(usb, 'lucid-4.0.0.lucid-bundle'));
    const checked = await device.api('POST', '/api/v1/ota/check');
    expect(checked?.status, JSON.stringify(checked?.body)).toBe(200);
    expect(checked!.body.available).toMatchObject({ version: '4.0.0', source: 'bundle' });
    const answers = await Promise.all(Array.from({ length: 5 }, () => device.api('POST', '/api/v1/ota/install')));
    const statuses = answers.map((a) => a?.status).sort();
    expect(statuses).toEqual([202, 409, 409, 409, 409]);
    expect(answers.filter((a) => a?.status === 409).every((a) => a!.body.code === 'OTA_ERR_BUSY')).toBe(true);
    await device.waitCommitted('4.0.0');
  }, 240_000);

  it('roll back to previous: boots the previous slot on trial and commits it; not re-installed automatically', async () => {
    const before = await device.ota();
    expect(before!.previous).toMatchObject({ version: '2.0.0' });
    const r = await device.api('POST', '/api/v1/ota/rollback');
    expect(r?.status, JSON.stringify(r?.body)).toBe(202);
    const s = await device.waitFor('back on 2.0.0', async () => {
      const st = await device.waitCommitted('2.0.0', 1000).catch(() => null);
      return st?.history[0]?.kind === 'rollback' ? st : null;
    }, 120_000, 300);
    expect(s.history[0]).toMatchObject({ kind: 'rollback', version: '2.0.0', fromVersion: '4.0.0', outcome: 'committed', reason: 'rolled back by an admin from 4.0.0' });
    expect(s.previous).toMatchObject({ version: '4.0.0' });
    // A check offers 4.0.0 again to an admin (automatic installs skip it: planner.test.ts).
    const again = await device.api('POST', '/api/v1/ota/check');
    expect(again?.body.available).toMatchObject({ version: '4.0.0', source: 'bundle' });
  }, 240_000);

  it('refuses an older release and one made for a newer installed version: coded 409s, nothing staged (issue 21 §4)', async () => {
    const before = (await device.ota())!;
    expect(before).toMatchObject({ version: '2.0.0', phase: 'idle' });
    const { signRelease } = await import('../../ota/release/release-build.js');
    // Correctly signed metadata naming an older release as the channel's newest: a downgrade.
    await signRelease(env.repo, { layoutDir: releases['1.0.0']!.layoutDir, channel: 'stable', version: '1.0.0', source: null });
    const older = await upload(await env.bundle(releases['1.0.0']!, join(env.dir, 'v1.lucid-bundle'), { architectures: ['amd64'] }), true);
    expect(older.status, JSON.stringify(older.body)).toBe(409);
    expect(older.body.code).toBe('OTA_ERR_DOWNGRADE');
    // A newer release that installs only over 4.5.0 or later; this one runs 2.0.0.
    const v5 = await env.build('5.0.0');
    await signRelease(env.repo, { layoutDir: v5.layoutDir, channel: 'stable', version: '5.0.0', minVersion: '4.5.0', source: null });
    const far = await upload(await env.bundle(v5, join(env.dir, 'v5.lucid-bundle'), { architectures: ['amd64'] }), true);
    expect(far.status, JSON.stringify(far.body)).toBe(409);
    expect(far.body.code).toBe('OTA_ERR_BELOW_MINIMUM');
    // Nothing was started, staged or booted.
    const after = (await device.ota())!;
    expect(after).toMatchObject({ version: '2.0.0', phase: 'idle' });
    expect(after.history.length).toBe(before.history.length);
    expect((await device.hostState())!.trial).toBeNull();
  }, 240_000);

  it('an offered bundle that is gone when its install starts (the USB stick pulled) fails at once, with the reason', async () => {
    const installed = (await device.ota())!.version;
    const { signRelease } = await import('../../ota/release/release-build.js');
    await signRelease(env.repo, { layoutDir: releases['4.0.0']!.layoutDir, channel: 'stable', version: '4.0.0', source: null });
    for (const f of readdirSync(usb)) rmSync(join(usb, f));
    const file = await env.bundle(releases['4.0.0']!, join(usb, 'lucid-4.0.0.lucid-bundle'), { architectures: ['amd64'] });
    const checked = await device.api('POST', '/api/v1/ota/check');
    expect(checked!.body.available, JSON.stringify(checked?.body)).toMatchObject({ version: '4.0.0', source: 'bundle' });
    rmSync(file);
    const r = await device.api('POST', '/api/v1/ota/install');
    expect(r?.status, JSON.stringify(r?.body)).toBe(202);
    // A local file that is gone stays gone: no retries for an hour, the reason says what to do.
    const s = await device.waitFor('the job to fail', async () => {
      const st = await device.ota();
      return st?.phase === 'idle' && st.history[0]?.version === '4.0.0' && st.history[0].outcome === 'failed' ? st : null;
    }, 20_000);
    expect(s.history[0]!.reason).toMatch(/^OTA_ERR_BAD_BUNDLE: the bundle \S*lucid-4\.0\.0\.lucid-bundle is gone \(deleted, or its USB stick removed\)/);
    expect(s.version).toBe(installed);
    expect((await device.hostState())!.trial).toBeNull();
  }, 120_000);
});
