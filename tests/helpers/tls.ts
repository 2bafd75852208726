// HTTPS from tests with real certificate checks: the appliance's certificate (read from its data
// directory, or given) is the only trusted root, so a request succeeds only if the server shows
// exactly that certificate for the name or address asked for. Nothing is "ignored".
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type PeerCertificate, type TLSSocket } from 'node:tls';
import { Agent, fetch as undiciFetch, type RequestInit as UndiciInit } from 'undici';

export const applianceCertificate = (dataDir: string): string => readFileSync(join(dataDir, 'keys/tls-cert.pem'), 'utf8');

/** fetch() trusting only `ca` (PEM). Throws like fetch on a certificate the server should not have. */
export function pinnedFetch(ca: string): (url: string, init?: UndiciInit) => Promise<Awaited<ReturnType<typeof undiciFetch>>> {
  const dispatcher = new Agent({ connect: { ca, rejectUnauthorized: true } });
  return (url, init) => undiciFetch(url, { ...init, dispatcher });
}

export interface Handshake {
  readonly protocol: string | null;
  readonly cipher: string;
  readonly certificate: PeerCertificate;
}

/** One TLS handshake with chosen client limits; resolves with what was agreed, rejects when the server refuses. */
export function handshake(host: string, port: number, options: { minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'; maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'; ciphers?: string } = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket: TLSSocket = connect({ host, port, rejectUnauthorized: false, ...options, ...(options.ciphers ? { ciphers: options.ciphers } : {}) }, () => {
      const result = { protocol: socket.getProtocol(), cipher: socket.getCipher().name, certificate: socket.getPeerCertificate() };
      socket.end();
      resolve(result);
    });
    socket.on('error', reject);
  });
}
