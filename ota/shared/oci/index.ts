// OCI images for OTA: the distribution-API client, the on-disk layout, and push/pull of whole
// images. Shared by the image builder (image/build), the device agent and the fleet server.
export { RegistryClient, type RegistryClientOptions, type FetchedManifest, type DownloadOptions } from './registry-client.js';
export { OciLayout, LAYOUT_FILE, LAYOUT_VERSION } from './layout.js';
export { pushLayout, pullToLayout, type PushResult, type PullOptions } from './transfer.js';
export { DigestCounter, assertDigest, digestHex, isDigest, sha256Digest, verifyDigest } from './digest.js';
export {
  ANNOTATION, EMPTY_DIGEST, EMPTY_JSON, MANIFEST_ACCEPT, MEDIA_TYPE, canonicalJson, platformName,
  type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest, type Platform,
} from './types.js';
