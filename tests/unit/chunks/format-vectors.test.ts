// The published formats against their test vectors, twice: by the independent implementation
// (tests/helpers/independent-verify.ts: node:crypto and zlib + noble only, written from the README)
// and by the project's own code, which must also reproduce every object byte for byte.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import * as ind from '../../helpers/independent-verify.js';
import { importsOf } from '../../helpers/imports.js';
import {
  decodeObject, rootFromLeafHashes, openObject, sealObject, unwrapDataKey, verifyManifest, manifestHash, type SignedManifest,
} from '../../../services/chunks/index.js';

const FIXTURES = join(__dirname, '../../fixtures/chunks');
interface Vector {
  sessionId: string; cipher: 'aes-256-gcm' | 'xchacha20-poly1305'; masterKey: string; wrappedDataKey: string; dataKey: string;
  nodeEd25519Seed: string; nodePublicKey: string; root: string; manifest: string; manifestHash: string;
  chunks: Array<{ index: number; codec: string; plaintextLength: number; plaintextSha256: string; plaintextBase64?: string; nonce: string; leaf: string; object: string }>;
  proofs: Array<{ index: number; path: string[] }>;
}
const vectors = ['aes-256-gcm', 'xchacha20-poly1305'].map((n) => JSON.parse(readFileSync(join(FIXTURES, `${n}.json`), 'utf8')) as Vector);
const b = (s: string): Buffer => Buffer.from(s, 'base64');
const x = (s: string): Buffer => Buffer.from(s, 'hex');

describe('independent check (README + standard libraries only)', () => {
  it('imports nothing of the project', () => {
    const specs = importsOf('tests/helpers/independent-verify.ts').map((e) => e.specifier);
    expect(specs.length).toBeGreaterThan(3);
    for (const s of specs) expect(s, s).toMatch(/^(node:|@noble\/)/);
  });

  for (const v of vectors) {
    it(`${v.cipher}: unwraps the key, decrypts every chunk, recomputes the root, checks proofs and the signed manifest`, () => {
      const key = ind.unwrapDataKey(x(v.masterKey), v.sessionId, x(v.wrappedDataKey));
      expect(key.toString('hex')).toBe(v.dataKey);
      const leaves = v.chunks.map((c) => {
        const obj = b(c.object);
        const parsed = ind.parseObject(obj);
        expect(parsed).toMatchObject({ cipher: v.cipher, codec: c.codec, index: c.index, plaintextLength: c.plaintextLength });
        const plain = ind.decryptObject(obj, key, v.sessionId);
        expect(createHash('sha256').update(plain).digest('hex')).toBe(c.plaintextSha256);
        if (c.plaintextBase64) expect(plain.equals(b(c.plaintextBase64))).toBe(true);
        const leaf = ind.leafHash(obj);
        expect(Buffer.from(leaf).toString('hex')).toBe(c.leaf);
        return leaf;
      });
      expect(ind.merkleRoot(leaves)).toBe(v.root);
      for (const p of v.proofs) expect(ind.verifyInclusion(leaves[p.index]!, p.index, leaves.length, p.path, v.root)).toBe(true);
      const m = ind.checkManifest(v.manifest, v.nodePublicKey);
      expect(m).toMatchObject({ signatureValid: true, canonical: true, hash: v.manifestHash });
      expect(m.body).toMatchObject({ sessionId: v.sessionId, cipher: v.cipher, chunkCount: v.chunks.length, merkle: { root: v.root } });
      expect(Buffer.from(ed25519.getPublicKey(x(v.nodeEd25519Seed))).toString('hex')).toBe(v.nodePublicKey);
      // Any change is caught.
      const tampered = b(v.chunks[0]!.object);
      tampered[tampered.length - 20]! ^= 1;
      expect(() => ind.decryptObject(tampered, key, v.sessionId)).toThrow();
      expect(() => ind.decryptObject(b(v.chunks[0]!.object), key, '01941a6e-5f00-7000-8000-000000000000')).toThrow();
      expect(ind.checkManifest(v.manifest.replace('"test vector"', '"test vectoR"'), v.nodePublicKey).signatureValid).toBe(false);
    });

    it(`${v.cipher}: the project's code agrees and reproduces every object byte for byte`, async () => {
      const key = unwrapDataKey(x(v.masterKey), v.sessionId, x(v.wrappedDataKey));
      const ctx = { sessionId: v.sessionId, cipher: v.cipher, key };
      for (const c of v.chunks) {
        const obj = b(c.object);
        const plain = await decodeObject(ctx, obj, c.index);
        expect(createHash('sha256').update(plain).digest('hex')).toBe(c.plaintextSha256);
        const { header, payload } = openObject(ctx, obj, c.index);
        const again = sealObject(ctx, c.index, header.codec, header.plainLength, payload, x(c.nonce));
        expect(again.bytes.equals(obj)).toBe(true);
        expect(again.leaf.toString('hex')).toBe(c.leaf);
      }
      expect(rootFromLeafHashes(v.chunks.map((c) => x(c.leaf))).toString('hex')).toBe(v.root);
      const manifest = JSON.parse(v.manifest) as SignedManifest;
      expect(verifyManifest(manifest, v.nodePublicKey)).toBe(true);
      expect(manifestHash(manifest)).toBe(v.manifestHash);
    });
  }
});
