// Ed25519 signing keys of a release repository, one PEM file per key (0600), grouped by role:
// `<keys>/<role>/<keyid>.pem`. Key IDs follow the python-tuf/go-tuf convention: SHA-256 of the
// canonical JSON of the public key object. Keys never leave the keys folder; `publish` copies
// metadata and targets only.
import { createHash, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson } from '../shared/oci/types.js';

export const ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;
export type RoleName = (typeof ROLES)[number];

export interface PublicKeyJson {
  readonly keytype: 'ed25519';
  readonly scheme: 'ed25519';
  readonly keyval: { readonly public: string };
}

export interface SigningKey {
  readonly keyId: string;
  readonly publicJson: PublicKeyJson;
  sign(data: Uint8Array): string;
}

export function keyIdOf(pub: PublicKeyJson): string {
  return createHash('sha256').update(canonicalJson(pub)).digest('hex');
}

function fromPrivate(privateKey: KeyObject): SigningKey {
  const jwk = privateKey.export({ format: 'jwk' }) as { x?: string };
  const publicHex = Buffer.from(jwk.x ?? '', 'base64url').toString('hex');
  if (publicHex.length !== 64) throw new Error('not an Ed25519 key');
  const publicJson: PublicKeyJson = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: publicHex } };
  return {
    keyId: keyIdOf(publicJson),
    publicJson,
    sign: (data) => sign(null, data, privateKey).toString('hex'),
  };
}

/** A new key for `role`, written to `<keysDir>/<role>/<keyid>.pem`. */
export async function generateKey(keysDir: string, role: RoleName): Promise<SigningKey> {
  const { privateKey } = generateKeyPairSync('ed25519');
  const key = fromPrivate(privateKey);
  const dir = join(keysDir, role);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(join(dir, `${key.keyId}.pem`), privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  return key;
}

/** Every private key stored for `role`, by key ID. */
export async function loadKeys(keysDir: string, role: RoleName): Promise<Map<string, SigningKey>> {
  const dir = join(keysDir, role);
  const out = new Map<string, SigningKey>();
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.endsWith('.pem')).sort()) {
    const key = fromPrivate(createPrivateKey(await readFile(join(dir, name))));
    out.set(key.keyId, key);
  }
  return out;
}

/** Moves a key that no longer signs (after a rotation) to `<keys>/retired/<role>/`. */
export async function retireKey(keysDir: string, role: RoleName, keyId: string): Promise<void> {
  const to = join(keysDir, 'retired', role);
  await mkdir(to, { recursive: true, mode: 0o700 });
  await rename(join(keysDir, role, `${keyId}.pem`), join(to, `${keyId}.pem`)).catch(() => {});
}
