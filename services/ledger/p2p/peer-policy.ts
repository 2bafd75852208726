// Peer classes. Any holder of an Ed25519 key can open a TLS connection to the p2p port, so the
// key a certificate proves says nothing by itself. A peer is
//   trusted  when its key is a current validator, a node with open admission approvals (it is about
//            to join: its own join must reach a proposer), or the key pinned for an address in
//            LUCID_PEERS (configured by the operator; followers the operator runs);
//   a guest  otherwise. A guest gets read-only block sync and nothing else: its getBlocks are
//            served (at most MAX_GUEST_BLOCKS per request) within a token bucket; its status
//            only updates what we show; its proposals, votes, transactions and blocks are dropped
//            unread; we send it only our status and the blocks it asked for. At most
//            `maxGuests` guest connections at once, `maxGuestsPerHost` from one IP, one per key.
// Trust is checked per message, so a guest admitted to the validator set is heard from the block
// that admits it, without reconnecting.
import type { WireMessage } from '../codec/messages.js';

export interface GuestLimits {
  readonly maxGuests: number;
  readonly maxGuestsPerHost: number;
  /** Sustained messages per second and burst of one guest connection. */
  readonly ratePerSec: number;
  readonly burst: number;
  /** Tokens a getBlocks costs (it makes us read and send up to MAX_GUEST_BLOCKS blocks). */
  readonly getBlocksCost: number;
  /** Messages over the budget before the connection is closed (a polite client never gets here). */
  readonly closeAfterExcess: number;
}

export const GUEST_LIMITS: GuestLimits = { maxGuests: 16, maxGuestsPerHost: 4, ratePerSec: 10, burst: 20, getBlocksCost: 5, closeAfterExcess: 200 };
export const MAX_GUEST_BLOCKS = 32;
/** Addresses found by mDNS that are dialled at most (LUCID_PEERS are always dialled). */
export const MAX_DISCOVERED_ADDRESSES = 32;

export class TokenBucket {
  private tokens: number;
  private at: number;
  excess = 0;

  constructor(private readonly ratePerSec: number, private readonly burst: number, now: number) {
    this.tokens = burst;
    this.at = now;
  }

  take(cost: number, now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.ratePerSec) / 1000);
    this.at = now;
    if (this.tokens >= cost) {
      this.tokens -= cost;
      return true;
    }
    this.excess++;
    return false;
  }
}

export type GuestVerdict =
  | { readonly kind: 'deliver'; readonly msg: WireMessage }
  /** Only what the transport itself keeps (a guest's height for the status view). */
  | { readonly kind: 'note-height'; readonly height: number }
  | { readonly kind: 'drop' }
  | { readonly kind: 'close' };

/** What happens to a message from a guest. */
export function guestVerdict(msg: WireMessage, bucket: TokenBucket, now: number, limits: GuestLimits = GUEST_LIMITS): GuestVerdict {
  const cost = msg.t === 'getBlocks' ? limits.getBlocksCost : 1;
  if (!bucket.take(cost, now)) return bucket.excess > limits.closeAfterExcess ? { kind: 'close' } : { kind: 'drop' };
  if (msg.t === 'getBlocks') return { kind: 'deliver', msg: { t: 'getBlocks', from: msg.from, count: Math.min(msg.count, MAX_GUEST_BLOCKS) } };
  if (msg.t === 'status') return { kind: 'note-height', height: msg.height };
  return { kind: 'drop' };
}

/** What we send to a guest: our height and the blocks it asked for, nothing of consensus. */
export function sendableToGuest(msg: WireMessage): boolean {
  return msg.t === 'status' || msg.t === 'blocks' || msg.t === 'hello';
}

/** May one more guest connect? `guests` are the hosts (IPs) of the guest connections open now. */
export function guestAdmitted(host: string, guests: readonly string[], limits: GuestLimits = GUEST_LIMITS): boolean {
  return guests.length < limits.maxGuests && guests.filter((h) => h === host).length < limits.maxGuestsPerHost;
}
