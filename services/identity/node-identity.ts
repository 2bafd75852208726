// The appliance's Ed25519 node identity, made on first boot. The private key lives in
// <data>/keys/node-ed25519.pem with mode 0600 (directory 0700), written atomically so a power
// cut during first boot leaves either no key (made again) or a whole one.
import { createHash, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { ed25519FromPem, loadOrCreateKeyFile } from '../common/key-file.js';
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
  const file = await loadOrCreateKeyFile(dataDir, NODE_KEY_FILE, 'node key', () => generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, log);
  const identity = identityFrom(ed25519FromPem(file.bytes, file.path));
  if (file.created) log.info({ nodeId: identity.nodeId }, 'created node identity');
  return identity;
}
