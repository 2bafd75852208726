// Secret key files under <data>/keys/ (the node identity, the JWT key, the master key): read on
// every boot, made on the first. A made key is written atomically (a power cut leaves no key or
// a whole one) with mode 0600 in a 0700 folder; a key whose mode someone widened (a backup
// restore, a copy) is narrowed back to 0600, with a warning.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { chmod, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LucidError, errnoCode } from './errors.js';
import { mkdirDurable, writeFileAtomic } from './fs-atomic.js';
import type { Logger } from './log.js';

/**
 * The bytes of `<dataDir>/<relPath>`, or, when it does not exist, `create()`'s, written durably.
 * `what` names the key in log lines ("node key", "JWT key", …).
 */
export async function loadOrCreateKeyFile(
  dataDir: string, relPath: string, what: string, create: () => Uint8Array | string, log: Logger,
): Promise<{ readonly path: string; readonly bytes: Buffer; readonly created: boolean }> {
  const path = join(dataDir, relPath);
  try {
    const info = await stat(path);
    if ((info.mode & 0o077) !== 0) {
      log.warn({ path, mode: (info.mode & 0o777).toString(8) }, `${what} had unsafe permissions; set to 0600`);
      await chmod(path, 0o600);
    }
    return { path, bytes: await readFile(path), created: false };
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  const made = create();
  await mkdirDurable(dirname(path), 0o700);
  await writeFileAtomic(path, made, { mode: 0o600 });
  return { path, bytes: typeof made === 'string' ? Buffer.from(made) : Buffer.from(made), created: true };
}

/** An Ed25519 private key from a PKCS#8 PEM key file, or ID_ERR_KEY_INVALID naming the file. */
export function ed25519FromPem(pem: Buffer, path: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem.toString('utf8'));
  } catch (err) {
    throw new LucidError('ID_ERR_KEY_INVALID', `${path} is not a readable private key`, { path }, { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new LucidError('ID_ERR_KEY_INVALID', `${path} holds a ${key.asymmetricKeyType} key, not Ed25519`, { path });
  }
  return key;
}
