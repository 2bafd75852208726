// The first install of a device (what the host's installer runs): dist/entries/ota-install.mjs,
// run with the image's own node, puts the built image archive's amd64 image into slot a and its
// blobs into the agent's store; the host step then makes slot a the active one. The slot holds
// exactly what umoci unpacks from the same image (an independent reader), with layer records,
// so the first update downloads only the layers that changed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageBuild, unpackedRootfs, type ImageFixture } from '../helpers/image-build.js';
import { HOST_STEP } from '../helpers/ota-device.js';
import { SlotStore } from '../../ota/client/slots/slot-store.js';

let fx: ImageFixture;
let host: string;
let output: string;
beforeAll(async () => {
  fx = await imageBuild();
  host = mkdtempSync(join(tmpdir(), 'lucid-install-'));
  const reference = await unpackedRootfs(fx, 'amd64');
  output = execFileSync(join(reference, 'usr/local/bin/node'), [join(reference, 'app/dist/entries/ota-install.mjs'), '--archive', fx.result.archive!, '--arch', 'amd64', '--host-dir', host], { encoding: 'utf8' });
  execFileSync('sh', [HOST_STEP, 'init', 'a'], { env: { PATH: process.env['PATH']!, LUCID_OTA_ROOT: host, LUCID_OTA_AGENT_OWNER: '65532:65532' } });
}, 20 * 60_000);
afterAll(() => rmSync(host, { recursive: true, force: true }));

function listing(root: string): string[] {
  return readdirSync(root, { recursive: true }).map(String).sort().map((p) => {
    const st = lstatSync(join(root, p));
    const kind = st.isSymbolicLink() ? `l→${readlinkSync(join(root, p))}` : st.isDirectory() ? 'd' : `f${st.size}`;
    return `${p} ${kind} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
  });
}

describe('first install (ota-install entry)', () => {
  it('unpacks the image into slot a exactly as umoci does, and the host step activates it', async () => {
    expect(JSON.parse(output)).toMatchObject({ installed: fx.result.version, arch: 'amd64', slot: 'a', layers: 4 });
    const reference = await unpackedRootfs(fx, 'amd64');
    expect(listing(join(host, 'slots/a/rootfs'))).toEqual(listing(reference));
    expect(readFileSync(join(host, 'slots/a/rootfs/app/dist/entries/core.mjs')).equals(readFileSync(join(reference, 'app/dist/entries/core.mjs')))).toBe(true);
    expect(readlinkSync(join(host, 'active'))).toBe('slots/a');
    const slot = await new SlotStore(host).read('a');
    expect(slot).toMatchObject({ state: 'staged', version: fx.result.version, architecture: 'amd64' });
    expect(slot.layers.every((l) => l.applied)).toBe(true);
    expect(readdirSync(join(host, 'slots/a/layers')).sort()).toEqual(['0.json', '1.json', '2.json', '3.json']);
    // The image's own owner exception: /data belongs to 65532.
    expect(readFileSync(join(host, 'slots/a/owners'), 'utf8')).toContain('65532 65532 700 data');
    const amd = fx.result.platforms.find((p) => p.arch === 'amd64')!;
    const blobs = readdirSync(join(host, 'data/ota/blobs/sha256'));
    for (const l of amd.layers) expect(blobs).toContain(l.descriptor.digest.slice(7));
  });
});
