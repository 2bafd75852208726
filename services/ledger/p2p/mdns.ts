// LAN discovery with mDNS (`multicast-dns`): each node answers queries for
// _lucid-p2p._tcp.local with its P2P port, addresses and a TXT record naming its chain, and asks
// every 15 s. Nodes of the same chain are handed to the transport to dial; the TLS handshake and
// hello do the real checking, so a spoofed answer costs one failed connection.
import { networkInterfaces } from 'node:os';
import makeMdns from 'multicast-dns';
import type { Logger } from '../../common/log.js';

export const MDNS_SERVICE = '_lucid-p2p._tcp.local';

export interface MdnsDeps {
  readonly log: Logger;
  readonly nodeKey: string;
  readonly chainId: string;
  readonly port: number;
  readonly onPeer: (address: string) => void;
  readonly intervalMs?: number;
}

function localIPv4(): string[] {
  return Object.values(networkInterfaces()).flat().filter((i) => i && i.family === 'IPv4' && !i.internal).map((i) => i!.address);
}

export class MdnsDiscovery {
  private mdns: ReturnType<typeof makeMdns> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly instance: string;
  private readonly host: string;

  constructor(private readonly deps: MdnsDeps) {
    this.instance = `${deps.nodeKey.slice(0, 16)}.${MDNS_SERVICE}`;
    this.host = `lucid-${deps.nodeKey.slice(0, 12)}.local`;
  }

  start(): void {
    const m = makeMdns();
    this.mdns = m;
    m.on('error', (err: Error) => this.deps.log.warn({ err: err.message }, 'mDNS error (discovery off until restart)'));
    m.on('query', (q) => {
      if (!q.questions.some((x) => x.name === MDNS_SERVICE || x.name === this.instance)) return;
      m.respond({
        answers: [{ name: MDNS_SERVICE, type: 'PTR', ttl: 120, data: this.instance }],
        additionals: [
          { name: this.instance, type: 'SRV', ttl: 120, data: { port: this.deps.port, target: this.host, priority: 0, weight: 0 } },
          { name: this.instance, type: 'TXT', ttl: 120, data: [`chain=${this.deps.chainId}`, `key=${this.deps.nodeKey}`] },
          ...localIPv4().map((ip) => ({ name: this.host, type: 'A' as const, ttl: 120, data: ip })),
        ],
      });
    });
    m.on('response', (r) => {
      const records = [...r.answers, ...r.additionals];
      for (const srv of records) {
        if (srv.type !== 'SRV' || !srv.name.endsWith(MDNS_SERVICE) || srv.name === this.instance) continue;
        const txt = records.find((x) => x.type === 'TXT' && x.name === srv.name);
        const fields = (((txt as { data?: unknown } | undefined)?.data ?? []) as Array<Buffer | string>).map((b) => b.toString());
        if (!fields.includes(`chain=${this.deps.chainId}`)) continue;
        const data = (srv as { data: { port: number; target: string } }).data;
        for (const a of records) {
          if (a.type === 'A' && a.name === data.target) this.deps.onPeer(`${String((a as { data: unknown }).data)}:${data.port}`);
        }
      }
    });
    const ask = (): void => m.query({ questions: [{ name: MDNS_SERVICE, type: 'PTR' }] });
    ask();
    this.timer = setInterval(ask, this.deps.intervalMs ?? 15_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.mdns?.destroy();
    this.mdns = null;
  }
}
