// Copying whole images between a local OCI layout and a registry, children before parents:
// blobs, then each platform's manifest, then the index (a registry refuses an index naming a
// manifest it does not have). Artifacts that refer to an image (`subject`, e.g. our SBOMs) are
// pushed by digest and listed in the OCI 1.1 referrers fallback tag `sha256-<hex>`, because
// docker-registry 2.8 has no referrers API.
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { LucidError } from '../../../services/common/errors.js';
import { digestHex } from './digest.js';
import type { OciLayout } from './layout.js';
import type { RegistryClient } from './registry-client.js';
import { ANNOTATION, MEDIA_TYPE, canonicalJson, type Descriptor, type ImageIndex, type ImageManifest, type Platform } from './types.js';

export interface PushResult {
  /** Every manifest/index digest pushed, in push order. */
  manifests: string[];
  blobsUploaded: number;
  blobsSkipped: number;
  /** Tags set: ref names from index.json and referrers fallback tags. */
  tags: string[];
}

/** Pushes every entry of the layout's index.json (tagged by its ref name when it has one). */
export async function pushLayout(client: RegistryClient, layout: OciLayout, options: { chunkSize?: number } = {}): Promise<PushResult> {
  const result: PushResult = { manifests: [], blobsUploaded: 0, blobsSkipped: 0, tags: [] };
  const referrers = new Map<string, Descriptor[]>();
  const top = await layout.readIndex();
  for (const desc of top.manifests) {
    await pushTree(client, layout, desc, result, referrers, options);
    const ref = desc.annotations?.[ANNOTATION.refName];
    if (ref) {
      await client.pushManifest(ref, await layout.readBlob(desc.digest), desc.mediaType);
      result.tags.push(ref);
    }
  }
  for (const [subject, descs] of referrers) {
    const tag = `sha256-${digestHex(subject)}`;
    const existing = await client.getManifest(tag).then((m) => JSON.parse(m.bytes.toString('utf8')) as ImageIndex, () => null);
    const merged = [...(existing?.manifests ?? []).filter((d) => !descs.some((n) => n.digest === d.digest)), ...descs];
    const index: ImageIndex = { schemaVersion: 2, mediaType: MEDIA_TYPE.index, manifests: merged };
    await client.pushManifest(tag, Buffer.from(canonicalJson(index)), MEDIA_TYPE.index);
    result.tags.push(tag);
  }
  return result;
}

async function pushTree(
  client: RegistryClient, layout: OciLayout, desc: Descriptor, result: PushResult,
  referrers: Map<string, Descriptor[]>, options: { chunkSize?: number },
): Promise<void> {
  const bytes = await layout.readBlob(desc.digest);
  if (desc.mediaType === MEDIA_TYPE.index) {
    const index = JSON.parse(bytes.toString('utf8')) as ImageIndex;
    for (const child of index.manifests) await pushTree(client, layout, child, result, referrers, options);
  } else if (desc.mediaType === MEDIA_TYPE.manifest) {
    const manifest = JSON.parse(bytes.toString('utf8')) as ImageManifest;
    for (const blob of [manifest.config, ...manifest.layers]) {
      const outcome = await client.pushBlob(blob.digest, { path: layout.blobPath(blob.digest) }, options);
      if (outcome === 'uploaded') result.blobsUploaded++;
      else result.blobsSkipped++;
    }
    if (manifest.subject) {
      const list = referrers.get(manifest.subject.digest) ?? [];
      list.push({ mediaType: desc.mediaType, digest: desc.digest, size: desc.size, artifactType: manifest.artifactType ?? manifest.config.mediaType, ...(manifest.annotations ? { annotations: manifest.annotations } : {}) });
      referrers.set(manifest.subject.digest, list);
    }
  } else {
    throw new LucidError('OCI_ERR_UNSUPPORTED', `cannot push ${desc.mediaType}`);
  }
  await client.pushManifest(desc.digest, bytes, desc.mediaType);
  result.manifests.push(desc.digest);
}

export interface PullOptions {
  /** Only this platform's manifest (and its blobs) from an index; all platforms when absent. */
  readonly platform?: Platform;
  readonly signal?: AbortSignal;
  readonly onBlob?: (digest: string, size: number, resumedFrom: number) => void;
}

/**
 * Fetches an image (index or manifest) by digest into the layout and names it `ref` in
 * index.json. Blobs already present are re-verified, not re-downloaded; interrupted blob
 * downloads resume. Returns the descriptor recorded in index.json.
 */
export async function pullToLayout(client: RegistryClient, digest: string, layout: OciLayout, ref: string, options: PullOptions = {}): Promise<Descriptor> {
  await layout.init();
  await mkdir(join(layout.dir, 'blobs', 'sha256'), { recursive: true });
  const desc = await pullTree(client, digest, layout, options);
  const index = await layout.readIndex();
  const named: Descriptor = { ...desc, annotations: { [ANNOTATION.refName]: ref } };
  await layout.writeIndex({ ...index, manifests: [...index.manifests.filter((d) => d.annotations?.[ANNOTATION.refName] !== ref), named] });
  return named;
}

async function pullTree(client: RegistryClient, digest: string, layout: OciLayout, options: PullOptions): Promise<Descriptor> {
  const fetched = await client.getManifest(digest, { signal: options.signal });
  const doc = JSON.parse(fetched.bytes.toString('utf8')) as ImageIndex | ImageManifest;
  if (doc.mediaType === MEDIA_TYPE.index) {
    const wanted = (doc as ImageIndex).manifests.filter((d) => !options.platform || samePlatform(d.platform, options.platform));
    if (wanted.length === 0) throw new LucidError('OCI_ERR_NOT_FOUND', `no manifest for the wanted platform in ${digest}`);
    for (const child of wanted) await pullTree(client, child.digest, layout, options);
  } else if (doc.mediaType === MEDIA_TYPE.manifest) {
    for (const blob of [(doc as ImageManifest).config, ...(doc as ImageManifest).layers]) {
      if (await layout.hasBlob(blob.digest)) {
        await layout.verifyBlobFile(blob.digest);
        continue;
      }
      const { resumedFrom } = await client.downloadBlob(blob.digest, blob.size, layout.blobPath(blob.digest), { signal: options.signal });
      options.onBlob?.(blob.digest, blob.size, resumedFrom);
    }
  } else {
    throw new LucidError('OCI_ERR_UNSUPPORTED', `unexpected manifest media type ${String((doc as { mediaType?: unknown }).mediaType)}`);
  }
  await layout.writeBlob(fetched.bytes, fetched.mediaType || doc.mediaType);
  return { mediaType: doc.mediaType, digest: fetched.digest, size: fetched.bytes.length };
}

function samePlatform(a: Platform | undefined, b: Platform): boolean {
  return a !== undefined && a.os === b.os && a.architecture === b.architecture && (b.variant === undefined || a.variant === b.variant);
}
