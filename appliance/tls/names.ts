// The names a browser reaches the appliance by: its host name, `<hostname>.local` (mDNS, what
// Raspberry Pi OS announces), `localhost`, the loopback addresses and the addresses it listens
// on — every current one when it listens on all (0.0.0.0: IPv4 ones, `::`: all), else just
// LUCID_HOST. The certificate is re-issued when this set changes (a new DHCP lease, a second
// interface); an appliance on loopback (development) has no LAN address to follow.
import { hostname as osHostname, networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { isIP } from 'node:net';
import { ipBytes } from '../../services/common/x509/certificate.js';

export interface NameSources {
  readonly hostname: string;
  readonly interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>;
  /** LUCID_HOST; every address when absent. */
  readonly listen?: string;
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Sorted, without duplicates: DNS names first (the host name leads: it names the subject), then addresses. */
export function applianceNames(sources: NameSources): string[] {
  const dns: string[] = [];
  const host = sources.hostname.trim().toLowerCase().replace(/\.$/, '');
  if (host && host !== 'localhost' && host.split('.').every((l) => LABEL.test(l))) {
    dns.push(host);
    const first = host.split('.')[0]!;
    dns.push(`${first}.local`);
  }
  dns.push('localhost');
  const ips = new Set<string>(['127.0.0.1', '::1']);
  const listen = sources.listen ?? '::';
  const wildcard = listen === '0.0.0.0' || listen === '::' || listen === '';
  if (!wildcard && isIP(listen) !== 0) ips.add(listen.toLowerCase());
  for (const list of wildcard ? Object.values(sources.interfaces) : []) {
    for (const info of list ?? []) {
      // Link-local IPv6 addresses need a zone (`%eth0`), which no URL in a browser can carry.
      if (info.family === 'IPv6' && /^fe[89ab]/i.test(info.address)) continue;
      if (info.internal && !isLoopbackAddress(info.address)) continue;
      if (isIP(info.address) === 0 || (listen === '0.0.0.0' && info.family !== 'IPv4')) continue;
      ips.add(info.address.toLowerCase());
    }
  }
  const [headName, ...restNames] = [...new Set(dns)];
  const v4 = [...ips].filter((a) => isIP(a) === 4).sort();
  const v6 = [...ips].filter((a) => isIP(a) === 6).sort();
  return [headName!, ...restNames.sort(), ...v4, ...v6];
}

const isLoopbackAddress = (a: string): boolean => a === '::1' || a.startsWith('127.');

/** The names of this machine now, for an appliance listening on `listen`. */
export function currentNames(listen?: string): string[] {
  return applianceNames({ hostname: osHostname(), interfaces: networkInterfaces(), ...(listen !== undefined ? { listen } : {}) });
}

/** One spelling per name, so `::1`, `0:0:0:0:0:0:0:1` and `0:0:…:1` compare equal (node prints SAN addresses in full). */
export function canonicalName(name: string): string {
  return isIP(name) ? `ip:${ipBytes(name).toString('hex')}` : `dns:${name.toLowerCase()}`;
}

export function sameNames(a: readonly string[], b: readonly string[]): boolean {
  const x = new Set(a.map(canonicalName));
  const y = new Set(b.map(canonicalName));
  return x.size === y.size && [...x].every((n) => y.has(n));
}
