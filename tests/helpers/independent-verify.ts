// An independent implementation of services/chunks/README.md, written from the document with
// standard libraries only (node:crypto, node:zlib, the @noble packages) and NONE of the project's code — a
// test checks this file's imports. If the project and this file disagree, one of them does not
// do what the document says.
import { createDecipheriv } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { gcm } from '@noble/ciphers/aes.js';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';

export interface ParsedObject {
  readonly cipher: 'aes-256-gcm' | 'xchacha20-poly1305';
  readonly codec: 'raw' | 'gzip';
  readonly index: number;
  readonly plaintextLength: number;
  readonly header: Uint8Array;
  readonly nonce: Uint8Array;
  /** ciphertext ‖ tag */
  readonly sealed: Uint8Array;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const be32 = (b: Uint8Array, at: number): number => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

export function parseObject(bytes: Uint8Array): ParsedObject {
  if (bytes.length < 24 || Buffer.from(bytes.subarray(0, 4)).toString('latin1') !== 'LCK1' || bytes[4] !== 1) throw new Error('not a version 1 chunk object');
  const cipher = bytes[5] === 1 ? 'aes-256-gcm' : bytes[5] === 2 ? 'xchacha20-poly1305' : null;
  const codec = bytes[6] === 0 ? 'raw' : bytes[6] === 1 ? 'gzip' : null;
  const n = bytes[7]!;
  if (!cipher || !codec || n !== (cipher === 'aes-256-gcm' ? 12 : 24)) throw new Error('bad cipher, codec or nonce length');
  const index = be32(bytes, 8) * 2 ** 32 + be32(bytes, 12);
  const payload = be32(bytes, 20);
  if (bytes.length !== 24 + n + payload + 16) throw new Error('object length does not match its header');
  return { cipher, codec, index, plaintextLength: be32(bytes, 16), header: bytes.subarray(0, 24), nonce: bytes.subarray(24, 24 + n), sealed: bytes.subarray(24 + n) };
}

/** The data key from the master key and the 61-byte wrapped key (README "Keys"). */
export function unwrapDataKey(master: Uint8Array, sessionId: string, wrapped: Uint8Array): Buffer {
  if (wrapped.length !== 61 || wrapped[0] !== 1) throw new Error('bad wrapped key');
  const d = createDecipheriv('aes-256-gcm', master, wrapped.subarray(1, 13));
  d.setAAD(Buffer.from(`lucid-data-key-v1:${sessionId}`, 'utf8'));
  d.setAuthTag(wrapped.subarray(45, 61));
  return Buffer.concat([d.update(wrapped.subarray(13, 45)), d.final()]);
}

/** Authenticates, decrypts and decodes one object. Throws on any failure. */
export function decryptObject(bytes: Uint8Array, dataKey: Uint8Array, sessionId: string): Buffer {
  const o = parseObject(bytes);
  const aad = new Uint8Array([...o.header, ...Buffer.from(sessionId, 'ascii')]);
  const payload = o.cipher === 'aes-256-gcm'
    ? gcm(dataKey, o.nonce, aad).decrypt(o.sealed)
    : xchacha20poly1305(dataKey, o.nonce, aad).decrypt(o.sealed);
  const plain = o.codec === 'gzip' ? gunzipSync(payload) : Buffer.from(payload);
  if (plain.length !== o.plaintextLength) throw new Error('plaintext length does not match the header');
  return plain;
}

export function leafHash(object: Uint8Array): Uint8Array {
  return sha256.create().update(new Uint8Array([0])).update(object).digest();
}

const nodeHash = (l: Uint8Array, r: Uint8Array): Uint8Array => sha256.create().update(new Uint8Array([1])).update(l).update(r).digest();

/** RFC 6962 §2.1 MTH, recursively as written. */
export function merkleRoot(leaves: readonly Uint8Array[]): string {
  const mth = (lo: number, hi: number): Uint8Array => {
    if (hi - lo === 0) return sha256(new Uint8Array(0));
    if (hi - lo === 1) return leaves[lo]!;
    let k = 1;
    while (k * 2 < hi - lo) k *= 2;
    return nodeHash(mth(lo, lo + k), mth(lo + k, hi));
  };
  return hex(mth(0, leaves.length));
}

/** RFC 9162 §2.1.3.2 inclusion proof verification. */
export function verifyInclusion(leaf: Uint8Array, index: number, treeSize: number, path: readonly string[], root: string): boolean {
  if (index >= treeSize) return false;
  let fn = index;
  let sn = treeSize - 1;
  let r = leaf;
  for (const p of path.map((x) => Buffer.from(x, 'hex'))) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && hex(r) === root;
}

/** RFC 8785, from the RFC: sorted members (UTF-16 order), ECMAScript serialisation. */
export function jcs(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(jcs).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${jcs(o[k])}`).join(',')}}`;
}

export interface ManifestCheck {
  readonly body: Record<string, any>;
  readonly hash: string;
  readonly signatureValid: boolean;
  /** The served text is already canonical (re-canonicalising changes nothing). */
  readonly canonical: boolean;
}

export function checkManifest(text: string, publicKeyHex?: string): ManifestCheck {
  const parsed = JSON.parse(text) as Record<string, any>;
  const { signature, ...body } = parsed;
  const signed = Buffer.from(jcs(body), 'utf8');
  const key = publicKeyHex ?? (signature?.publicKey as string);
  let signatureValid = false;
  try {
    signatureValid = signature?.algorithm === 'ed25519' && ed25519.verify(Buffer.from(signature.value, 'hex'), signed, Buffer.from(key, 'hex'));
  } catch {
    signatureValid = false;
  }
  return { body, hash: hex(sha256(signed)), signatureValid, canonical: jcs(parsed) === text };
}
