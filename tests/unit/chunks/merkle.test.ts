// RFC 6962 Merkle tree: the Certificate Transparency test vectors, the recursive definition of
// MTH and PATH as an oracle for every tree size up to 70, and tampered proofs.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { emptyRoot, inclusionPath, leafHash, rootFromLeafHashes, rootFromProof, verifyInclusion } from '../../../services/chunks/index.js';

const sha = (...parts: Uint8Array[]): Buffer => { const h = createHash('sha256'); for (const p of parts) h.update(p); return h.digest(); };
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// certificate-transparency/go: merkle/testdata and RFC 6962 §2.1.3 examples.
const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
const CT_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

// The definition, literally (RFC 6962 §2.1), as the oracle.
function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return sha();
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha(Buffer.from([1]), mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}
function path(m: number, leaves: Buffer[]): Buffer[] {
  if (leaves.length <= 1) return [];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return m < k ? [...path(m, leaves.slice(0, k)), mth(leaves.slice(k))] : [...path(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}

describe('RFC 6962 Merkle tree', () => {
  it('leaf and empty-tree hashes follow the RFC', () => {
    expect(hex(leafHash(Buffer.from('ab'), Buffer.from('c')))).toBe(hex(sha(Buffer.from([0]), Buffer.from('abc'))));
    expect(hex(emptyRoot())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hex(rootFromLeafHashes([]))).toBe(hex(emptyRoot()));
  });

  it('reproduces the Certificate Transparency roots for trees of 1…8 leaves', () => {
    const leaves = CT_LEAVES.map((d) => leafHash(d));
    for (let n = 1; n <= 8; n++) expect(hex(rootFromLeafHashes(leaves.slice(0, n))), `tree of ${n}`).toBe(CT_ROOTS[n - 1]);
  });

  it('equals the recursive definition, and every audit path verifies, for every size up to 70', () => {
    for (let n = 1; n <= 70; n++) {
      const leaves = Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
      const root = rootFromLeafHashes(leaves);
      expect(hex(root)).toBe(hex(mth(leaves)));
      for (let m = 0; m < n; m++) {
        const proof = inclusionPath(leaves, m);
        expect(proof.map(hex)).toEqual(path(m, leaves).map(hex));
        expect(verifyInclusion(leaves[m]!, m, n, proof, root)).toBe(true);
      }
    }
  });

  it('rejects a proof with a changed leaf, sibling, index, tree size or length', () => {
    const leaves = Array.from({ length: 13 }, (_, i) => leafHash(Buffer.from([i])));
    const root = rootFromLeafHashes(leaves);
    const proof = inclusionPath(leaves, 6);
    expect(verifyInclusion(leaves[6]!, 6, 13, proof, root)).toBe(true);
    expect(verifyInclusion(leaves[7]!, 6, 13, proof, root)).toBe(false);
    const flipped = proof.map((p) => Buffer.from(p));
    flipped[1]![0]! ^= 1;
    expect(verifyInclusion(leaves[6]!, 6, 13, flipped, root)).toBe(false);
    expect(verifyInclusion(leaves[6]!, 7, 13, proof, root)).toBe(false);
    expect(verifyInclusion(leaves[6]!, 6, 7, proof, root)).toBe(false);
    expect(verifyInclusion(leaves[6]!, 6, 13, proof.slice(0, -1), root)).toBe(false);
    expect(verifyInclusion(leaves[6]!, 6, 13, [...proof, root], root)).toBe(false);
    expect(rootFromProof(leaves[0]!, 13, 13, proof)).toBeNull();
    expect(() => inclusionPath(leaves, 13)).toThrow(RangeError);
  });
});
