// From a built image (an OCI layout, `./build.sh image` → out/image/oci) to a signed release: the
// release document names the index and, per platform, the manifest, config and layers with
// their sizes; the unpacked size is measured by gunzipping each layer (which also checks it
// against the config's diff_ids, so a broken layout is refused here, not on a device).
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { LucidError } from '../../services/common/errors.js';
import { DigestCounter, MEDIA_TYPE, OciLayout, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest } from '../shared/oci/index.js';
import { RELEASE_SCHEMA, releaseTargetPath, parseReleaseDoc, type ReleaseDoc, type ReleasePlatform, type ReleaseSource } from '../shared/release/release-doc.js';
import { isVersion } from '../shared/release/version.js';
import type { ReleaseRepo } from './repo.js';

export interface ImageRelease {
  readonly index: Descriptor;
  readonly version: string | null;
  readonly platforms: ReleasePlatform[];
}

/** The image index in a layout: the entry named `ref`, or the only index in index.json. */
export async function findIndex(layout: OciLayout, ref?: string): Promise<Descriptor> {
  const top = await layout.readIndex();
  const indexes = top.manifests.filter((d) => d.mediaType === MEDIA_TYPE.index && (ref === undefined || d.annotations?.['org.opencontainers.image.ref.name'] === ref || d.digest === ref));
  if (indexes.length !== 1) {
    throw new LucidError('OTA_ERR_BAD_RELEASE', `${layout.dir}: ${indexes.length === 0 ? 'no image index' : 'several image indexes'}${ref ? ` named ${ref}` : ''} in index.json${indexes.length > 1 ? ' (pass --ref)' : ''}`);
  }
  return indexes[0]!;
}

async function unpackedSize(layout: OciLayout, layer: Descriptor, diffId: string): Promise<number> {
  const counter = new DigestCounter();
  const source = createReadStream(layout.blobPath(layer.digest));
  const stream = layer.mediaType === MEDIA_TYPE.layerGzip ? source.pipe(createGunzip()) : source;
  for await (const chunk of stream) counter.update(chunk as Buffer);
  if (counter.digest() !== diffId) throw new LucidError('OTA_ERR_BAD_RELEASE', `layer ${layer.digest}: uncompressed digest is not the config's diff_id ${diffId}`);
  return counter.bytes;
}

/** Reads the image's platforms (manifests that have a platform) and measures them. */
export async function describeImage(layoutDir: string, ref?: string): Promise<ImageRelease> {
  const layout = new OciLayout(layoutDir);
  const index = await findIndex(layout, ref);
  const doc = await layout.readJson<ImageIndex>(index.digest);
  const platforms: ReleasePlatform[] = [];
  for (const m of doc.manifests) {
    if (m.mediaType !== MEDIA_TYPE.manifest || !m.platform) continue;
    const manifest = await layout.readJson<ImageManifest>(m.digest);
    const config = await layout.readJson<ImageConfig>(manifest.config.digest);
    if (config.rootfs.diff_ids.length !== manifest.layers.length) throw new LucidError('OTA_ERR_BAD_RELEASE', `${m.digest}: diff_ids do not match the layers`);
    let unpacked = 0;
    for (const [i, l] of manifest.layers.entries()) unpacked += await unpackedSize(layout, l, config.rootfs.diff_ids[i]!);
    platforms.push({
      architecture: m.platform.architecture, os: m.platform.os, ...(m.platform.variant ? { variant: m.platform.variant } : {}),
      manifest: { digest: m.digest, size: m.size },
      config: { digest: manifest.config.digest, size: manifest.config.size },
      layers: manifest.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })),
      downloadBytes: manifest.layers.reduce((s, l) => s + l.size, 0),
      unpackedBytes: unpacked,
    });
  }
  if (platforms.length === 0) throw new LucidError('OTA_ERR_BAD_RELEASE', `${index.digest} names no platform image`);
  return { index, version: doc.annotations?.['org.opencontainers.image.version'] ?? null, platforms };
}

export interface SignOptions {
  readonly layoutDir: string;
  readonly ref?: string;
  readonly channel: string;
  /** Default: the image's org.opencontainers.image.version. */
  readonly version?: string;
  /** Devices below it may not install this release. Default: 0.0.0 (any). */
  readonly minVersion?: string;
  readonly source: ReleaseSource | null;
  readonly notes?: string;
  readonly now?: Date;
}

/** Signs the image into the repository as the channel's current release; returns the document. */
export async function signRelease(repo: ReleaseRepo, options: SignOptions): Promise<ReleaseDoc> {
  const image = await describeImage(options.layoutDir, options.ref);
  const version = options.version ?? image.version;
  if (!version || !isVersion(version)) throw new LucidError('OTA_ERR_BAD_RELEASE', `no semantic version for the release (image says ${String(image.version)}; pass --version)`);
  const doc = {
    schema: RELEASE_SCHEMA,
    channel: options.channel,
    version,
    minVersion: options.minVersion ?? '0.0.0',
    created: (options.now ?? new Date()).toISOString(),
    ...(options.notes ? { notes: options.notes } : {}),
    image: { mediaType: MEDIA_TYPE.index, digest: image.index.digest, size: image.index.size },
    source: options.source,
    platforms: image.platforms,
  };
  const bytes = Buffer.from(`${JSON.stringify(doc, null, 2)}\n`);
  const parsed = parseReleaseDoc(bytes); // the device's own parser: refuse here what it would refuse
  await repo.putTarget(releaseTargetPath(options.channel), bytes, { version, channel: options.channel, minVersion: parsed.minVersion });
  return parsed;
}
