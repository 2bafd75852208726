// Publishing the image to a real registry (Debian's docker-registry on loopback) with our own
// OCI client — the code the OTA server and device agent use — and getting it back by digest.
// skopeo, an independent client, must see the index with both platforms.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageBuild, type ImageFixture } from '../helpers/image-build.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { MEDIA_TYPE, OciLayout, RegistryClient, digestHex, pullToLayout, pushLayout, type ImageIndex, type ImageManifest } from '../../ota/shared/oci/index.js';

let fx: ImageFixture;
let registry: TestRegistry;
let client: RegistryClient;
const scratch = mkdtempSync(join(tmpdir(), 'lucid-image-registry-'));
beforeAll(async () => {
  fx = await imageBuild();
  registry = await startRegistry();
  client = new RegistryClient({ registry: registry.url, repository: 'lucid/appliance' });
}, 20 * 60_000);
afterAll(async () => {
  await registry?.stop();
  await rm(scratch, { recursive: true, force: true });
});

const skopeo = (...args: string[]): string => execFileSync('skopeo', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Every blob and manifest digest reachable from a manifest or index in a layout. */
async function reachable(layout: OciLayout, digest: string, out = new Set<string>()): Promise<Set<string>> {
  out.add(digest);
  const doc = await layout.readJson<ImageIndex | ImageManifest>(digest);
  if (doc.mediaType === MEDIA_TYPE.index) for (const m of (doc as ImageIndex).manifests) await reachable(layout, m.digest, out);
  else for (const b of [(doc as ImageManifest).config, ...(doc as ImageManifest).layers]) out.add(b.digest);
  return out;
}

describe('the image through a real registry', () => {
  it('pushes the layout (children before the index) and skopeo sees both platforms by digest', async () => {
    const v = fx.result.version;
    const pushed = await pushLayout(client, new OciLayout(fx.result.layoutDir), { chunkSize: 16 * 1024 * 1024 });
    // Children before the index that names them (the registry refuses it otherwise).
    expect(pushed.manifests).toContain(fx.result.index.digest);
    for (const p of fx.result.platforms) expect(pushed.manifests.indexOf(fx.result.index.digest)).toBeGreaterThan(pushed.manifests.indexOf(p.manifest.digest));
    expect(pushed.tags).toEqual(expect.arrayContaining([v, `${v}-amd64`, `${v}-arm64`]));
    expect(pushed.blobsUploaded).toBe(12); // 7 layers (the app layer is shared), 2 configs, 2 SBOMs, the empty config

    const ref = `docker://${registry.host}/lucid/appliance@${fx.result.index.digest}`;
    const raw = JSON.parse(skopeo('inspect', '--raw', '--tls-verify=false', ref)) as ImageIndex;
    expect(raw.mediaType).toBe(MEDIA_TYPE.index);
    expect(raw.manifests.map((m) => `${m.platform!.os}/${m.platform!.architecture}${m.platform!.variant ? `/${m.platform!.variant}` : ''}`)).toEqual(['linux/amd64', 'linux/arm64/v8']);
    const arm = JSON.parse(skopeo('inspect', '--tls-verify=false', '--override-arch', 'arm64', '--override-os', 'linux', `docker://${registry.host}/lucid/appliance:${v}`)) as { Architecture: string; Layers: string[] };
    expect(arm.Architecture).toBe('arm64');
    expect(arm.Layers).toEqual(fx.result.platforms.find((p) => p.arch === 'arm64')!.layers.map((l) => l.descriptor.digest));
  }, 180_000);

  it('pulls the whole index back by digest into a fresh layout, every digest verified and identical', async () => {
    const source = new OciLayout(fx.result.layoutDir);
    const pulled = new OciLayout(join(scratch, 'all'));
    const desc = await pullToLayout(client, fx.result.index.digest, pulled, 'pulled');
    expect(desc.digest).toBe(fx.result.index.digest);
    const want = await reachable(source, fx.result.index.digest);
    const got = await reachable(pulled, fx.result.index.digest);
    expect([...got].sort()).toEqual([...want].sort());
    for (const d of got) await pulled.verifyBlobFile(d);
    // The pulled layout is a valid image for skopeo too.
    const raw = JSON.parse(skopeo('inspect', '--raw', `oci:${pulled.dir}:pulled`)) as ImageIndex;
    expect(raw.manifests).toHaveLength(2);
  }, 180_000);

  it('pulls one platform only: a device downloads its own layers and nothing of the other arch', async () => {
    const pulled = new OciLayout(join(scratch, 'arm64'));
    await pullToLayout(client, fx.result.index.digest, pulled, 'device', { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
    const have = new Set(readdirSync(join(pulled.dir, 'blobs/sha256')).map((h) => `sha256:${h}`));
    const arm = fx.result.platforms.find((p) => p.arch === 'arm64')!;
    const amd = fx.result.platforms.find((p) => p.arch === 'amd64')!;
    for (const l of arm.layers) expect(have.has(l.descriptor.digest)).toBe(true);
    for (const l of amd.layers.slice(0, 3)) expect(have.has(l.descriptor.digest)).toBe(false);
  }, 180_000);

  it('makes the SBOMs findable through the OCI 1.1 referrers fallback tag of each image', async () => {
    for (const p of fx.result.platforms) {
      const tag = `sha256-${digestHex(p.manifest.digest)}`;
      const referrers = JSON.parse((await client.getManifest(tag)).bytes.toString('utf8')) as ImageIndex;
      expect(referrers.manifests).toEqual([expect.objectContaining({ digest: p.sbomManifest.digest, artifactType: 'application/vnd.cyclonedx+json' })]);
      const artifact = JSON.parse((await client.getManifest(p.sbomManifest.digest)).bytes.toString('utf8')) as ImageManifest;
      expect(artifact.subject?.digest).toBe(p.manifest.digest);
      const sbom = JSON.parse((await client.getBlob(artifact.layers[0]!.digest)).toString('utf8')) as { bomFormat: string };
      expect(sbom.bomFormat).toBe('CycloneDX');
    }
  }, 60_000);
});
