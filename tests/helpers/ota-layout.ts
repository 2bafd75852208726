// Small OCI image layouts for OTA tests: layers from lists of tar entries (gzip, like the image
// builder's), a config with the right diff_ids, one manifest per platform and an index — the
// same shapes `./build.sh image` writes, in milliseconds and a few KiB.
import { gzipSync } from 'node:zlib';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MEDIA_TYPE, OciLayout, sha256Digest, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest } from '../../ota/shared/oci/index.js';
import { tarBuffer, type TarInput } from '../../ota/shared/tar/tar-writer.js';

export interface LayerSpec { readonly name: string; readonly entries: readonly TarInput[] }

export interface TestImage {
  readonly dir: string;
  readonly layout: OciLayout;
  readonly index: Descriptor;
  readonly manifests: Record<string, Descriptor>;
  readonly layers: Record<string, Descriptor[]>;
}

export async function gzipLayer(layout: OciLayout, entries: readonly TarInput[]): Promise<{ desc: Descriptor; diffId: string }> {
  const tar = await tarBuffer(entries);
  const gz = gzipSync(tar, { level: 6 });
  return { desc: await layout.writeBlob(gz, MEDIA_TYPE.layerGzip), diffId: sha256Digest(tar) };
}

/**
 * A layout with one image per architecture. `layers(arch)` gives that platform's layers, bottom
 * first (equal specs give byte-identical blobs, as the real builder does for unchanged layers).
 */
export async function makeTestImage(options: {
  version: string;
  architectures?: readonly string[];
  layers: (arch: string) => readonly LayerSpec[];
  dir?: string;
  /** Lie in the config about the architecture (an attack test). */
  configArch?: (arch: string) => string;
}): Promise<TestImage> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'lucid-ota-image-'));
  const layout = new OciLayout(dir);
  await layout.init();
  const manifests: Record<string, Descriptor> = {};
  const layers: Record<string, Descriptor[]> = {};
  for (const arch of options.architectures ?? ['amd64', 'arm64']) {
    const built = [];
    for (const spec of options.layers(arch)) built.push(await gzipLayer(layout, spec.entries));
    const config: ImageConfig = {
      architecture: options.configArch?.(arch) ?? arch, os: 'linux',
      config: { Entrypoint: ['/usr/local/bin/node', '/app/dist/entries/supervisor.mjs'], Labels: { 'org.opencontainers.image.version': options.version } },
      rootfs: { type: 'layers', diff_ids: built.map((b) => b.diffId) },
    };
    const configDesc = await layout.writeJson(config, MEDIA_TYPE.config);
    const manifest: ImageManifest = { schemaVersion: 2, mediaType: MEDIA_TYPE.manifest, config: configDesc, layers: built.map((b) => b.desc) };
    manifests[arch] = await layout.writeJson(manifest, MEDIA_TYPE.manifest, { platform: { architecture: arch, os: 'linux', ...(arch === 'arm64' ? { variant: 'v8' } : {}) } });
    layers[arch] = built.map((b) => b.desc);
  }
  const index: ImageIndex = {
    schemaVersion: 2, mediaType: MEDIA_TYPE.index, manifests: Object.values(manifests),
    annotations: { 'org.opencontainers.image.version': options.version },
  };
  const indexDesc = await layout.writeJson(index, MEDIA_TYPE.index);
  await layout.writeIndex({ schemaVersion: 2, mediaType: MEDIA_TYPE.index, manifests: [{ ...indexDesc, annotations: { 'org.opencontainers.image.ref.name': options.version } }] });
  return { dir, layout, index: indexDesc, manifests, layers };
}

/** A typical appliance-shaped image: base, runtime, modules, app — only app changes per version. */
export function applianceLayers(version: string, extra: { appFiles?: Record<string, string> } = {}): (arch: string) => LayerSpec[] {
  return (arch) => [
    { name: 'base', entries: [{ path: 'etc/', type: 'dir' }, { path: 'etc/passwd', data: Buffer.from('root:x:0:0::/:/sbin/nologin\n') }, { path: 'data/', type: 'dir', mode: 0o700, uid: 65532, gid: 65532 }] },
    { name: 'runtime', entries: [{ path: 'usr/local/bin/', type: 'dir' }, { path: 'usr/local/bin/node', mode: 0o755, data: Buffer.from(`node for ${arch}\n`.repeat(2000)) }] },
    { name: 'modules', entries: [{ path: 'app/node_modules/dep/index.js', data: Buffer.from('module.exports = 1;\n') }] },
    {
      name: 'app',
      entries: [
        { path: 'app/dist/version.txt', data: Buffer.from(`${version}\n`) },
        ...Object.entries(extra.appFiles ?? {}).map(([path, text]) => ({ path, data: Buffer.from(text) })),
      ],
    },
  ];
}
