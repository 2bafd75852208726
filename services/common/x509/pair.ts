// A certificate and key a user brings (their own CA, an ACME certificate): read and checked once,
// with the setting at fault named in the error, so a bad pair stops a start with one clear line
// (exit 78). The appliance (LUCID_TLS_CERT / LUCID_TLS_KEY, appliance/tls/identity.ts) and the
// fleet server (LUCID_FLEET_TLS_CERT / LUCID_FLEET_TLS_KEY, ota/server/tls.ts) share it.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { errnoCode } from '../errors.js';
import { describeCertificate, tlsServerOptions, type TlsMaterial } from '../tls.js';

/** The pair's setting names, for the messages. */
export interface PairSettings {
  readonly cert: string;
  readonly key: string;
}

export const APPLIANCE_PAIR: PairSettings = { cert: 'LUCID_TLS_CERT', key: 'LUCID_TLS_KEY' };

export class TlsPairError extends Error {
  constructor(readonly key: string, message: string) { super(message); }
}

/** Reads and checks a user's pair. Throws TlsPairError naming the setting at fault. */
export function readUserPair(certPath: string, keyPath: string, settings: PairSettings = APPLIANCE_PAIR): TlsMaterial {
  const read = (path: string, key: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new TlsPairError(key, `cannot read ${path}: ${errnoCode(err) ?? (err as Error).message}`);
    }
  };
  const certPem = read(certPath, settings.cert);
  const keyPem = read(keyPath, settings.key);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(certPem);
  } catch {
    throw new TlsPairError(settings.cert, `${certPath} holds no readable PEM certificate`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw new TlsPairError(settings.key, `${keyPath} holds no readable private key (PEM, unencrypted)`);
  }
  if (!x509.checkPrivateKey(key)) {
    throw new TlsPairError(settings.key, `${keyPath} is not the key of the certificate in ${settings.cert} (${certPath})`);
  }
  try {
    createSecureContext(tlsServerOptions({ keyPem, certPem }));
  } catch (err) {
    throw new TlsPairError(settings.cert, `${certPath} cannot be served: ${(err as Error).message}`);
  }
  return { ...describeCertificate(certPem, 'user'), keyPem, certPem };
}

/** Both or neither: one without the other is a bad setting (named: the one given). */
export function pairHalfMissing(certPath: string | null, keyPath: string | null, settings: PairSettings = APPLIANCE_PAIR): TlsPairError | null {
  if ((certPath === null) === (keyPath === null)) return null;
  const missing = certPath === null ? settings.cert : settings.key;
  const given = certPath === null ? settings.key : settings.cert;
  return new TlsPairError(given, `needs ${missing} too: a certificate and its key come as a pair`);
}
