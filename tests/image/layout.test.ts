// The OCI layout `./build.sh image` writes: accepted by skopeo (layout and archive) and umoci,
// both platforms in one index, layers in the promised order with matching diff_ids, the image
// config (user, entrypoint, env, labels = SOURCE_DATE_EPOCH), and every blob intact.
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { imageBuild, type ImageFixture } from '../helpers/image-build.js';
import { ROOT } from '../helpers/appliance.js';
import { MEDIA_TYPE, OciLayout, sha256Digest, type ImageConfig, type ImageIndex, type ImageManifest } from '../../ota/shared/oci/index.js';
import { LAYER_ORDER, NONROOT } from '../../image/build/recipe.js';

let fx: ImageFixture;
let layout: OciLayout;
beforeAll(async () => {
  fx = await imageBuild();
  layout = new OciLayout(fx.result.layoutDir);
}, 20 * 60_000);

const skopeo = (...args: string[]): string => execFileSync('skopeo', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('OCI layout', () => {
  it('is an image layout whose index.json names the index, each platform and the SBOMs', async () => {
    expect(JSON.parse(readFileSync(join(layout.dir, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    const top = await layout.readIndex();
    const names = top.manifests.map((d) => d.annotations?.['org.opencontainers.image.ref.name'] ?? `(${d.artifactType})`);
    const v = fx.result.version;
    expect(names).toEqual([v, `${v}-amd64`, `${v}-arm64`, '(application/vnd.cyclonedx+json)', '(application/vnd.cyclonedx+json)']);
    expect(top.manifests[0]!.digest).toBe(fx.result.index.digest);
  });

  it('skopeo reads the index from the layout and from the OCI archive, with both platforms', () => {
    const raw = JSON.parse(skopeo('inspect', '--raw', `oci:${layout.dir}:${fx.result.version}`)) as ImageIndex;
    expect(raw.mediaType).toBe(MEDIA_TYPE.index);
    expect(raw.manifests.map((m) => m.platform)).toEqual([{ architecture: 'amd64', os: 'linux' }, { architecture: 'arm64', os: 'linux', variant: 'v8' }]);
    for (const arch of ['amd64', 'arm64']) {
      const inspected = JSON.parse(skopeo('inspect', '--override-arch', arch, '--override-os', 'linux', `oci-archive:${fx.result.archive}:${fx.result.version}`)) as { Architecture: string; Layers: string[]; Labels: Record<string, string> };
      expect(inspected.Architecture).toBe(arch);
      expect(inspected.Layers).toHaveLength(4);
      expect(inspected.Labels['org.opencontainers.image.revision']).toBe(fx.result.revision);
    }
  });

  it('umoci lists the per-platform references', () => {
    const out = execFileSync('umoci', ['ls', '--layout', layout.dir], { encoding: 'utf8' });
    expect(out.split('\n').filter(Boolean).sort()).toEqual([fx.result.version, `${fx.result.version}-amd64`, `${fx.result.version}-arm64`].sort());
  });

  it('every blob in the layout matches its digest', async () => {
    const blobs = readdirSync(join(layout.dir, 'blobs/sha256'));
    expect(blobs.length).toBeGreaterThan(15);
    for (const hex of blobs) await layout.verifyBlobFile(`sha256:${hex}`);
  });

  it('each platform has base < runtime < modules < app, gzip layers whose diff_ids match, and the promised config', async () => {
    const index = await layout.readJson<ImageIndex>(fx.result.index.digest);
    const created = fx.result.created;
    const commitTime = Number(process.env['SOURCE_DATE_EPOCH'] ?? execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: ROOT, encoding: 'utf8' }).trim());
    expect(created).toBe(new Date(commitTime * 1000).toISOString().replace('.000Z', 'Z'));
    const appLayers = new Set<string>();
    for (const desc of index.manifests) {
      const manifest = await layout.readJson<ImageManifest>(desc.digest);
      const config = await layout.readJson<ImageConfig>(manifest.config.digest);
      const built = fx.result.platforms.find((p) => p.manifest.digest === desc.digest)!;
      expect(built.layers.map((l) => l.name)).toEqual([...LAYER_ORDER]);
      expect(manifest.layers.every((l) => l.mediaType === MEDIA_TYPE.layerGzip)).toBe(true);
      expect(config.architecture).toBe(desc.platform!.architecture);
      expect(config.os).toBe('linux');
      expect(config.created).toBe(created);
      expect(config.config.User).toBe(`${NONROOT.uid}:${NONROOT.gid}`);
      expect(config.config.Entrypoint).toEqual(['/usr/local/bin/node', '/app/dist/entries/supervisor.mjs']);
      expect(config.config.WorkingDir).toBe('/app');
      expect(config.config.Env).toEqual(expect.arrayContaining(['LUCID_PROFILE=device', 'LUCID_DATA_DIR=/data', 'PATH=/usr/local/bin']));
      expect(config.config.Volumes).toEqual({ '/data': {} });
      expect(config.config.Labels).toMatchObject({
        'org.opencontainers.image.version': fx.result.version,
        'org.opencontainers.image.revision': fx.result.revision,
        'org.opencontainers.image.created': created,
        'org.opencontainers.image.source': expect.any(String),
      });
      expect(manifest.annotations?.['org.opencontainers.image.created']).toBe(created);
      for (const [i, layer] of manifest.layers.entries()) {
        const tar = gunzipSync(await layout.readBlob(layer.digest));
        expect(sha256Digest(tar), `diff_id of layer ${i}`).toBe(config.rootfs.diff_ids[i]);
      }
      appLayers.add(manifest.layers[3]!.digest);
      expect(config.history).toHaveLength(4);
    }
    // dist/ is the same JavaScript for both CPUs: one blob, stored and downloaded once.
    expect(appLayers.size).toBe(1);
    const [amd, arm] = fx.result.platforms;
    for (const i of [0, 1, 2]) expect(amd!.layers[i]!.descriptor.digest).not.toBe(arm!.layers[i]!.descriptor.digest);
  });
});
