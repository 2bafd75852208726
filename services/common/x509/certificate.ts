// The appliance's own certificate: self-signed, ECDSA P-256 with SHA-256 (browsers accept no
// Ed25519 server certificate), for the names a browser on the LAN reaches it by. The fleet server
// (ota/server/tls.ts) issues its own certificate with the same code.
//
// Choices and why:
//   - An end-entity certificate (CA:FALSE), not a private CA: installing it on a laptop trusts
//     this one certificate for these names, nothing else. A CA key on the appliance would let
//     whoever copies its SD card impersonate any site to every device that trusts it.
//   - subjectAltName holds every name (browsers ignore the subject's CN); keyUsage
//     digitalSignature and extendedKeyUsage serverAuth, as Apple's and Chromium's rules require.
//   - Valid from 1970 to 9999 (RFC 5280's "no well-defined expiration"): a Pi without a
//     real-time clock may boot at any date, and an appliance certificate that expired would lock
//     its owner out of the web UI with no one to renew it. A notBefore before July 2019 also keeps
//     it outside Apple's 825-day limit for locally trusted server certificates.
//   - A random 128-bit serial (positive): a re-issued certificate never repeats one, which
//     browsers and certificate stores rely on.
import { createHash, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { bits, bool, ctx, octets, oid, seq, set, time, tlv, uint, utf8 } from './der.js';

const ECDSA_WITH_SHA256 = seq(oid('1.2.840.10045.4.3.2'));
export const NOT_BEFORE = new Date(Date.UTC(1970, 0, 1));
export const NOT_AFTER = new Date(Date.UTC(9999, 11, 31, 23, 59, 59));

const extension = (id: string, critical: boolean, value: Buffer): Buffer =>
  seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

/** An IP literal as subjectAltName bytes (4 or 16). */
export function ipBytes(address: string): Buffer {
  if (isIP(address) === 4) return Buffer.from(address.split('.').map(Number));
  // Expand '::' and an embedded IPv4 tail into eight 16-bit groups.
  let text = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = v4[1]!.split('.').map(Number);
    text = text.slice(0, -v4[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

const subjectAltName = (names: readonly string[]): Buffer =>
  seq(...names.map((n) => (isIP(n) ? ctx(7, false, ipBytes(n)) : ctx(2, false, Buffer.from(n, 'ascii')))));

/** A self-signed certificate for `names` (DNS names and IP literals; the first names the subject). PEM. */
export function issueSelfSigned(privateKey: KeyObject, names: readonly string[], organisation = 'Lucid appliance'): string {
  if (privateKey.asymmetricKeyType !== 'ec') throw new Error('a self-signed certificate here needs an EC (P-256) key');
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicKeyBits = spki.subarray(spki.length - 65); // the uncompressed point, the SPKI's last 65 bytes
  const name = seq(
    set(seq(oid('2.5.4.10'), utf8(organisation))),
    set(seq(oid('2.5.4.3'), utf8((names[0] ?? 'lucid-appliance').slice(0, 64)))),
  );
  const tbs = seq(
    ctx(0, true, uint(Buffer.of(2))), // v3
    uint(Buffer.concat([Buffer.of(0x40 | (randomBytes(1)[0]! & 0x3f)), randomBytes(15)])),
    ECDSA_WITH_SHA256,
    name,
    seq(time(NOT_BEFORE), time(NOT_AFTER)),
    name,
    spki,
    ctx(3, true, seq(
      extension('2.5.29.19', true, seq()), // basicConstraints: not a CA
      extension('2.5.29.15', true, tlv(0x03, Buffer.of(7, 0x80))), // keyUsage: digitalSignature (bit 0; 7 unused bits, as DER wants)
      extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))), // extKeyUsage: serverAuth
      extension('2.5.29.14', false, octets(createHash('sha1').update(publicKeyBits).digest())), // subjectKeyIdentifier
      extension('2.5.29.17', false, subjectAltName(names)),
    )),
  );
  const der = seq(tbs, ECDSA_WITH_SHA256, bits(sign('sha256', tbs, privateKey)));
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
}
