// The session manifest (README.md "Manifest"): RFC 8785 canonical JSON, signed with the node's
// Ed25519 key. The signature covers the canonical bytes of the manifest without its `signature`
// member; the manifest hash — what the chain anchors — is SHA-256 of those same bytes.
import { createHash, createPublicKey, verify as edVerify } from 'node:crypto';
import { canonicalBytes, type Json } from './canonical-json.js';
import type { CipherName } from './object-format.js';

export const MANIFEST_FORMAT = 'lucid-session-manifest/1';
export const MERKLE_SCHEME = 'rfc6962-sha256';

export interface ManifestBody {
  readonly format: typeof MANIFEST_FORMAT;
  readonly sessionId: string;
  readonly node: { readonly id: string; readonly publicKey: string };
  readonly createdAt: string;
  readonly completedAt: string;
  readonly cipher: CipherName;
  readonly codec: 'gzip-6';
  readonly chunkSize: number;
  readonly chunkCount: number;
  /** Plaintext bytes of the session. */
  readonly totalBytes: number;
  /** Bytes of all stored chunk objects. */
  readonly storedBytes: number;
  readonly merkle: { readonly scheme: typeof MERKLE_SCHEME; readonly root: string };
  readonly labels: Readonly<Record<string, string>>;
}

export interface Signature {
  readonly algorithm: 'ed25519';
  readonly publicKey: string;
  /** 64-byte Ed25519 signature over the canonical bytes of the manifest without `signature`, hex. */
  readonly value: string;
}

export type SignedManifest = ManifestBody & { readonly signature: Signature };

export interface ManifestSigner {
  readonly publicKeyHex: string;
  sign(message: Uint8Array): Uint8Array;
}

export function manifestBytes(body: ManifestBody): Buffer {
  return canonicalBytes(body as unknown as Json);
}

export function manifestHash(manifest: ManifestBody | SignedManifest): string {
  const { signature: _drop, ...body } = manifest as SignedManifest;
  return createHash('sha256').update(manifestBytes(body)).digest('hex');
}

export function signManifest(body: ManifestBody, signer: ManifestSigner): SignedManifest {
  const value = Buffer.from(signer.sign(manifestBytes(body))).toString('hex');
  return { ...body, signature: { algorithm: 'ed25519', publicKey: signer.publicKeyHex, value } };
}

/** Raw 32-byte Ed25519 public key (hex) as a node KeyObject. */
export function ed25519PublicKey(hex: string): ReturnType<typeof createPublicKey> {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(hex, 'hex').toString('base64url') }, format: 'jwk' });
}

export function verifyManifest(manifest: SignedManifest, publicKeyHex: string = manifest.signature.publicKey): boolean {
  const { signature, ...body } = manifest;
  if (signature?.algorithm !== 'ed25519' || !/^[0-9a-f]{128}$/.test(signature.value)) return false;
  try {
    return edVerify(null, manifestBytes(body), ed25519PublicKey(publicKeyHex), Buffer.from(signature.value, 'hex'));
  } catch {
    return false;
  }
}

/** The canonical serialisation of a signed manifest (as served and stored). */
export function manifestText(manifest: SignedManifest): string {
  return canonicalBytes(manifest as unknown as Json).toString('utf8');
}
