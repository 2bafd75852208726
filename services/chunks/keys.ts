// The appliance master key and per-session data keys (README.md "Keys").
// - Master key: 32 random bytes in <data>/keys/master.key, mode 0600 in a 0700 folder, made on
//   first boot with writeFileAtomic (a power cut leaves no key or a whole one).
// - Data key: 32 random bytes per session, stored only wrapped by the master key:
//   0x01 ‖ nonce(12) ‖ AES-256-GCM(master, nonce, aad = "lucid-data-key-v1:" ‖ session id)(key) ‖ tag(16)
//   = 61 bytes. Destroying the wrapped key (crypto-shredding) makes the session's chunks unreadable.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { LucidError } from '../common/errors.js';
import { loadOrCreateKeyFile } from '../common/key-file.js';
import type { Logger } from '../common/log.js';
import { open, seal, KEY_BYTES } from './cipher.js';

export const MASTER_KEY_FILE = 'keys/master.key';
export const WRAP_VERSION = 1;
export const WRAPPED_KEY_BYTES = 1 + 12 + KEY_BYTES + 16;

const wrapAad = (sessionId: string): Buffer => Buffer.from(`lucid-data-key-v1:${sessionId}`, 'utf8');

export async function loadOrCreateMasterKey(dataDir: string, log: Logger): Promise<Buffer> {
  const { path, bytes: key, created } = await loadOrCreateKeyFile(dataDir, MASTER_KEY_FILE, 'master key', () => randomBytes(KEY_BYTES), log);
  if (key.length !== KEY_BYTES) throw new LucidError('CHUNK_ERR_MASTER_KEY', `${path} is not a 32-byte key`, { path, length: key.length });
  if (created) log.info({ path }, 'created master key');
  return key;
}

export function newDataKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

export function wrapDataKey(master: Uint8Array, sessionId: string, dataKey: Uint8Array, nonce: Uint8Array = randomBytes(12)): Buffer {
  const { ciphertext, tag } = seal('aes-256-gcm', master, nonce, wrapAad(sessionId), dataKey);
  return Buffer.concat([Buffer.from([WRAP_VERSION]), nonce, ciphertext, tag]);
}

export function unwrapDataKey(master: Uint8Array, sessionId: string, wrapped: Uint8Array): Buffer {
  const w = Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.length);
  if (w.length !== WRAPPED_KEY_BYTES || w[0] !== WRAP_VERSION) {
    throw new LucidError('CHUNK_ERR_KEY_INVALID', 'wrapped data key is malformed', { sessionId });
  }
  try {
    return open('aes-256-gcm', master, w.subarray(1, 13), wrapAad(sessionId), w.subarray(13, 13 + KEY_BYTES), w.subarray(13 + KEY_BYTES));
  } catch (err) {
    throw new LucidError('CHUNK_ERR_KEY_INVALID', 'wrapped data key does not open with this master key', { sessionId }, { cause: err });
  }
}

export function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
