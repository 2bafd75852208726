// The chunk pipeline's public face: formats, crypto, Merkle tree, manifest, file store.
export {
  OBJECT_MAGIC, TAIL_MAGIC, HEADER_BYTES, TAG_BYTES, NONCE_BYTES, MIN_CHUNK_SIZE, MAX_CHUNK_SIZE, DEFAULT_CHUNK_SIZE,
  decodeHeader, encodeHeader, associatedData, type CipherName, type CodecName, type ObjectHeader,
} from './object-format.js';
export { seal, sealInto, open, randomNonce, xchachaSubkey, defaultCipherFor, KEY_BYTES } from './cipher.js';
export {
  encodeChunk, decodeChunk, looksIncompressible, sampleRatio, keepZlibEngines, clearZlibEngines, GZIP_LEVEL, GZIP_MEM_LEVEL, RAW_THRESHOLD, type Encoded,
} from './codec.js';
export { leafHash, nodeHash, rootFromLeafHashes, emptyRoot, inclusionPath, rootFromProof, verifyInclusion } from '../common/merkle.js';
export { canonicalize, canonicalBytes, type Json } from './canonical-json.js';
export { loadOrCreateMasterKey, newDataKey, wrapDataKey, unwrapDataKey, MASTER_KEY_FILE, WRAPPED_KEY_BYTES } from './keys.js';
export {
  sealObject, processChunk, openObject, decodeObject, sealTailSegment, openTailSegments, type SessionCrypto, type SealedChunk, type ObjectAllocator,
} from './chunk-object.js';
export { ChunkFiles, type RecoveryResult, type FolderSurvey } from './chunk-files.js';
export { DiskGuard, isDiskFull, BALLAST_BYTES, FLOOR_BYTES } from './disk-guard.js';
export { BufferPool, Semaphore } from './buffer-pool.js';
export {
  signManifest, verifyManifest, manifestHash, manifestBytes, manifestText, ed25519PublicKey, MANIFEST_FORMAT, MERKLE_SCHEME,
  type ManifestBody, type SignedManifest, type ManifestSigner, type Signature,
} from './manifest.js';
