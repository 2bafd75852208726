// The lean guest's harness, which the power-cut tests build on: the kernel and an initramfs with
// the image's root file system boot in seconds, the appliance starts from the image as uid 65532
// with its data on a virtio disk, a power cut (SIGKILL of qemu) loses the guest's page cache, and
// the next boot on the same disk finds every acknowledged write: here the node identity and an
// upload acknowledged just before the cut, with no sync after the acknowledgement.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageBuild } from '../helpers/image-build.js';
import { api, hashDownload, putData } from '../helpers/upload.js';
import { bootLeanGuest, createDataDisk, leanInitrd, powerCut, type LeanGuest, type LeanImage } from './harness/index.js';
import { getJson, guestAdminToken } from './harness/appliance-api.js';

let image: LeanImage;
let dir: string;
let disk: string;
let guest: LeanGuest | undefined;
const times: Record<string, number> = {};

beforeAll(async () => {
  const fx = await imageBuild();
  image = { layoutDir: fx.result.layoutDir, ref: `${fx.result.version}-amd64` };
  const initrd = await leanInitrd(image);
  times['initrdBuildS'] = initrd.seconds;
  dir = mkdtempSync(join(tmpdir(), 'lucid-lean-test-'));
  disk = await createDataDisk(join(dir, 'data.raw'));
}, 20 * 60_000);

afterAll(async () => {
  await guest?.powerCut();
  if (dir) rmSync(dir, { recursive: true, force: true });
  console.log(`[vm lean] ${JSON.stringify(times)}`);
});

const env = { LUCID_HEARTBEAT_MS: '5000' }; // emulation runs Node ~8× slower (tests/vm/README.md)
const setupCode = (g: LeanGuest) => async (): Promise<string | null> => {
  const r = await g.exec('cat /data/setup-code');
  return r.code === 0 ? r.stdout.trim() : null;
};

describe.sequential('lean guest: boot, power cut, boot again on the same data disk', () => {
  let nodeId = '';

  it('boots the image from an initramfs and serves /healthz through the forwarded port', async () => {
    guest = await bootLeanGuest({ image, dataDisk: disk, env, name: 'lean-1' });
    times['agentS'] = guest.vm.seconds();
    times['healthyS'] = await guest.waitHealthy(180_000);
    // The appliance runs from the image as 65532, its data on the virtio disk.
    const ps = await guest.run('for p in $(pidof node); do echo "$p $(stat -c %u /proc/$p) $(tr "\\0" " " < /proc/$p/cmdline)"; done');
    expect(ps).toMatch(/^\d+ 65532 \/usr\/local\/bin\/node \/app\/dist\/entries\/supervisor\.mjs/m);
    expect(ps).toMatch(/^\d+ 65532 \/usr\/local\/bin\/node .*\/app\/dist\/entries\/core\.mjs/m);
    expect(await guest.run('grep " /data " /proc/mounts')).toMatch(/^\/dev\/vda \/data ext4 rw/);
    expect((await guest.run('stat -c "%u %a" /data')).trim()).toBe('65532 700');
    nodeId = (await getJson<{ id: string }>(guest.url, '/api/v1/node')).body.id;
    expect(nodeId).toMatch(/^[0-9a-f]{40}$/);
  }, 300_000);

  it('keeps acknowledged upload bytes across a power cut (SIGKILL of qemu, no sync after the ack)', async () => {
    const g = guest!;
    const token = await guestAdminToken(g.url, setupCode(g));
    // The account itself is not written with sync yet (services/auth: found by this bed, left to
    // the power-cut work of issue 20 §4), so it is flushed here: this test is about the upload.
    await g.run('sync');
    const target = { url: g.url, token: async () => token };
    const created = await api(target, 'POST', '/api/v1/sessions', { chunkSize: 64 * 1024, labels: { test: 'vm-lean' } });
    expect(created.status).toBe(201);
    const id = created.json.id as string;
    expect((await api(target, 'POST', `/api/v1/sessions/${id}/start`)).status).toBe(200);
    const data = randomBytes(1024 * 1024 + 12_345);
    const put = await putData(target, id, 0, data);
    expect(put).toMatchObject({ status: 200, body: { received: data.length } });
    // The cut: qemu's own pid, SIGKILL; the guest's page cache is gone with it.
    const pid = g.vm.pid;
    await powerCut(g);
    expect(g.vm.alive).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow();
    const started = performance.now();
    guest = await bootLeanGuest({ image, dataDisk: disk, env, name: 'lean-2' });
    expect(guest.bootId).not.toBe(g.bootId);
    await guest.waitHealthy(180_000);
    times['cutToHealthyS'] = Math.round((performance.now() - started) / 100) / 10;
    expect((await getJson<{ id: string }>(guest.url, '/api/v1/node')).body.id).toBe(nodeId);
    const again = { url: guest.url, token: async () => guestAdminToken(guest!.url, async () => null) };
    const s = (await api(again, 'GET', `/api/v1/sessions/${id}`)).json;
    expect(s).toMatchObject({ state: 'recording', received: data.length });
    expect((await api(again, 'POST', `/api/v1/sessions/${id}/stop`)).status).toBe(200);
    expect((await api(again, 'POST', `/api/v1/sessions/${id}/finalize`)).json).toMatchObject({ state: 'completed', received: data.length });
    const down = await hashDownload(again, `/api/v1/sessions/${id}/content`);
    expect(down).toMatchObject({ status: 200, bytes: data.length, error: null, sha256: createHash('sha256').update(data).digest('hex') });
  }, 400_000);
});
