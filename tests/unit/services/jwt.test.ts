// JwtSigner: EdDSA tokens, their verification cache, and the `Authorization` header form.
import { describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { JwtSigner, type AccessClaims } from '../../../services/auth/jwt.js';

const claims: AccessClaims = { typ: 'access', sub: 'u1', usr: 'alice', role: 'admin', sid: 's1', jti: 'j1', iat: 1, exp: 2_000_000_000, uah: 'h' };
const signer = (): JwtSigner => new JwtSigner(generateKeyPairSync('ed25519').privateKey);

describe('JwtSigner', () => {
  it('verifies its own tokens, as a bare token and as a Bearer header', () => {
    const jwt = signer();
    const token = jwt.sign(claims);
    expect(jwt.verify(token)).toEqual(claims);
    expect(jwt.verifyBearer(`Bearer ${token}`)).toEqual(claims);
    expect(jwt.verifyBearer(`Bearer ${token}  `)).toEqual(claims); // trailing space trimmed, as before
    // Cached: the same object comes back without a second signature check.
    expect(jwt.verifyBearer(`Bearer ${token}`)).toBe(jwt.verifyBearer(`Bearer ${token}`));
  });

  it('refuses other schemes, tampered tokens and another key\'s tokens', () => {
    const jwt = signer();
    const token = jwt.sign(claims);
    expect(jwt.verifyBearer(`bearer ${token}`)).toBeNull();
    expect(jwt.verifyBearer(`Basic ${token}`)).toBeNull();
    expect(jwt.verifyBearer(token)).toBeNull(); // a bare token is not a header
    const [h, p, s] = token.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ ...claims, role: 'super_admin' })).toString('base64url');
    expect(jwt.verifyBearer(`Bearer ${h}.${forged}.${s}`)).toBeNull();
    // A flipped bit in the signature. (Not its last characters: an Ed25519 signature's last byte
    // is S's top byte, 0x00–0x10, so overwriting the end with "AA" left the token unchanged
    // about one run in 16.)
    const sig = Buffer.from(s, 'base64url');
    sig[10]! ^= 0x01;
    expect(jwt.verify(`${h}.${p}.${sig.toString('base64url')}`)).toBeNull();
    expect(jwt.verify(`${h}.${p}.${s}`)).toEqual(claims);
    expect(signer().verifyBearer(`Bearer ${token}`)).toBeNull();
  });

  it('a header cached as valid does not make a different header valid', () => {
    const jwt = signer();
    const token = jwt.sign(claims);
    expect(jwt.verifyBearer(`Bearer ${token}`)).not.toBeNull();
    expect(jwt.verifyBearer(`Bearer ${token}x`)).toBeNull();
    // Same signature (the cache key's tail), different claims: checked in full, refused, and
    // the genuine entry still answers.
    const [h, , s] = token.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ ...claims, role: 'super_admin' })).toString('base64url');
    expect(jwt.verifyBearer(`Bearer ${h}.${forged}.${s}`)).toBeNull();
    expect(jwt.verifyBearer(`Bearer ${token}`)).toEqual(claims);
    expect(jwt.verify(`Bearer ${token}`)).toBeNull(); // a header is not a bare token
  });
});
