// The transport as a port: one implementation today (WebSocket over TLS 1.3, ws-transport.ts),
// so libp2p or another stack can come back for internet-wide mode without touching consensus.
// Peers are identified by their Ed25519 node key (hex), proven by the TLS handshake.
import type { WireMessage } from '../codec/messages.js';

export interface PeerInfo {
  /** The peer's node key (hex), from its TLS certificate. */
  readonly key: string;
  readonly address: string;
  readonly direction: 'in' | 'out';
  readonly connectedAt: number;
  /** Its height from its hello / last status. */
  readonly height: number;
}

export interface Transport {
  start(): Promise<void>;
  stop(): Promise<void>;
  broadcast(msg: WireMessage): void;
  /** To one peer by node key; dropped when not connected. */
  send(peer: string, msg: WireMessage): void;
  onMessage(handler: (peer: string, msg: WireMessage) => void): void;
  onPeer(handler: (peer: string) => void): void;
  /** Adds an address to dial (mDNS discovery). */
  addAddress(address: string): void;
  peers(): PeerInfo[];
  readonly port: number;
}
