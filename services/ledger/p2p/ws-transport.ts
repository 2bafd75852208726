// WebSocket (`ws`) over TLS 1.3, mutual authentication with self-signed Ed25519 certificates: a
// peer's identity is the node key in its certificate (the handshake proves possession). Keys are
// pinned per configured address on first contact (trust on first use, persisted by the caller):
// a different key at a known address is refused. Both sides send `hello` first; another chain
// or genesis closes the connection. Configured peers are redialled with backoff; two
// connections to one peer are fine (sends go through the oldest). Peers that are neither trusted
// by the chain (validators, approved joiners) nor configured are guests (peer-policy.ts):
// read-only block sync, rate limited, a bounded number of them.
import https from 'node:https';
import type { KeyObject } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../../common/log.js';
import { decodeMessage, encodeMessage, MAX_MESSAGE_BYTES, type WireMessage } from '../codec/messages.js';
import { selfSignedCertificate } from './cert.js';
import type { PeerInfo, Transport } from './transport.js';
import { GUEST_LIMITS, MAX_DISCOVERED_ADDRESSES, TokenBucket, guestAdmitted, guestVerdict, sendableToGuest, type GuestLimits } from './peer-policy.js';

/** A connection that has not said hello by then is closed (it holds a socket and a TLS session). */
const HELLO_TIMEOUT_MS = 10_000;
/** TCP connections at most, before any handshake (guests are bounded separately, after hello). */
const MAX_CONNECTIONS = 256;

export interface WsTransportDeps {
  readonly log: Logger;
  readonly privateKey: KeyObject;
  readonly publicKeyHex: string;
  readonly host: string;
  readonly port: number;
  readonly chainId: string;
  readonly genesisHash: Buffer;
  readonly peers: readonly string[];
  /** Current height for hello. */
  readonly height: () => number;
  /** Pinned keys by address (loaded and saved by the caller). */
  readonly pins?: Map<string, string>;
  readonly onPinsChanged?: (pins: Map<string, string>) => void;
  readonly now?: () => number;
  /** Keys the chain trusts now (validators, approved joiners); configured peers are trusted anyway. */
  readonly isTrusted?: (key: string) => boolean;
  readonly guestLimits?: GuestLimits;
}

interface Conn {
  readonly ws: WebSocket;
  readonly key: string;
  readonly address: string;
  readonly direction: 'in' | 'out';
  readonly connectedAt: number;
  /** The remote IP (guest limits per host). */
  readonly host: string;
  ready: boolean;
  height: number;
  /** A guest's message budget (made when first needed). */
  bucket: TokenBucket | null;
}

function rawKeyOf(socket: TLSSocket): string | null {
  const cert = socket.getPeerX509Certificate();
  if (!cert || cert.publicKey.asymmetricKeyType !== 'ed25519') return null;
  const x = cert.publicKey.export({ format: 'jwk' }).x;
  return x ? Buffer.from(x, 'base64url').toString('hex') : null;
}

export class WsTransport implements Transport {
  private server: https.Server | null = null;
  private wss: WebSocketServer | null = null;
  private readonly conns = new Map<string, Conn[]>();
  private readonly dialing = new Map<string, { timer: NodeJS.Timeout | null; backoff: number; ws: WebSocket | null }>();
  private handler: (peer: string, msg: WireMessage) => void = () => {};
  private peerHandler: (peer: string) => void = () => {};
  private stopped = false;
  private readonly cert: string;
  private readonly keyPem: string;
  private readonly pins: Map<string, string>;
  private boundPort = 0;
  private readonly log: Logger;

  constructor(private readonly deps: WsTransportDeps) {
    this.log = deps.log.child({ module: 'p2p' });
    this.cert = selfSignedCertificate(deps.privateKey, `lucid-${deps.publicKeyHex.slice(0, 16)}`);
    this.keyPem = deps.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    this.pins = deps.pins ?? new Map();
  }

  get port(): number {
    return this.boundPort;
  }

  private get now(): number {
    return (this.deps.now ?? Date.now)();
  }

  async start(): Promise<void> {
    const server = https.createServer({ key: this.keyPem, cert: this.cert, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', requestCert: true, rejectUnauthorized: false });
    server.maxConnections = MAX_CONNECTIONS;
    const wss = new WebSocketServer({ server, maxPayload: MAX_MESSAGE_BYTES });
    wss.on('connection', (ws, req) => {
      const socket = req.socket as TLSSocket;
      const key = rawKeyOf(socket);
      if (!key) {
        ws.close(4003, 'client certificate with an Ed25519 key required');
        return;
      }
      this.adopt(ws, key, `${socket.remoteAddress}:${socket.remotePort}`, 'in', socket.remoteAddress ?? '');
    });
    // ws re-emits the server's errors on the WebSocketServer; without a listener there, a port in
    // use was an uncaught exception that took core down instead of failing start().
    let listening = false;
    wss.on('error', (err) => {
      if (listening) this.log.error({ err }, 'p2p server error');
    });
    await new Promise<void>((resolve, reject) => {
      const fail = (err: NodeJS.ErrnoException): void => {
        wss.close();
        const hint = err.code === 'EADDRINUSE' ? ' (the port is in use: set LUCID_P2P_PORT)' : '';
        reject(Object.assign(new Error(`p2p cannot listen on ${this.deps.host}:${this.deps.port}: ${err.code ?? err.message}${hint}`), { code: err.code ?? 'P2P_LISTEN_FAILED', cause: err }));
      };
      server.once('error', fail);
      server.listen(this.deps.port, this.deps.host, () => {
        listening = true;
        server.off('error', fail);
        resolve();
      });
    });
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : this.deps.port;
    this.server = server;
    this.wss = wss;
    for (const p of this.deps.peers) this.addAddress(p);
    this.log.info({ port: this.boundPort, peers: this.deps.peers }, 'p2p listening (TLS 1.3, Ed25519)');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const d of this.dialing.values()) {
      if (d.timer) clearTimeout(d.timer);
      d.ws?.terminate();
    }
    for (const list of this.conns.values()) for (const c of list) c.ws.terminate();
    this.conns.clear();
    await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
  }

  onMessage(handler: (peer: string, msg: WireMessage) => void): void {
    this.handler = handler;
  }

  onPeer(handler: (peer: string) => void): void {
    this.peerHandler = handler;
  }

  addAddress(address: string): void {
    if (this.stopped || this.dialing.has(address)) return;
    // Anyone on the LAN can announce addresses over mDNS: dial a bounded number of them.
    if (!this.deps.peers.includes(address) && this.dialing.size >= this.deps.peers.length + MAX_DISCOVERED_ADDRESSES) return;
    this.dialing.set(address, { timer: null, backoff: 250, ws: null });
    this.dial(address);
  }

  private dial(address: string): void {
    const d = this.dialing.get(address);
    if (!d || this.stopped) return;
    const ws = new WebSocket(`wss://${address}/`, {
      key: this.keyPem, cert: this.cert, rejectUnauthorized: false, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3',
      maxPayload: MAX_MESSAGE_BYTES, handshakeTimeout: 5000, perMessageDeflate: false,
    });
    d.ws = ws;
    let key: string | null = null;
    ws.on('upgrade', (res) => {
      key = rawKeyOf(res.socket as TLSSocket);
    });
    ws.on('open', () => {
      if (!key) {
        ws.close(4003, 'server certificate without an Ed25519 key');
        return;
      }
      const pinned = this.pins.get(address);
      if (pinned && pinned !== key) {
        this.log.error({ address, pinned: pinned.slice(0, 16), presented: key.slice(0, 16) }, 'peer presented another key than the one pinned for its address; refusing');
        ws.close(4004, 'key does not match the pinned key');
        return;
      }
      if (!pinned && key !== this.deps.publicKeyHex) {
        this.pins.set(address, key);
        this.deps.onPinsChanged?.(this.pins);
      }
      d.backoff = 250;
      this.adopt(ws, key, address, 'out', address.replace(/:\d+$/, ''));
    });
    const retry = (): void => {
      if (this.stopped || d.timer) return;
      d.ws = null;
      const wait = Math.round(d.backoff * (0.85 + Math.random() * 0.3));
      d.backoff = Math.min(d.backoff * 2, 5000);
      d.timer = setTimeout(() => {
        d.timer = null;
        this.dial(address);
      }, wait);
      d.timer.unref();
    };
    ws.on('error', () => { /* reported through close */ });
    ws.on('close', (code) => {
      if (code === 4005) return; // connected to ourselves: never again
      retry();
    });
  }

  /** Trusted: a key the chain trusts now, or the key pinned for an address in LUCID_PEERS. */
  trusted(key: string): boolean {
    if (this.deps.isTrusted?.(key)) return true;
    return this.deps.peers.some((a) => this.pins.get(a) === key);
  }

  private get limits(): GuestLimits {
    return this.deps.guestLimits ?? GUEST_LIMITS;
  }

  private adopt(ws: WebSocket, key: string, address: string, direction: 'in' | 'out', host: string): void {
    if (key === this.deps.publicKeyHex) {
      ws.close(4005, 'that is me');
      return;
    }
    const conn: Conn = { ws, key, address, direction, connectedAt: this.now, host, ready: false, height: 0, bucket: null };
    const helloTimer = setTimeout(() => { if (!conn.ready) ws.terminate(); }, HELLO_TIMEOUT_MS);
    helloTimer.unref();
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return;
      let msg: WireMessage;
      try {
        msg = decodeMessage(data);
      } catch (err) {
        this.log.warn({ peer: key.slice(0, 16), err: (err as Error).message }, 'undecodable message; closing');
        ws.close(4002, 'bad message');
        return;
      }
      if (!conn.ready) {
        if (msg.t !== 'hello') return;
        if (msg.chainId !== this.deps.chainId || !msg.genesisHash.equals(this.deps.genesisHash)) {
          this.log.warn({ peer: key.slice(0, 16), chainId: msg.chainId }, 'peer is on another chain; closing');
          ws.close(4001, 'another chain');
          return;
        }
        if (!this.trusted(key)) {
          const guests = [...this.conns.values()].flat().filter((c) => !this.trusted(c.key));
          if (this.conns.has(key) || !guestAdmitted(host, guests.map((c) => c.host), this.limits)) {
            ws.close(4008, 'too many guests');
            return;
          }
        }
        clearTimeout(helloTimer);
        conn.ready = true;
        conn.height = msg.height;
        const list = this.conns.get(key) ?? [];
        list.push(conn);
        this.conns.set(key, list);
        this.log.info({ peer: key.slice(0, 16), address, direction }, 'peer connected');
        this.peerHandler(key);
        return;
      }
      if (!this.trusted(key)) {
        const v = guestVerdict(msg, (conn.bucket ??= new TokenBucket(this.limits.ratePerSec, this.limits.burst, this.now)), this.now, this.limits);
        if (v.kind === 'note-height') conn.height = v.height;
        else if (v.kind === 'close') ws.close(4008, 'over the guest message budget');
        else if (v.kind === 'deliver') this.handler(key, v.msg);
        return;
      }
      if (msg.t === 'status') conn.height = msg.height;
      this.handler(key, msg);
    });
    ws.on('close', () => {
      clearTimeout(helloTimer);
      const list = (this.conns.get(key) ?? []).filter((c) => c !== conn);
      if (list.length > 0) this.conns.set(key, list);
      else this.conns.delete(key);
      if (conn.ready) this.log.info({ peer: key.slice(0, 16), address }, 'peer disconnected');
    });
    ws.send(encodeMessage({ t: 'hello', chainId: this.deps.chainId, genesisHash: this.deps.genesisHash, height: this.deps.height() }));
  }

  broadcast(msg: WireMessage): void {
    const guestToo = sendableToGuest(msg);
    let bytes: Buffer | null = null;
    for (const list of this.conns.values()) {
      const c = list[0];
      if (!c || c.ws.readyState !== WebSocket.OPEN || (!guestToo && !this.trusted(c.key))) continue;
      c.ws.send((bytes ??= encodeMessage(msg)));
    }
  }

  send(peer: string, msg: WireMessage): void {
    const c = this.conns.get(peer)?.[0];
    if (!c || c.ws.readyState !== WebSocket.OPEN || (!sendableToGuest(msg) && !this.trusted(peer))) return;
    c.ws.send(encodeMessage(msg));
  }

  peers(): PeerInfo[] {
    return [...this.conns.values()].map((l) => l[0]!).map((c) => ({ key: c.key, address: c.address, direction: c.direction, connectedAt: c.connectedAt, height: c.height }));
  }
}
