// HTTPS to an appliance inside a guest, with the appliance's own certificate pinned. The guest's
// port 8443 is forwarded to 127.0.0.1 on the host; inside the guest the connection arrives on
// 10.0.2.15, a LAN address, so plain HTTP answers only /healthz and /metrics there (the rule of
// issue 19) and every login or token-carrying call goes over HTTPS.
//
// The pin: the certificate is read from the guest's data folder (`keys/tls-cert.pem`, through the
// agent) and is both the only trusted root (`ca`) and the only certificate accepted
// (checkServerIdentity compares the SHA-256 fingerprint): the names in it are the guest's, and
// what matters is that the server shows exactly the certificate the appliance wrote. When the
// appliance re-issues it (a new address: same key, new certificate) a handshake fails; the pin
// is then read again and the request, which never left, is retried once.
import { X509Certificate, createHash } from 'node:crypto';
import { Agent as HttpsAgent } from 'node:https';
import type { PeerCertificate } from 'node:tls';
import { Agent, fetch as undiciFetch, type RequestInit as UndiciInit } from 'undici';

/** Reads the appliance's certificate (PEM) from the guest. */
export type CertReader = () => Promise<string>;

export type PinnedFetch = (url: string, init?: UndiciInit) => Promise<Awaited<ReturnType<typeof undiciFetch>>>;

/** The user agent node's own fetch() sends: tokens are bound to the agent they were issued to. */
const FETCH_UA = 'node';

export class PinError extends Error {
  readonly code = 'LUCID_ERR_CERT_PIN';
}

/** The SPKI SHA-256 (base64) of a PEM certificate, as Chromium's --ignore-certificate-errors-spki-list takes it. */
export function spkiPin(pem: string): string {
  return createHash('sha256').update(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
}

export class PinnedHttps {
  private pem = '';
  private fingerprint = '';
  private dispatcher: Agent | undefined;
  private nodeAgent: HttpsAgent | undefined;

  /** `url`: https://127.0.0.1:<host port forwarded to the guest's 8443>. */
  constructor(readonly url: string, private readonly readCert: CertReader) {}

  /** The pinned certificate (read from the guest on first use). */
  async certificate(): Promise<string> {
    if (!this.pem) await this.reload();
    return this.pem;
  }

  /** Reads the certificate again; true when it changed. */
  async reload(): Promise<boolean> {
    const pem = (await this.readCert()).trim() + '\n';
    const fingerprint = new X509Certificate(pem).fingerprint256;
    if (fingerprint === this.fingerprint) return false;
    const old = this.dispatcher;
    this.pem = pem;
    this.fingerprint = fingerprint;
    const tls = {
      ca: pem, rejectUnauthorized: true,
      checkServerIdentity: (_host: string, cert: PeerCertificate): Error | undefined =>
        cert.fingerprint256 === fingerprint ? undefined : new PinError(`the server's certificate ${cert.fingerprint256} is not the appliance's ${fingerprint}`),
    };
    this.dispatcher = new Agent({ connect: tls });
    this.nodeAgent?.destroy();
    this.nodeAgent = new HttpsAgent({ ...tls, keepAlive: false });
    void old?.close().catch(() => undefined);
    return true;
  }

  /** An agent for node:https requests (streaming uploads), current pin. Call certificate() first. */
  get agent(): HttpsAgent {
    if (!this.nodeAgent) throw new Error('PinnedHttps: certificate() not read yet');
    return this.nodeAgent;
  }

  /** fetch() of `pathOrUrl` (a path is taken on this.url) through the pinned connection. */
  readonly fetch: PinnedFetch = async (pathOrUrl, init = {}) => {
    const url = pathOrUrl.startsWith('/') ? `${this.url}${pathOrUrl}` : pathOrUrl;
    await this.certificate();
    const headers: Record<string, string> = { 'user-agent': FETCH_UA };
    new Headers(init.headers as HeadersInit | undefined).forEach((v, k) => { headers[k] = v; });
    const go = (): ReturnType<PinnedFetch> => undiciFetch(url, { ...init, headers, dispatcher: this.dispatcher! });
    try {
      return await go();
    } catch (err) {
      // A failed handshake sent nothing: if the appliance re-issued its certificate, retry once.
      if (isCertError(err) && (await this.reload())) return go();
      throw err;
    }
  };

  async close(): Promise<void> {
    this.nodeAgent?.destroy();
    await this.dispatcher?.close().catch(() => undefined);
  }
}

export function isCertError(err: unknown): boolean {
  for (let e = err as { code?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e instanceof PinError || /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(e.code ?? '')) return true;
  }
  return false;
}
