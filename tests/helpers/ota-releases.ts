// Releases for OTA tests, made the way a release manager makes them: real appliance images (the
// test run's image build: base, runtime and modules layers byte-identical, a new app layer per
// version — a bundle of this checkout with the version and the test repository's root.json in
// it), pushed to a real docker-registry, signed into a TUF repository with the release tool and
// published to a static HTTP server. A release can carry a deliberate fault (its self-test
// fails, its supervisor cannot start) to exercise rollbacks. The fleet tests reuse this.
import { copyFile, link, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundle } from '../../image/bundle.mjs';
import { writeLayer } from '../../image/build/layer.js';
import { Tree } from '../../image/build/tree.js';
import { MEDIA_TYPE, OciLayout, RegistryClient, pushLayout, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest } from '../../ota/shared/oci/index.js';
import { ReleaseRepo } from '../../ota/release/repo.js';
import { signRelease } from '../../ota/release/release-build.js';
import { writeBundle } from '../../ota/release/bundle-writer.js';
import type { ReleaseDoc } from '../../ota/shared/release/release-doc.js';
import { imageBuild } from './image-build.js';
import { startRegistry, type TestRegistry } from './registry.js';
import { startStaticServer, type StaticServer } from './static-server.js';

export type Fault = 'none' | 'selftest-fails' | 'supervisor-cannot-start' | 'core-crash-loops';

export interface TestRelease {
  readonly version: string;
  readonly layoutDir: string;
  readonly index: Descriptor;
  /** The app layer (the only one that changes between versions), per architecture. */
  readonly appLayer: Descriptor;
  /** Compressed bytes of every layer of the amd64 image. */
  readonly fullBytes: number;
}

export interface ReleaseEnv {
  readonly dir: string;
  readonly repo: ReleaseRepo;
  readonly registry: TestRegistry;
  readonly server: StaticServer;
  /** LUCID_OTA_URL for devices. */
  readonly url: string;
  readonly rootJson: string;
  /** Builds an image of `version` (not yet signed). */
  build(version: string, options?: { fault?: Fault }): Promise<TestRelease>;
  /** Pushes it and signs it as the channel's release, then publishes the repository. */
  publish(release: TestRelease, options?: { minVersion?: string; channel?: string }): Promise<ReleaseDoc>;
  bundle(release: TestRelease, out: string, options?: { channel?: string; architectures?: string[] }): Promise<string>;
  stop(): Promise<void>;
}

const FAULTS: Record<Exclude<Fault, 'none'>, { file: string; code: string }> = {
  // A self-test that reports a failed check, as a broken build would.
  'selftest-fails': { file: 'entries/selftest.mjs', code: 'process.stdout.write(JSON.stringify({ ok: false, checks: [{ name: "addon:classic-level", ok: false, error: "injected by the test release" }] }) + "\\n"); process.exitCode = 1;\n' },
  // A supervisor that dies at once: systemd restarts it until the boot count rolls it back.
  'supervisor-cannot-start': { file: 'entries/supervisor.mjs', code: 'console.error("injected: this supervisor cannot start"); process.exit(3);\n' },
  // A core that exits right after start: the supervisor marks it failed (crash loop).
  'core-crash-loops': { file: 'entries/core.mjs', code: 'console.error("injected: core exits"); process.exit(1);\n' },
};

export async function createReleaseEnv(options: { registry?: TestRegistry; rootKeys?: number; rootThreshold?: number } = {}): Promise<ReleaseEnv> {
  const dir = await mkdtemp(join(tmpdir(), 'lucid-ota-releases-'));
  const fixture = await imageBuild();
  const base = new OciLayout(fixture.result.layoutDir);
  const repo = await ReleaseRepo.init(join(dir, 'repo'), { rootKeys: options.rootKeys ?? 1, rootThreshold: options.rootThreshold ?? 1 });
  const rootJson = join(repo.metadataDir, '1.root.json');
  const registry = options.registry ?? (await startRegistry());
  const www = join(dir, 'www');
  await mkdir(www, { recursive: true });
  const server = await startStaticServer(www);
  const repository = 'lucid/appliance';

  async function build(version: string, opts: { fault?: Fault } = {}): Promise<TestRelease> {
    const layoutDir = join(dir, 'images', version);
    const layout = new OciLayout(layoutDir);
    await rm(layoutDir, { recursive: true, force: true });
    await layout.init();
    const dist = join(dir, 'dist', version);
    await rm(dist, { recursive: true, force: true });
    await bundle({ outDir: dist, quiet: true, sourcemap: false, version, trustRoot: rootJson, sourceDateEpoch: 1_700_000_000 });
    const fault = opts.fault ?? 'none';
    if (fault !== 'none') await writeFile(join(dist, FAULTS[fault].file), FAULTS[fault].code);
    const app = await writeLayer(layout, 'app', await new Tree().addHost(dist, 'app/dist'), 1_700_000_000);
    const manifests: Descriptor[] = [];
    let fullBytes = 0;
    for (const p of fixture.result.platforms) {
      const manifest = await base.readJson<ImageManifest>(p.manifest.digest);
      const config = await base.readJson<ImageConfig>(manifest.config.digest);
      const lower = manifest.layers.slice(0, -1);
      for (const l of lower) await link(base.blobPath(l.digest), layout.blobPath(l.digest)).catch(() => copyFile(base.blobPath(l.digest), layout.blobPath(l.digest)));
      const labels = { ...config.config.Labels, 'org.opencontainers.image.version': version };
      const newConfig: ImageConfig = { ...config, config: { ...config.config, Labels: labels }, rootfs: { type: 'layers', diff_ids: [...config.rootfs.diff_ids.slice(0, -1), app.diffId] } };
      const configDesc = await layout.writeJson(newConfig, MEDIA_TYPE.config);
      const layers = [...lower, app.descriptor];
      const m: ImageManifest = { schemaVersion: 2, mediaType: MEDIA_TYPE.manifest, config: configDesc, layers, annotations: { ...manifest.annotations, 'org.opencontainers.image.version': version } };
      manifests.push(await layout.writeJson(m, MEDIA_TYPE.manifest, { platform: p.platform }));
      if (p.arch === 'amd64') fullBytes = layers.reduce((s, l) => s + l.size, 0);
    }
    const index: ImageIndex = { schemaVersion: 2, mediaType: MEDIA_TYPE.index, manifests, annotations: { 'org.opencontainers.image.version': version } };
    const indexDesc = await layout.writeJson(index, MEDIA_TYPE.index);
    await layout.writeIndex({ schemaVersion: 2, mediaType: MEDIA_TYPE.index, manifests: [{ ...indexDesc, annotations: { 'org.opencontainers.image.ref.name': version } }] });
    return { version, layoutDir, index: indexDesc, appLayer: app.descriptor, fullBytes };
  }

  return {
    dir, repo, registry, server, url: server.url, rootJson,
    build,
    async publish(release, opts = {}) {
      await pushLayout(new RegistryClient({ registry: registry.url, repository }), new OciLayout(release.layoutDir));
      const doc = await signRelease(repo, {
        layoutDir: release.layoutDir, channel: opts.channel ?? 'stable', version: release.version,
        ...(opts.minVersion ? { minVersion: opts.minVersion } : {}), source: { registry: registry.url, repository },
      });
      await repo.publish(www);
      return doc;
    },
    async bundle(release, out, opts = {}) {
      await writeBundle(repo, { channel: opts.channel ?? 'stable', layoutDir: release.layoutDir, out, ...(opts.architectures ? { architectures: opts.architectures } : {}) });
      return out;
    },
    async stop() {
      await server.stop();
      if (!options.registry) await registry.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
