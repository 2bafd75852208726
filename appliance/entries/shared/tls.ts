// The entries' side of HTTPS: load the certificate or stop with one line (exit 78, like any bad
// setting), keep it current, and say where the appliance answers.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { EXIT_CONFIG, type Config } from '../../config/index.js';
import type { Logger } from '../../../services/common/log.js';
import { cpuHasAes, type TlsMaterial } from '../../../services/common/tls.js';
import { TlsIdentity } from '../../tls/index.js';

/** How often names (addresses) and a user's certificate files are looked at again. */
export const TLS_RECHECK_MS = 5_000;

export async function loadTlsOrExit(config: Readonly<Config>, log: Logger): Promise<TlsIdentity> {
  const result = await TlsIdentity.load({ dataDir: config.dataDir, host: config.host, tlsCert: config.tlsCert, tlsKey: config.tlsKey }, log.child({ module: 'tls' }));
  if (!result.ok) {
    process.stderr.write(`lucid: invalid configuration: ${result.key}: ${result.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  return result.identity;
}

/** Re-checks every TLS_RECHECK_MS; `changed` gets the new material. Returns the stop function. */
export function watchTls(identity: TlsIdentity, log: Logger, changed: (m: TlsMaterial) => void): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    identity.refresh().then((did) => { if (did) changed(identity.material); }, (err: unknown) => log.error({ err }, 'TLS certificate check failed')).finally(() => { busy = false; });
  }, TLS_RECHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}

export function readCpuHasAes(sysRoot: string): boolean {
  try {
    return cpuHasAes(readFileSync(join(sysRoot, 'proc/cpuinfo'), 'utf8'));
  } catch {
    return true;
  }
}

/** Listening on every address: the name Raspberry Pi OS announces over mDNS. */
const hostPart = (host: string): string => {
  const h = host === '0.0.0.0' || host === '::' ? `${hostname().split('.')[0]!.toLowerCase()}.local` : host;
  return h.includes(':') ? `[${h}]` : h;
};

/** The two URLs, for the start line `./build.sh run` prints. */
export function urlsOf(config: Pick<Config, 'host' | 'port' | 'httpsPort'>): { https: string; http: string } {
  return { https: `https://${hostPart(config.host)}:${config.httpsPort}/`, http: `http://${hostPart(config.host)}:${config.port}/` };
}

/** One human line: what the browser must show for this certificate. */
export function fingerprintLine(m: Pick<TlsMaterial, 'certificateSha256' | 'publicKeySha256' | 'source'>): string {
  return `TLS certificate SHA-256 ${m.certificateSha256} (public key SHA-256 ${m.publicKeySha256}${m.source === 'user' ? ', from LUCID_TLS_CERT' : ''})`;
}
