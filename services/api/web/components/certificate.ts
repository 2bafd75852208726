// The HTTPS certificate as a person checks it: the fingerprints to compare with what the browser
// shows (padlock → certificate) and with what the appliance printed beside its setup code, the
// names it is valid for, and a download to install it on a laptop or phone. From the public
// GET /api/v1/tls; shown on the first-time setup page and the status page.
import type { Api } from '../api.js';
import { h, setText } from '../dom.js';

export interface TlsInfo {
  source: 'appliance' | 'user';
  certificateSha256: string;
  publicKeySha256: string;
  names: string[];
  validTo: string;
  httpsPort: number;
}

export interface CertificateView {
  readonly el: HTMLElement;
  load(): Promise<void>;
}

export function createCertificateFacts(api: Api, signal: AbortSignal): CertificateView {
  const certificate = h('dd', { 'data-testid': 'tls-certificate-sha256', class: 'fingerprint' }, '—');
  const publicKey = h('dd', { 'data-testid': 'tls-public-key-sha256', class: 'fingerprint' }, '—');
  const names = h('dd', { 'data-testid': 'tls-names' }, '—');
  const source = h('dd', { 'data-testid': 'tls-source' }, '—');
  const connection = h('dd', { 'data-testid': 'tls-connection' }, location.protocol === 'https:' ? 'HTTPS' : 'plain HTTP (this computer only)');
  const row = (label: string, dd: HTMLElement): HTMLElement => h('div', null, h('dt', null, label), dd);
  const el = h('div', { class: 'certificate', 'data-testid': 'tls-certificate' },
    h('dl', { class: 'facts' },
      row('Certificate SHA-256', certificate), row('Public key SHA-256', publicKey), row('Names', names), row('Issued by', source), row('This page came over', connection)),
    h('p', { class: 'muted small' }, 'Your browser shows the same certificate SHA-256 under the padlock (Certificate → Fingerprints), and the appliance prints it with its setup code and on a long press of its button. If they differ, stop: someone is between you and the appliance.'),
    h('p', { class: 'small' }, h('a', { href: '/api/v1/tls/certificate', download: 'lucid-appliance.crt', 'data-testid': 'tls-download' }, 'Download the certificate'), ' to install it on this computer or phone (see the README, "Trusting your appliance").'));
  return {
    el,
    async load() {
      const info = await api.get<TlsInfo>('/api/v1/tls', { signal });
      setText(certificate, info.certificateSha256);
      setText(publicKey, info.publicKeySha256);
      setText(names, info.names.join(', '));
      setText(source, info.source === 'user' ? 'your own certificate (LUCID_TLS_CERT)' : 'the appliance itself (self-signed)');
    },
  };
}
