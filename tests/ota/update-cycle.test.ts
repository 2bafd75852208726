// Issue 21 §5 on the process-level harness (tests/helpers/ota-device.ts): real images from this
// checkout, a real registry and a published TUF repository; the host step run the way systemd
// runs it; the appliance's own node and supervisor from the slot. v1 → v2 commits after its soak
// downloading only the app layer; v3, whose self-test fails, rolls back to v2 with its reason;
// v4, whose supervisor cannot start, rolls back through the boot count.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReleaseEnv, type ReleaseEnv, type TestRelease } from '../helpers/ota-releases.js';
import { OtaDevice } from '../helpers/ota-device.js';

let env: ReleaseEnv;
let v1: TestRelease;
let v2: TestRelease;
let v3: TestRelease;
let v4: TestRelease;
let device: OtaDevice;

beforeAll(async () => {
  env = await createReleaseEnv();
  v1 = await env.build('1.0.0');
  v2 = await env.build('2.0.0');
  v3 = await env.build('3.0.0', { fault: 'selftest-fails' });
  v4 = await env.build('4.0.0', { fault: 'supervisor-cannot-start' });
  device = await OtaDevice.create(v1, { env: { LUCID_OTA_URL: env.url, LUCID_OTA_AUTO_INSTALL: 'off', LUCID_OTA_SOAK_S: '2' } });
  device.start();
  await device.waitCommitted('1.0.0');
}, 20 * 60_000);

afterAll(async () => {
  await device?.destroy();
  await env?.stop();
});

describe('OTA update cycle (process-level harness)', () => {
  it('v1 → v2: check, install, trial, commit after the soak; only the app layer is downloaded', async () => {
    await env.publish(v2);
    const checked = await device.api('POST', '/api/v1/ota/check');
    expect(checked?.status, JSON.stringify(checked?.body)).toBe(200);
    expect(checked!.body.available).toMatchObject({ version: '2.0.0', source: 'online' });
    // Missing: the new app layer and the new config (a few hundred bytes), nothing else.
    expect(checked!.body.available.missingBytes).toBeGreaterThanOrEqual(v2.appLayer.size);
    expect(checked!.body.available.missingBytes).toBeLessThan(v2.appLayer.size + 16_384);
    const started = Date.now();
    const install = await device.api('POST', '/api/v1/ota/install');
    expect(install?.status, JSON.stringify(install?.body)).toBe(202);
    const done = await device.waitCommitted('2.0.0');
    const applyCommitS = (Date.now() - started) / 1000 - 2;
    expect(done.slot).toBe('b');
    expect(done.history[0]).toMatchObject({ version: '2.0.0', fromVersion: '1.0.0', outcome: 'committed' });
    expect(done.previous).toEqual({ slot: 'a', version: '1.0.0' });
    // Only the changed layer came over the network (plus the small index/manifest/config).
    const fetched = device.output().match(/"transferred":(\d+)/);
    expect(Number(fetched?.[1])).toBeLessThanOrEqual(1.1 * v2.appLayer.size);
    expect(applyCommitS).toBeLessThan(30);
    const host = await device.hostState();
    expect(host).toMatchObject({ committed: 'b', trial: null, last: { outcome: 'committed', version: '2.0.0' } });
    process.stderr.write(`[ota] v1→v2 apply+commit ${applyCommitS.toFixed(1)} s (soak excluded), ${fetched?.[1]} bytes for a ${v2.appLayer.size}-byte app layer of a ${v2.fullBytes}-byte image\n`);
  }, 180_000);

  it('v3 fails its health gate (self-test) and rolls back to v2 by itself, with the reason', async () => {
    await env.publish(v3);
    await device.api('POST', '/api/v1/ota/check');
    const install = await device.api('POST', '/api/v1/ota/install');
    expect(install?.status, JSON.stringify(install?.body)).toBe(202);
    const seenTrial = await device.waitFor('v3 on trial', async () => ((await device.hostState())?.trial ? Date.now() : null), 90_000);
    const back = await device.waitFor('rolled back to v2', async () => {
      const s = await device.waitCommitted('2.0.0', 1000).catch(() => null);
      return s?.history[0]?.version === '3.0.0' ? s : null;
    }, 120_000, 300);
    const rollbackS = (Date.now() - seenTrial) / 1000;
    expect(back.history[0]).toMatchObject({ version: '3.0.0', outcome: 'rolled-back' });
    expect(back.history[0]!.reason).toMatch(/self-test failed: addon:classic-level \(injected by the test release\)/);
    expect((await device.hostState())!.last).toMatchObject({ version: '3.0.0', outcome: 'rolled-back' });
    expect(rollbackS).toBeLessThan(30);
    // Not re-installed automatically, still listed as available for an admin.
    expect(back.slot).toBe('b');
    process.stderr.write(`[ota] v3 rollback ${rollbackS.toFixed(1)} s from its trial boot\n`);
  }, 240_000);

  it('v4, whose supervisor cannot start, rolls back through the boot count', async () => {
    await env.publish(v4);
    await device.api('POST', '/api/v1/ota/check');
    const install = await device.api('POST', '/api/v1/ota/install');
    expect(install?.status, JSON.stringify(install?.body)).toBe(202);
    const trialSlot = await device.waitFor('v4 on trial', async () => (await device.hostState())?.trial, 90_000);
    const back = await device.waitFor('rolled back to v2', async () => {
      const s = await device.waitCommitted('2.0.0', 1000).catch(() => null);
      return s?.history[0]?.version === '4.0.0' ? s : null;
    }, 120_000, 300);
    expect(back.history[0]).toMatchObject({ version: '4.0.0', outcome: 'rolled-back' });
    expect(back.history[0]!.reason).toBe('no commit after 3 boots (crash loop or failed start)');
    const v4Boots = device.boots.filter((b) => b.slot === `slots/${trialSlot}` && b.exit?.code === 3);
    expect(v4Boots.length).toBe(3);
  }, 240_000);
});
