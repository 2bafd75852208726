// RFC 6962 (Certificate Transparency) Merkle tree over SHA-256, as DESIGN §2 fixes it, for both
// trees the appliance builds: a session's chunk objects (services/chunks) and a block's
// transactions (services/ledger). leaf = H(0x00 ‖ data), node = H(0x01 ‖ left ‖ right), the
// empty tree's root = H(""); the split point of n leaves is the largest power of two below n.
// Paths are audit paths in RFC 6962 §2.1.1 order (leaf to root); verification follows
// RFC 9162 §2.1.3.2.
import { createHash } from 'node:crypto';

const LEAF = Buffer.from([0x00]);
const NODE = Buffer.from([0x01]);

export function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Leaf hash of data given in one or more pieces (a chunk object: header, nonce, ciphertext, tag). */
export function leafHash(...data: Uint8Array[]): Buffer {
  return sha256(LEAF, ...data);
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return sha256(NODE, left, right);
}

/** The root of the empty tree: SHA-256 of nothing. */
export function emptyRoot(): Buffer {
  return sha256();
}

/** Largest power of two strictly below n (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function rootOf(leaves: readonly Uint8Array[], lo: number, hi: number): Buffer {
  const n = hi - lo;
  if (n === 1) return Buffer.from(leaves[lo]!);
  const k = split(n);
  return nodeHash(rootOf(leaves, lo, lo + k), rootOf(leaves, lo + k, hi));
}

/** Root over already-hashed leaves. */
export function rootFromLeafHashes(leaves: readonly Uint8Array[]): Buffer {
  return leaves.length === 0 ? emptyRoot() : rootOf(leaves, 0, leaves.length);
}

/** Root over the items themselves (each hashed as a leaf). */
export function merkleRoot(items: readonly Uint8Array[]): Buffer {
  return rootFromLeafHashes(items.map((i) => leafHash(i)));
}

function pathOf(leaves: readonly Uint8Array[], m: number, lo: number, hi: number, out: Buffer[]): void {
  const n = hi - lo;
  if (n <= 1) return;
  const k = split(n);
  if (m < k) {
    pathOf(leaves, m, lo, lo + k, out);
    out.push(rootOf(leaves, lo + k, hi));
  } else {
    pathOf(leaves, m - k, lo + k, hi, out);
    out.push(rootOf(leaves, lo, lo + k));
  }
}

/** Audit path of leaf `index` (leaf to root) over already-hashed leaves. */
export function inclusionPath(leaves: readonly Uint8Array[], index: number): Buffer[] {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) throw new RangeError(`leaf ${index} outside 0..${leaves.length - 1}`);
  const out: Buffer[] = [];
  pathOf(leaves, index, 0, leaves.length, out);
  return out;
}

/** RFC 9162 §2.1.3.2: the root that `path` leads to from `leaf` (a leaf hash) at `index` of a tree of `size`; null when the path cannot fit. */
export function rootFromProof(leaf: Uint8Array, index: number, size: number, path: readonly Uint8Array[]): Buffer | null {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

/** True when `path` proves `leaf` (a leaf hash) at `index` of a tree of `size` with `root`. */
export function verifyInclusion(leaf: Uint8Array, index: number, size: number, path: readonly Uint8Array[], root: Uint8Array): boolean {
  const r = rootFromProof(leaf, index, size, path);
  return r !== null && r.equals(Buffer.from(root));
}
