// The fleet's certificate pin (ota/server/README.md "HTTPS and the pin", device half): base64url(SHA-256(the
// certificate's SubjectPublicKeyInfo, DER)), 43 characters without padding — the hash Chromium's
// --ignore-certificate-errors-spki-list takes (there in standard base64). An enrollment token may
// carry it after a dot (`lft_<secret>.<pin>`); without one the device pins what it sees at
// enrollment (trust on first use). Pure functions, no I/O.
import { createHash, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { LucidError } from '../../../services/common/errors.js';

export const PIN_RE = /^[A-Za-z0-9_-]{43}$/;

/** The pin of a DER certificate (what tls.getPeerCertificate().raw gives). */
export function spkiPin(certDer: Buffer): string {
  const spki = new X509Certificate(certDer).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64url');
}

/** `lft_<secret>[.<pin>]` → the part the server identifies (sent) and the pin, if any. */
export function parseToken(token: string): { secret: string; pin: string | null } {
  const t = token.trim();
  const dot = t.lastIndexOf('.');
  const secret = dot < 0 ? t : t.slice(0, dot);
  const pin = dot < 0 ? null : t.slice(dot + 1);
  if (!/^lft_[A-Za-z0-9_-]{8,200}$/.test(secret)) throw new LucidError('OTA_ERR_FLEET_TOKEN', 'an enrollment token looks like lft_<secret> or lft_<secret>.<pin>');
  if (pin !== null && !PIN_RE.test(pin)) throw new LucidError('OTA_ERR_FLEET_TOKEN', 'the pin after the dot is not 43 base64url characters (SHA-256 of the fleet certificate\'s public key)');
  return { secret, pin };
}

const isLoopback = (host: string): boolean => {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1';
  return false;
};

/** `https://…`, or `http://` on a loopback host only (development, with a warning). */
export function checkFleetUrl(raw: string): { url: string; warning: string | null } {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw new LucidError('OTA_ERR_FLEET_URL', `LUCID_FLEET_URL is not a URL: ${JSON.stringify(raw.slice(0, 100))}`);
  }
  const url = u.toString().replace(/\/+$/, '');
  if (u.protocol === 'https:') return { url, warning: null };
  if (u.protocol === 'http:' && isLoopback(u.hostname)) return { url, warning: 'the fleet is reached over plain http on loopback (development only): nothing is pinned' };
  throw new LucidError('OTA_ERR_FLEET_URL', `the fleet must be reached over https:// (http:// only on a loopback address), got ${u.protocol}//${u.host}`);
}
