// The release document: the one TUF target of a channel (`<channel>/release.json`). Small, signed
// (through TUF's targets role), and the root of everything a device fetches: it names the OCI
// image index by digest and, per platform, the manifest, config and layers with their sizes —
// so every byte a device downloads is bounded and checked against signed metadata before it asks
// for it. Parsing is strict: unknown shapes are refused, not guessed at.
import { LucidError } from '../../../services/common/errors.js';
import { isDigest } from '../oci/digest.js';
import { MEDIA_TYPE } from '../oci/types.js';
import { isVersion } from './version.js';

export const RELEASE_SCHEMA = 'lucid-release/1';
/** The TUF target path of a channel's release document. */
export const releaseTargetPath = (channel: string): string => `${channel}/release.json`;
export const CHANNEL = /^[a-z0-9][a-z0-9-]{0,31}$/;
export const MAX_RELEASE_BYTES = 64 * 1024;
const MAX_BLOB = 8 * 1024 ** 3;
const MAX_TOTAL = 16 * 1024 ** 3;

export interface BlobRef { readonly digest: string; readonly size: number }
export interface LayerRef extends BlobRef { readonly mediaType: string }

export interface ReleasePlatform {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
  readonly manifest: BlobRef;
  readonly config: BlobRef;
  readonly layers: readonly LayerRef[];
  /** Sum of the compressed layer sizes. */
  readonly downloadBytes: number;
  /** Bytes of file content once unpacked (the unpacker refuses more). */
  readonly unpackedBytes: number;
}

export interface ReleaseSource {
  /** Base URL of an OCI distribution registry, e.g. http://10.0.0.2:5000. */
  readonly registry: string;
  readonly repository: string;
}

export interface ReleaseDoc {
  readonly schema: typeof RELEASE_SCHEMA;
  readonly channel: string;
  readonly version: string;
  /** Devices older than this may not install the release (they need an intermediate one). */
  readonly minVersion: string;
  readonly created: string;
  readonly notes?: string;
  readonly image: { readonly mediaType: typeof MEDIA_TYPE.index; readonly digest: string; readonly size: number };
  /** Where online devices fetch the image; null for a release that ships only in bundles. */
  readonly source: ReleaseSource | null;
  readonly platforms: readonly ReleasePlatform[];
}

function bad(message: string): LucidError {
  return new LucidError('OTA_ERR_BAD_RELEASE', `release document: ${message}`);
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${what} is not an object`);
  return v as Record<string, unknown>;
}

function str(v: unknown, what: string, max = 256): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw bad(`${what} is not a string of 1..${max} characters`);
  return v;
}

function size(v: unknown, what: string, max = MAX_BLOB): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0 || (v as number) > max) throw bad(`${what} is not a size in 0..${max}`);
  return v as number;
}

function blob(v: unknown, what: string, max = MAX_BLOB): BlobRef {
  const o = obj(v, what);
  if (typeof o['digest'] !== 'string' || !isDigest(o['digest'])) throw bad(`${what}.digest is not a sha256 digest`);
  return { digest: o['digest'], size: size(o['size'], `${what}.size`, max) };
}

function platform(v: unknown, i: number): ReleasePlatform {
  const o = obj(v, `platforms[${i}]`);
  const layersRaw = o['layers'];
  if (!Array.isArray(layersRaw) || layersRaw.length === 0 || layersRaw.length > 64) throw bad(`platforms[${i}].layers must list 1..64 layers`);
  const layers = layersRaw.map((l: unknown, j) => {
    const mediaType = str(obj(l, `layer ${j}`)['mediaType'], `platforms[${i}].layers[${j}].mediaType`);
    if (mediaType !== MEDIA_TYPE.layerGzip && mediaType !== MEDIA_TYPE.layerTar) throw bad(`layer media type ${mediaType} is not supported`);
    return { ...blob(l, `platforms[${i}].layers[${j}]`), mediaType };
  });
  const downloadBytes = size(o['downloadBytes'], `platforms[${i}].downloadBytes`, MAX_TOTAL);
  if (downloadBytes !== layers.reduce((s, l) => s + l.size, 0)) throw bad(`platforms[${i}].downloadBytes is not the sum of its layers`);
  return {
    architecture: str(o['architecture'], 'architecture', 32),
    os: str(o['os'], 'os', 32),
    ...(o['variant'] === undefined ? {} : { variant: str(o['variant'], 'variant', 32) }),
    manifest: blob(o['manifest'], `platforms[${i}].manifest`, 4 * 1024 * 1024),
    config: blob(o['config'], `platforms[${i}].config`, 4 * 1024 * 1024),
    layers,
    downloadBytes,
    unpackedBytes: size(o['unpackedBytes'], `platforms[${i}].unpackedBytes`, MAX_TOTAL),
  };
}

/** Parses and checks a release document (the bytes TUF verified). Throws OTA_ERR_BAD_RELEASE. */
export function parseReleaseDoc(bytes: Uint8Array | string): ReleaseDoc {
  const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8');
  if (Buffer.byteLength(text) > MAX_RELEASE_BYTES) throw bad(`larger than ${MAX_RELEASE_BYTES} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  const o = obj(raw, 'document');
  if (o['schema'] !== RELEASE_SCHEMA) throw bad(`schema is not ${RELEASE_SCHEMA}`);
  const channel = str(o['channel'], 'channel', 32);
  if (!CHANNEL.test(channel)) throw bad('channel is not a lower-case name');
  const version = str(o['version'], 'version', 64);
  const minVersion = str(o['minVersion'], 'minVersion', 64);
  if (!isVersion(version) || !isVersion(minVersion)) throw bad('version and minVersion must be semantic versions');
  const image = obj(o['image'], 'image');
  if (image['mediaType'] !== MEDIA_TYPE.index) throw bad('image is not an OCI image index');
  const platformsRaw = o['platforms'];
  if (!Array.isArray(platformsRaw) || platformsRaw.length === 0 || platformsRaw.length > 8) throw bad('platforms must list 1..8 platforms');
  let source: ReleaseSource | null = null;
  if (o['source'] !== null && o['source'] !== undefined) {
    const s = obj(o['source'], 'source');
    const registry = str(s['registry'], 'source.registry', 512);
    if (!/^https?:\/\/[^\s/]+/.test(registry)) throw bad('source.registry is not an http(s) URL');
    const repository = str(s['repository'], 'source.repository', 256);
    if (!/^[a-z0-9]+(?:[._/-][a-z0-9]+)*$/.test(repository)) throw bad('source.repository is not a repository name');
    source = { registry, repository };
  }
  return {
    schema: RELEASE_SCHEMA,
    channel,
    version,
    minVersion,
    created: str(o['created'], 'created', 40),
    ...(o['notes'] === undefined ? {} : { notes: str(o['notes'], 'notes', 4000) }),
    image: { mediaType: MEDIA_TYPE.index, ...blob(image, 'image', 1024 * 1024) },
    source,
    platforms: platformsRaw.map(platform),
  };
}

/** Node's process.arch as an OCI architecture. */
export function ociArch(nodeArch: string = process.arch): string {
  return nodeArch === 'x64' ? 'amd64' : nodeArch === 'ia32' ? '386' : nodeArch;
}

/** This device's platform entry, or OTA_ERR_NO_PLATFORM. */
export function platformFor(doc: ReleaseDoc, arch: string = ociArch()): ReleasePlatform {
  const found = doc.platforms.find((p) => p.os === 'linux' && p.architecture === arch);
  if (!found) {
    throw new LucidError('OTA_ERR_NO_PLATFORM', `release ${doc.version} has no image for linux/${arch} (it has ${doc.platforms.map((p) => `${p.os}/${p.architecture}`).join(', ')})`, { arch });
  }
  return found;
}
