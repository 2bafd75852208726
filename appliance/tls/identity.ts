// The certificate the appliance serves HTTPS with, and its key.
//   - Its own (default): an ECDSA P-256 key made on first start, `<data>/keys/tls-p256.pem`, and
//     a self-signed certificate for its current names, `<data>/keys/tls-cert.pem`, both 0600,
//     written atomically. When the names change (a new address), the certificate is re-issued
//     with the same key, so the public-key fingerprint a person checked stays valid.
//   - The user's: LUCID_TLS_CERT and LUCID_TLS_KEY name PEM files (their own CA, an ACME DNS-01
//     certificate for a real name). A bad or mismatched pair stops the start with one line naming
//     the setting (the entries exit 78, as for any bad setting). The files are re-read when they
//     change (a renewed certificate); a bad renewal is logged and the old pair kept.
// The supervisor owns it (it serves HTTPS itself while core is down) and hands the material to
// core over IPC; core alone (no supervisor) loads it the same way.
import { X509Certificate, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { statSync } from 'node:fs';
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../services/common/fs-atomic.js';
import { loadOrCreateKeyFile } from '../../services/common/key-file.js';
import type { Logger } from '../../services/common/log.js';
import { describeCertificate, type TlsMaterial } from '../../services/common/tls.js';
import { TlsPairError, pairHalfMissing, readUserPair } from '../../services/common/x509/pair.js';
import { issueSelfSigned } from '../../services/common/x509/certificate.js';
import { currentNames, sameNames } from './names.js';

export { readUserPair };

export const TLS_KEY_FILE = 'keys/tls-p256.pem';
export const TLS_CERT_FILE = 'keys/tls-cert.pem';

export interface TlsSettings {
  readonly dataDir: string;
  /** LUCID_HOST: which addresses the certificate names (names.ts). */
  readonly host?: string;
  readonly tlsCert: string | null;
  readonly tlsKey: string | null;
}

export type TlsLoadResult = { ok: true; identity: TlsIdentity } | { ok: false; key: string; message: string };

export class TlsIdentity {
  private current: TlsMaterial;
  private userStamp: string;

  private constructor(
    private readonly settings: TlsSettings,
    private readonly log: Logger,
    material: TlsMaterial,
    private readonly names: () => string[],
    private readonly ownKey: KeyObject | null,
  ) {
    this.current = material;
    this.userStamp = this.stampOfUserFiles();
  }

  /** Loads (or makes) the material; a user pair that is bad comes back as `{ ok: false, key, message }`. */
  static async load(settings: TlsSettings, log: Logger, names: () => string[] = () => currentNames(settings.host)): Promise<TlsLoadResult> {
    const { tlsCert, tlsKey } = settings;
    const half = pairHalfMissing(tlsCert, tlsKey);
    if (half) return { ok: false, key: half.key, message: half.message };
    if (tlsCert !== null && tlsKey !== null) {
      try {
        const material = readUserPair(tlsCert, tlsKey);
        const identity = new TlsIdentity(settings, log, material, names, null);
        identity.warnIfOutOfDate();
        return { ok: true, identity };
      } catch (err) {
        if (err instanceof TlsPairError) return { ok: false, key: err.key, message: err.message };
        throw err;
      }
    }
    const key = await loadOwnKey(settings.dataDir, log);
    const material = await ownCertificate(settings.dataDir, key, names(), log);
    return { ok: true, identity: new TlsIdentity(settings, log, material, names, key) };
  }

  get material(): TlsMaterial { return this.current; }

  /**
   * Own certificate: re-issued (same key) when the names changed. User pair: re-read when a file
   * changed. Resolves true when the material changed.
   */
  async refresh(): Promise<boolean> {
    if (this.ownKey) {
      const names = this.names();
      if (sameNames(names, this.current.names)) return false;
      this.current = await issueAndStore(this.settings.dataDir, this.ownKey, names, this.log);
      return true;
    }
    const stamp = this.stampOfUserFiles();
    if (stamp === this.userStamp) return false;
    this.userStamp = stamp;
    try {
      const next = readUserPair(this.settings.tlsCert!, this.settings.tlsKey!);
      if (next.certificateSha256 === this.current.certificateSha256 && next.keyPem === this.current.keyPem) return false;
      this.current = next;
      this.log.info({ certificateSha256: next.certificateSha256, validTo: next.validTo }, 'TLS certificate reloaded from LUCID_TLS_CERT');
      this.warnIfOutOfDate();
      return true;
    } catch (err) {
      if (!(err instanceof TlsPairError)) throw err;
      this.log.error({ setting: err.key }, `the changed TLS pair is not usable, still serving the previous one: ${err.key}: ${err.message}`);
      return false;
    }
  }

  private stampOfUserFiles(): string {
    const { tlsCert, tlsKey } = this.settings;
    if (tlsCert === null || tlsKey === null) return '';
    const stampOf = (p: string): string => {
      try {
        const s = statSync(p);
        return `${s.ino}:${s.size}:${s.mtimeMs}`;
      } catch {
        return 'missing';
      }
    };
    return `${stampOf(tlsCert)}|${stampOf(tlsKey)}`;
  }

  private warnIfOutOfDate(): void {
    const now = Date.now();
    const m = this.current;
    if (now > Date.parse(m.validTo) || now < Date.parse(m.validFrom)) {
      this.log.warn({ validFrom: m.validFrom, validTo: m.validTo }, 'the TLS certificate from LUCID_TLS_CERT is not valid at this time (browsers will warn)');
    }
  }
}

async function loadOwnKey(dataDir: string, log: Logger): Promise<KeyObject> {
  const make = (): string => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const file = await loadOrCreateKeyFile(dataDir, TLS_KEY_FILE, 'TLS key', make, log);
  try {
    const key = createPrivateKey(file.bytes.toString('utf8'));
    if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return key;
  } catch { /* below */ }
  // Never a dead box: an unreadable key is kept aside and replaced (the fingerprint changes, said loudly).
  const aside = `${file.path}.bad-${Date.now()}`;
  await rename(file.path, aside);
  log.error({ path: file.path, keptAs: aside }, 'the TLS key was unreadable or not P-256; made a new one (its fingerprint is new: check it again)');
  return loadOwnKey(dataDir, log);
}

async function ownCertificate(dataDir: string, key: KeyObject, names: string[], log: Logger): Promise<TlsMaterial> {
  try {
    const certPem = await readFile(join(dataDir, TLS_CERT_FILE), 'utf8');
    const x509 = new X509Certificate(certPem);
    const info = describeCertificate(certPem, 'appliance');
    if (x509.checkPrivateKey(key) && sameNames(info.names, names)) return { ...info, certPem, keyPem: pemOf(key) };
  } catch {
    // Missing, unreadable or not ours: issued again below (the key, which people check, stays).
  }
  return issueAndStore(dataDir, key, names, log);
}

async function issueAndStore(dataDir: string, key: KeyObject, names: string[], log: Logger): Promise<TlsMaterial> {
  const certPem = issueSelfSigned(key, names);
  await writeFileAtomic(join(dataDir, TLS_CERT_FILE), certPem, { mode: 0o600 });
  const material: TlsMaterial = { ...describeCertificate(certPem, 'appliance'), certPem, keyPem: pemOf(key) };
  log.info({ names, certificateSha256: material.certificateSha256, publicKeySha256: material.publicKeySha256 }, 'issued the TLS certificate');
  return material;
}

const pemOf = (key: KeyObject): string => key.export({ format: 'pem', type: 'pkcs8' }) as string;
