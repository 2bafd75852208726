// The appliance's Ed25519 node identity, made on first boot. The private key lives in
// <data>/keys/node-ed25519.pem with mode 0600 (directory 0700), written atomically so a power
// cut during first boot leaves either no key (made again) or a whole one.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmod, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LucidError, errnoCode } from '../common/errors.js';
import { mkdirDurable, writeFileAtomic } from '../common/fs-atomic.js';
import type { Logger } from '../common/log.js';

export interface NodeIdentity {
  /** 40 hex characters: the first 20 bytes of SHA-256 over the raw 32-byte public key. */
  readonly nodeId: string;
  /** The raw 32-byte Ed25519 public key, hex. */
  readonly publicKeyHex: string;
  readonly publicKey: KeyObject;
  sign(message: Uint8Array): Buffer;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

export const NODE_KEY_FILE = 'keys/node-ed25519.pem';

export function rawPublicKey(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  return Buffer.from(jwk.x ?? '', 'base64url');
}

export function nodeIdOf(rawPublic: Uint8Array): string {
  return createHash('sha256').update(rawPublic).digest('hex').slice(0, 40);
}

function identityFrom(privateKey: KeyObject): NodeIdentity {
  const publicKey = createPublicKey(privateKey);
  const raw = rawPublicKey(publicKey);
  return {
    nodeId: nodeIdOf(raw),
    publicKeyHex: raw.toString('hex'),
    publicKey,
    sign: (message) => sign(null, message, privateKey),
    verify: (message, signature) => verify(null, message, publicKey, signature),
  };
}

export async function loadOrCreateNodeIdentity(dataDir: string, log: Logger): Promise<NodeIdentity> {
  const path = join(dataDir, NODE_KEY_FILE);
  let pem: string | null = null;
  try {
    const info = await stat(path);
    if ((info.mode & 0o077) !== 0) {
      // Someone widened the mode (a backup restore, a copy). Narrow it and say so loudly.
      log.warn({ path, mode: (info.mode & 0o777).toString(8) }, 'node key had unsafe permissions; set to 0600');
      await chmod(path, 0o600);
    }
    pem = await readFile(path, 'utf8');
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  if (pem !== null) {
    let key: KeyObject;
    try {
      key = createPrivateKey(pem);
    } catch (err) {
      throw new LucidError('ID_ERR_KEY_INVALID', `${path} is not a readable private key`, { path }, { cause: err });
    }
    if (key.asymmetricKeyType !== 'ed25519') {
      throw new LucidError('ID_ERR_KEY_INVALID', `${path} holds a ${key.asymmetricKeyType} key, not Ed25519`, { path });
    }
    return identityFrom(key);
  }
  const { privateKey } = generateKeyPairSync('ed25519');
  await mkdirDurable(join(dataDir, 'keys'), 0o700);
  await writeFileAtomic(path, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
  const identity = identityFrom(privateKey);
  log.info({ nodeId: identity.nodeId }, 'created node identity');
  return identity;
}
