// What the supervisor and core share about the appliance's HTTPS: the certificate they serve
// (made on the device or brought by the user), how a person recognises it (SHA-256 fingerprints),
// and the one set of TLS server options both processes listen with.
import { X509Certificate, createHash } from 'node:crypto';
import type { TlsOptions } from 'node:tls';

/** What anyone may know about the certificate: the API serves it publicly. */
export interface TlsInfo {
  /** `appliance`: made on the device (self-signed); `user`: LUCID_TLS_CERT / LUCID_TLS_KEY. */
  readonly source: 'appliance' | 'user';
  /** SHA-256 of the certificate (DER), as browsers show it: `AB:CD:…` (32 bytes). */
  readonly certificateSha256: string;
  /** SHA-256 of the public key (SPKI DER), `AB:CD:…`: stays the same when the certificate is re-issued. */
  readonly publicKeySha256: string;
  /** The same hash in base64, the form of Chromium's `--ignore-certificate-errors-spki-list` and of HPKP pins. */
  readonly spkiSha256Base64: string;
  /** DNS names and IP addresses the certificate names (subjectAltName). */
  readonly names: readonly string[];
  readonly subject: string;
  readonly validFrom: string;
  readonly validTo: string;
}

/** The pair a server needs, with its description. The key never leaves the appliance's processes. */
export interface TlsMaterial extends TlsInfo {
  readonly keyPem: string;
  /** The certificate, or for a user's pair the whole chain file (leaf first). */
  readonly certPem: string;
}

export const colonHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex').toUpperCase().replace(/(..)(?!$)/g, '$1:');

/** Describes the first certificate of a PEM file (the leaf of a chain). Throws on a bad certificate. */
export function describeCertificate(certPem: string, source: TlsInfo['source']): TlsInfo {
  const x509 = new X509Certificate(certPem);
  const spki = x509.publicKey.export({ format: 'der', type: 'spki' });
  const spkiHash = createHash('sha256').update(spki).digest();
  return {
    source,
    certificateSha256: colonHex(createHash('sha256').update(x509.raw).digest()),
    publicKeySha256: colonHex(spkiHash),
    spkiSha256Base64: spkiHash.toString('base64'),
    names: subjectAltNames(x509),
    subject: x509.subject.replace(/\n/g, ', '),
    validFrom: new Date(x509.validFrom).toISOString(),
    validTo: new Date(x509.validTo).toISOString(),
  };
}

/** `DNS:a, IP Address:1.2.3.4` → `['a', '1.2.3.4']` (node prints IPv6 addresses in full, lower case). */
export function subjectAltNames(x509: X509Certificate): string[] {
  const san = x509.subjectAltName;
  if (!san) return [];
  return san.split(', ').map((entry) => entry.replace(/^(DNS|IP Address):/, '')).filter((n) => n.length > 0).map(shortIpv6);
}

/** node prints a certificate's IPv6 addresses in full (`FD00:0:0:0:0:0:0:2`); people write `fd00::2`. */
function shortIpv6(name: string): string {
  if (!name.includes(':')) return name;
  try {
    return new URL(`http://[${name}]/`).hostname.slice(1, -1);
  } catch {
    return name;
  }
}

/**
 * TLS 1.2 and 1.3 only, forward-secret AEAD suites only (Mozilla's "intermediate" profile without
 * the finite-field DHE suites, which need parameters we do not ship). ECDSA suites serve the
 * appliance's own P-256 key, the RSA ones a certificate the user brings. On a CPU without AES
 * instructions (Pi 4) the server prefers ChaCha20-Poly1305, ~3× cheaper there; elsewhere the
 * client chooses.
 */
export function tlsServerOptions(material: Pick<TlsMaterial, 'keyPem' | 'certPem'>, cpuHasAes = true): TlsOptions {
  const tls13 = cpuHasAes
    ? ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']
    : ['TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384'];
  const aes = ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384'];
  const chacha = ['ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305'];
  return {
    key: material.keyPem,
    cert: material.certPem,
    minVersion: 'TLSv1.2',
    ciphers: [...tls13, ...(cpuHasAes ? [...aes, ...chacha] : [...chacha, ...aes])].join(':'),
    ecdhCurve: 'X25519:prime256v1:secp384r1',
    honorCipherOrder: !cpuHasAes,
    ALPNProtocols: ['http/1.1'],
  };
}

/** From /proc/cpuinfo: every CPU has AES instructions (x86 `aes` flag, arm64 `aes` feature). Unknown → true. */
export function cpuHasAes(cpuinfo: string | null): boolean {
  if (cpuinfo === null) return true;
  const lines = cpuinfo.split('\n').filter((l) => /^(flags|Features)\s*:/.test(l));
  if (lines.length === 0) return true;
  return lines.every((l) => /\saes(\s|$)/.test(l.replace(/^[^:]*:/, ' ')));
}

/**
 * The pin of a certificate: base64url (no padding, 43 characters) of SHA-256 over its public key
 * (SPKI DER) — what a fleet enrollment token carries after its dot and what a device checks on
 * every connection to its fleet. The same hash in standard base64 is `spkiSha256Base64`
 * (Chromium's `--ignore-certificate-errors-spki-list`).
 */
export function spkiPin(certificate: string | X509Certificate): string {
  const x509 = typeof certificate === 'string' ? new X509Certificate(certificate) : certificate;
  return createHash('sha256').update(x509.publicKey.export({ format: 'der', type: 'spki' })).digest('base64url');
}
