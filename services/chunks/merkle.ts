// RFC 6962 (Certificate Transparency) Merkle tree over SHA-256, as DESIGN §2 fixes it:
// leaf = H(0x00 ‖ stored chunk object), node = H(0x01 ‖ left ‖ right), the empty tree's root is
// H(""). The tree is "left-full": the split point of n leaves is the largest power of two < n,
// which bottom-up pairing with an odd last node carried up unchanged reproduces exactly.
import { createHash } from 'node:crypto';

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

/** Leaf hash of one stored object, fed in pieces (header, nonce, ciphertext, tag) without joining them. */
export function leafHash(parts: readonly Uint8Array[]): Buffer {
  const h = createHash('sha256').update(LEAF);
  for (const p of parts) h.update(p);
  return h.digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE).update(left).update(right).digest();
}

export function emptyRoot(): Buffer {
  return createHash('sha256').digest();
}

/** MTH of a run of leaf hashes (bottom-up; an odd last node moves up a level unchanged). */
export function merkleRoot(leaves: readonly Uint8Array[]): Buffer {
  if (leaves.length === 0) return emptyRoot();
  let level: Uint8Array[] = leaves.slice();
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return Buffer.from(level[0]!);
}

/** Largest power of two strictly smaller than n (n ≥ 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** RFC 6962 §2.1.1 PATH(m, D[n]): the audit path of leaf m, leaf-to-root order. */
export function inclusionProof(leaves: readonly Uint8Array[], m: number): Buffer[] {
  if (!Number.isInteger(m) || m < 0 || m >= leaves.length) throw new RangeError(`leaf ${m} is not in a tree of ${leaves.length}`);
  const path = (index: number, lo: number, hi: number): Buffer[] => {
    const n = hi - lo;
    if (n === 1) return [];
    const k = splitPoint(n);
    return index < k
      ? [...path(index, lo, lo + k), merkleRoot(leaves.slice(lo + k, hi))]
      : [...path(index - k, lo + k, hi), merkleRoot(leaves.slice(lo, lo + k))];
  };
  return path(m, 0, leaves.length);
}

/** RFC 9162 §2.1.3.2: recomputes the root from a leaf hash and its audit path. */
export function rootFromProof(leaf: Uint8Array, index: number, treeSize: number, path: readonly Uint8Array[]): Buffer | null {
  if (index < 0 || index >= treeSize) return null;
  let fn = index;
  let sn = treeSize - 1;
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

export function verifyInclusion(leaf: Uint8Array, index: number, treeSize: number, path: readonly Uint8Array[], root: Uint8Array): boolean {
  const r = rootFromProof(leaf, index, treeSize, path);
  return r !== null && r.equals(root);
}
