// A self-signed X.509 v3 certificate for the node's Ed25519 key, written with a ~40-line DER
// encoder (no dependency). TLS 1.3 with Ed25519 certificates works in Node 20 / OpenSSL 3. Peers
// do not check the certificate's chain, dates or names: the key inside it IS the identity, and
// the TLS handshake proves the other side holds it. Validity runs from 1970 to 9999 (RFC 5280's
// "no well-defined expiration"), because a Pi without an RTC may boot with any clock.
import { createPublicKey, sign, type KeyObject } from 'node:crypto';

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.of(n);
  const bytes: number[] = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) bytes.unshift(x & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.of(tag), derLength(body.length), body]);
}

const seq = (...p: Buffer[]): Buffer => tlv(0x30, ...p);
const ED25519 = seq(tlv(0x06, Buffer.from([0x2b, 0x65, 0x70]))); // AlgorithmIdentifier 1.3.101.112
const commonName = (cn: string): Buffer => seq(tlv(0x31, seq(tlv(0x06, Buffer.from([0x55, 0x04, 0x03])), tlv(0x0c, Buffer.from(cn, 'utf8')))));

export function selfSignedCertificate(privateKey: KeyObject, cn: string): string {
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.of(2))), // version v3
    tlv(0x02, Buffer.of(1)), // serial number
    ED25519,
    commonName(cn),
    seq(tlv(0x17, Buffer.from('700101000000Z')), tlv(0x18, Buffer.from('99991231235959Z'))),
    commonName(cn),
    spki,
  );
  const der = seq(tbs, ED25519, tlv(0x03, Buffer.of(0), sign(null, tbs, privateKey)));
  const b64 = der.toString('base64').match(/.{1,64}/g)!.join('\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}
