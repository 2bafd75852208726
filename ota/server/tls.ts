// The fleet server's certificate. HTTPS always (devices pin it at enrollment, pin-spec):
//   - Brought: LUCID_FLEET_TLS_CERT + LUCID_FLEET_TLS_KEY (PEM files), checked with the
//     appliance's code (services/common/x509/pair.ts); a bad or mismatched pair is a TlsPairError
//     naming the setting (main.ts: one line, exit 78).
//   - Its own, made on the first start: an ECDSA P-256 key and a self-signed certificate
//     (services/common/x509/certificate.ts, the appliance's issuer), valid 1970–9999 and never
//     re-issued: devices pin its public key, browsers are shown its fingerprint.
//       LevelDB (one instance): `<data>/keys/fleet-tls-p256.pem` and `fleet-tls-cert.pem`, 0600.
//       PostgreSQL (any number of instances): one row `fleet_meta['tls']`, inserted if absent —
//       the first instance to start makes the pair, every other one (now or later) reads it, so
//       all present the same certificate. The database already holds the fleet's other secrets
//       (the token signing key, password hashes), and whoever can read it can run the fleet, so
//       the key adds no new exposure; a deployment that wants the key outside the database brings
//       its pair (the same files on every instance).
import { X509Certificate, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { writeFileAtomic } from '../../services/common/fs-atomic.js';
import { loadOrCreateKeyFile } from '../../services/common/key-file.js';
import type { Logger } from '../../services/common/log.js';
import { describeCertificate, spkiPin, type TlsMaterial } from '../../services/common/tls.js';
import { issueSelfSigned } from '../../services/common/x509/certificate.js';
import { pairHalfMissing, readUserPair, type PairSettings } from '../../services/common/x509/pair.js';
import type { FleetStore } from './store/types.js';

export const FLEET_PAIR: PairSettings = { cert: 'LUCID_FLEET_TLS_CERT', key: 'LUCID_FLEET_TLS_KEY' };
export const FLEET_TLS_KEY_FILE = 'keys/fleet-tls-p256.pem';
export const FLEET_TLS_CERT_FILE = 'keys/fleet-tls-cert.pem';
const ORGANISATION = 'Lucid fleet';

/** The certificate and what people and devices check it by. */
export interface FleetTls extends TlsMaterial {
  /** base64url(SHA-256(SPKI DER)), 43 characters: what enrollment tokens carry after their dot. */
  readonly pin: string;
}

export interface FleetTlsSettings {
  readonly host: string;
  readonly dataDir: string;
  readonly tlsCert: string | null;
  readonly tlsKey: string | null;
}

/** The names the own certificate is issued for (a browser is shown the fingerprint to compare; devices check only the pin). */
export function fleetNames(host: string): string[] {
  const names = new Set<string>();
  const h = hostname().trim().toLowerCase();
  if (/^[a-z0-9.-]+$/.test(h) && h !== 'localhost') names.add(h);
  names.add('localhost');
  if (isIP(host) !== 0 && host !== '0.0.0.0' && host !== '::') names.add(host);
  names.add('127.0.0.1');
  names.add('::1');
  return [...names];
}

const withPin = (m: TlsMaterial): FleetTls => ({ ...m, pin: spkiPin(m.certPem) });

/** Loads the brought pair, or the fleet's own (made once; shared through PostgreSQL). Throws TlsPairError on a bad pair. */
export async function loadFleetTls(settings: FleetTlsSettings, store: FleetStore, log: Logger): Promise<FleetTls> {
  const half = pairHalfMissing(settings.tlsCert, settings.tlsKey, FLEET_PAIR);
  if (half) throw half;
  if (settings.tlsCert !== null && settings.tlsKey !== null) return withPin(readUserPair(settings.tlsCert, settings.tlsKey, FLEET_PAIR));
  const make = (): { keyPem: string; certPem: string } => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    return { keyPem: pemOf(key), certPem: issueSelfSigned(key, fleetNames(settings.host), ORGANISATION) };
  };
  if (store.kind === 'postgres') {
    const pair = JSON.parse(await store.metaOnce('tls', () => JSON.stringify(make()))) as { keyPem: string; certPem: string };
    return withPin({ ...describeCertificate(pair.certPem, 'appliance'), ...pair });
  }
  return withPin(await ownFiles(settings, log));
}

async function ownFiles(settings: FleetTlsSettings, log: Logger): Promise<TlsMaterial> {
  const newKey = (): string => pemOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
  const file = await loadOrCreateKeyFile(settings.dataDir, FLEET_TLS_KEY_FILE, 'fleet TLS key', newKey, log);
  const key: KeyObject = createPrivateKey(file.bytes.toString('utf8'));
  const certPath = join(settings.dataDir, FLEET_TLS_CERT_FILE);
  let certPem: string | null = null;
  try {
    const have = await readFile(certPath, 'utf8');
    if (new X509Certificate(have).checkPrivateKey(key)) certPem = have;
  } catch { /* missing (first start, or a power cut between the two writes) or unreadable: issued below */ }
  if (certPem === null) {
    // The key (what devices pin) was written first; a certificate issued again for it keeps the pin.
    certPem = issueSelfSigned(key, fleetNames(settings.host), ORGANISATION);
    await writeFileAtomic(certPath, certPem, { mode: 0o600 });
    log.info({ path: certPath }, 'issued the fleet TLS certificate');
  }
  return { ...describeCertificate(certPem, 'appliance'), certPem, keyPem: pemOf(key) };
}

const pemOf = (key: KeyObject): string => key.export({ format: 'pem', type: 'pkcs8' }) as string;
