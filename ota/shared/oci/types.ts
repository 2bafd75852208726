// OCI image-spec shapes (v1.1) the image builder writes and the OTA code reads: descriptors,
// image manifests, image indexes, and the media types they are labelled with. Plain data, no I/O.

export const MEDIA_TYPE = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  layerTar: 'application/vnd.oci.image.layer.v1.tar',
  /** The empty JSON `{}` used as config by artifacts (OCI 1.1 "empty descriptor"). */
  empty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  cyclonedx: 'application/vnd.cyclonedx+json',
} as const;

/**
 * Accept list for manifest GETs. Debian's docker-registry answers 404 "OCI index found, but accept
 * header does not support OCI indexes" unless the index type is listed, even when asking by
 * digest, so every manifest request sends all four.
 */
export const MANIFEST_ACCEPT = [MEDIA_TYPE.index, MEDIA_TYPE.manifest, MEDIA_TYPE.dockerManifestList, MEDIA_TYPE.dockerManifest].join(', ');

/** The bytes and digest of the OCI empty descriptor `{}`. */
export const EMPTY_JSON = '{}';
export const EMPTY_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

export const ANNOTATION = {
  refName: 'org.opencontainers.image.ref.name',
  created: 'org.opencontainers.image.created',
  version: 'org.opencontainers.image.version',
  revision: 'org.opencontainers.image.revision',
  source: 'org.opencontainers.image.source',
  title: 'org.opencontainers.image.title',
  description: 'org.opencontainers.image.description',
  licenses: 'org.opencontainers.image.licenses',
} as const;

export interface Platform {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly platform?: Platform;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ImageManifest {
  readonly schemaVersion: 2;
  readonly mediaType: typeof MEDIA_TYPE.manifest;
  readonly artifactType?: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ImageIndex {
  readonly schemaVersion: 2;
  readonly mediaType: typeof MEDIA_TYPE.index;
  readonly artifactType?: string;
  readonly manifests: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** The image configuration (only the fields we write or read). */
export interface ImageConfig {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
  readonly created?: string;
  readonly config: {
    readonly User?: string;
    readonly Env?: readonly string[];
    readonly Entrypoint?: readonly string[];
    readonly Cmd?: readonly string[];
    readonly WorkingDir?: string;
    readonly Labels?: Readonly<Record<string, string>>;
    readonly Volumes?: Readonly<Record<string, Record<string, never>>>;
    readonly ExposedPorts?: Readonly<Record<string, Record<string, never>>>;
    readonly StopSignal?: string;
  };
  readonly rootfs: { readonly type: 'layers'; readonly diff_ids: readonly string[] };
  readonly history?: ReadonlyArray<{ readonly created?: string; readonly created_by?: string; readonly comment?: string; readonly empty_layer?: boolean }>;
}

/** `linux/arm64/v8` style name of a platform, for messages and file names. */
export function platformName(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((s) => s !== undefined && s !== '').join('/');
}

/**
 * JSON with keys sorted at every level and no whitespace: the same value always gives the same
 * bytes, so manifest and index digests depend on content only, never on construction order.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}
