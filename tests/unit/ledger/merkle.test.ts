// RFC 6962 tree: the Certificate Transparency reference roots, every audit path of trees up to
// 70 leaves, and a naive independent implementation to compare against.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { inclusionPath, leafHash, merkleRoot, rootFromLeafHashes, verifyInclusion } from '../../../services/common/merkle.js';

const H = (...b: Buffer[]): Buffer => createHash('sha256').update(Buffer.concat(b)).digest();

// Straight from RFC 6962 §2.1, written independently of the code under test.
function naiveRoot(d: Buffer[]): Buffer {
  if (d.length === 0) return H();
  if (d.length === 1) return H(Buffer.of(0), d[0]!);
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return H(Buffer.of(1), naiveRoot(d.slice(0, k)), naiveRoot(d.slice(k)));
}

describe('RFC 6962 Merkle tree', () => {
  const leaves = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));

  it('matches the Certificate Transparency reference roots', () => {
    expect(merkleRoot([]).toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(merkleRoot(leaves.slice(0, 1)).toString('hex')).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
    expect(merkleRoot(leaves.slice(0, 2)).toString('hex')).toBe('fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125');
    expect(merkleRoot(leaves.slice(0, 5)).toString('hex')).toBe('4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4');
    expect(merkleRoot(leaves).toString('hex')).toBe('5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328');
  });

  it('every audit path of every tree up to 70 leaves verifies, and nothing else does', () => {
    for (let n = 1; n <= 70; n++) {
      const data = Array.from({ length: n }, (_, i) => Buffer.from(`leaf-${i}`));
      const hashed = data.map((x) => leafHash(x));
      const root = rootFromLeafHashes(hashed);
      expect(root.equals(naiveRoot(data))).toBe(true);
      for (let i = 0; i < n; i++) {
        const path = inclusionPath(hashed, i);
        expect(verifyInclusion(hashed[i]!, i, n, path, root)).toBe(true);
        if (n > 1) {
          expect(verifyInclusion(hashed[i]!, (i + 1) % n, n, path, root)).toBe(false);
          expect(verifyInclusion(leafHash(Buffer.from('x')), i, n, path, root)).toBe(false);
        }
        // (The tree size is not authenticated by a path: e.g. leaf 0 of 3 verifies with size 4 too.
        // Anchor proofs take the size from the signed header's txCount.)
        expect(verifyInclusion(hashed[i]!, i, n, [...path, Buffer.alloc(32)], root)).toBe(false);
      }
    }
  });

  it('refuses out-of-range indexes', () => {
    expect(() => inclusionPath([leafHash(Buffer.of(1))], 1)).toThrow(RangeError);
    expect(verifyInclusion(leafHash(Buffer.of(1)), 0, 0, [], H())).toBe(false);
  });
});
