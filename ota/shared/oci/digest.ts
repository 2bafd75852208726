// Content digests (`sha256:<64 hex>`): parse, compute, verify. Everything fetched by digest is
// checked against it before use; a registry's Docker-Content-Digest header is a hint, not proof.
import { createHash, type Hash } from 'node:crypto';
import { LucidError } from '../../../services/common/errors.js';

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

/** Throws OCI_ERR_BAD_DIGEST unless `value` is a sha256 digest (the only algorithm we accept). */
export function assertDigest(value: string): string {
  if (!DIGEST.test(value)) throw new LucidError('OCI_ERR_BAD_DIGEST', `not a sha256 digest: ${JSON.stringify(value).slice(0, 100)}`);
  return value;
}

export function digestHex(digest: string): string {
  return assertDigest(digest).slice('sha256:'.length);
}

export function sha256Digest(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A running sha256 over streamed bytes, with the byte count. */
export class DigestCounter {
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.bytes += chunk.byteLength;
  }

  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/** Throws OCI_ERR_DIGEST_MISMATCH when `actual` differs from `expected`. */
export function verifyDigest(expected: string, actual: string, what: string): void {
  if (expected !== actual) {
    throw new LucidError('OCI_ERR_DIGEST_MISMATCH', `${what}: expected ${expected}, got ${actual}`, { expected, actual });
  }
}
