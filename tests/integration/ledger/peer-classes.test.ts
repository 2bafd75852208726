// Peer classes on the real transport (WebSocket over TLS 1.3 on loopback, real Ed25519 keys): a
// peer that is neither trusted by the chain (validators, approved joiners) nor configured
// (LUCID_PEERS) is a guest. A guest's votes, proposals, transactions and blocks never reach the
// node; its block requests do, clamped and rate limited; it receives no consensus traffic; the
// number of guests is bounded. Trust is re-evaluated per message (a guest admitted by the chain
// is heard at once). Before this, any certificate got everything.
import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { WsTransport } from '../../../services/ledger/p2p/ws-transport.js';
import type { GuestLimits } from '../../../services/ledger/p2p/peer-policy.js';
import type { WireMessage } from '../../../services/ledger/codec/messages.js';
import { silentLogger } from '../../../services/common/log.js';
import { freePort } from '../../helpers/appliance.js';

const GENESIS = randomBytes(32);
const MAX_GUEST_BLOCKS = 32; // p2p/peer-policy.ts (a literal, so this file also runs against code without it)
const running: WsTransport[] = [];
afterEach(async () => { await Promise.all(running.splice(0).map((t) => t.stop())); });

interface Peer { t: WsTransport; key: string; got: Array<{ from: string; msg: WireMessage }>; port: number }

async function peer(o: { peers?: string[]; trusted?: Set<string>; limits?: GuestLimits } = {}): Promise<Peer> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519') as { privateKey: KeyObject; publicKey: KeyObject };
  const key = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
  const port = await freePort();
  const t = new WsTransport({
    log: silentLogger(), privateKey, publicKeyHex: key, host: '127.0.0.1', port, chainId: 'peer-classes', genesisHash: GENESIS,
    peers: o.peers ?? [], height: () => 7, ...(o.trusted ? { isTrusted: (k: string) => o.trusted!.has(k) } : {}), ...(o.limits ? { guestLimits: o.limits } : {}),
  });
  const got: Peer['got'] = [];
  t.onMessage((from, msg) => got.push({ from, msg }));
  await t.start();
  running.push(t);
  return { t, key, got, port };
}

async function until(what: string, probe: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const vote = (validator: string): WireMessage => ({ t: 'vote', type: 'prevote', height: 8, round: 0, value: randomBytes(32), validator: Buffer.from(validator, 'hex'), signature: randomBytes(64) });
const consensusTraffic = (key: string): WireMessage[] => [
  vote(key),
  { t: 'proposal', height: 8, round: 0, validRound: -1, proposer: Buffer.from(key, 'hex'), signature: randomBytes(64), block: randomBytes(200) },
  { t: 'txs', txs: [randomBytes(120), randomBytes(120)] },
  { t: 'blocks', items: [{ block: randomBytes(100), commit: randomBytes(50) }] },
];

describe('p2p peer classes', () => {
  it('a guest gets read-only block sync: its consensus messages and transactions are dropped, its getBlocks served (clamped)', async () => {
    const trusted = new Set<string>();
    const node = await peer({ trusted });
    const guest = await peer({ peers: [`127.0.0.1:${node.port}`] });
    await until('guest connected', () => node.t.peers().some((p) => p.key === guest.key));
    for (const m of consensusTraffic(guest.key)) guest.t.broadcast(m);
    guest.t.broadcast({ t: 'status', height: 99, round: 0 });
    guest.t.broadcast({ t: 'getBlocks', from: 1, count: 500 });
    await until('the block request', () => node.got.length > 0);
    await new Promise((r) => setTimeout(r, 200));
    expect(node.got.map((g) => g.msg)).toEqual([{ t: 'getBlocks', from: 1, count: MAX_GUEST_BLOCKS }]);
    expect(node.t.peers().find((p) => p.key === guest.key)?.height).toBe(99); // shown, not acted on
    // Nothing of consensus goes to a guest; status and blocks do.
    node.t.broadcast(vote(node.key));
    node.t.send(guest.key, { t: 'txs', txs: [randomBytes(100)] });
    node.t.broadcast({ t: 'status', height: 8, round: 1 });
    node.t.send(guest.key, { t: 'blocks', items: [] });
    await until('status and blocks at the guest', () => guest.got.length >= 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(guest.got.map((g) => g.msg.t).sort()).toEqual(['blocks', 'status']);
    // The chain admits it (a validator, or approvals on chain): heard from the next message on.
    trusted.add(guest.key);
    node.got.length = 0;
    guest.t.broadcast(vote(guest.key));
    await until('the vote of the now trusted peer', () => node.got.some((g) => g.msg.t === 'vote'));
  });

  it('configured peers (LUCID_PEERS) and validators are heard in full', async () => {
    const theirs = new Set<string>(); // the senders trust the node (they send it everything)
    const validator = await peer({ trusted: theirs });
    const configured = await peer({ trusted: theirs });
    const node = await peer({ peers: [`127.0.0.1:${configured.port}`], trusted: new Set([validator.key]) });
    theirs.add(node.key);
    validator.t.addAddress(`127.0.0.1:${node.port}`);
    await until('both connected', () => node.t.peers().length === 2);
    for (const p of [validator, configured]) for (const m of consensusTraffic(p.key)) p.t.broadcast(m);
    await until('all eight messages', () => node.got.length === 8);
    expect(new Set(node.got.map((g) => g.from))).toEqual(new Set([validator.key, configured.key]));
  });

  it('a guest is rate limited, and closed when it keeps flooding', async () => {
    const node = await peer({ trusted: new Set() });
    const guest = await peer({ peers: [`127.0.0.1:${node.port}`] });
    await until('guest connected', () => node.t.peers().some((p) => p.key === guest.key));
    const started = Date.now();
    for (let i = 0; i < 400; i++) guest.t.broadcast({ t: 'getBlocks', from: i + 1, count: 1 });
    await until('the guest is closed', () => !node.t.peers().some((p) => p.key === guest.key));
    const seconds = (Date.now() - started) / 1000;
    // burst 20 tokens / 5 per request, plus 10 tokens a second / 5: a handful, not 400.
    expect(node.got.length).toBeGreaterThanOrEqual(4);
    expect(node.got.length).toBeLessThanOrEqual(4 + Math.ceil(seconds * 2) + 1);
  });

  it('the number of guest connections is bounded in total; a configured peer still gets in', async () => {
    const friend = await peer();
    const node = await peer({ peers: [`127.0.0.1:${friend.port}`], trusted: new Set(), limits: { maxGuests: 3, maxGuestsPerHost: 10, ratePerSec: 10, burst: 20, getBlocksCost: 5, closeAfterExcess: 200 } });
    await until('the configured peer', () => node.t.peers().some((p) => p.key === friend.key));
    await Promise.all(Array.from({ length: 6 }, () => peer({ peers: [`127.0.0.1:${node.port}`] })));
    await until('three guests in', () => node.t.peers().length === 4);
    await new Promise((r) => setTimeout(r, 700)); // the others retry meanwhile
    expect(node.t.peers()).toHaveLength(4);
    expect(node.t.peers().some((p) => p.key === friend.key)).toBe(true);
  });

  it('at most four guests from one host by default', async () => {
    const node = await peer({ trusted: new Set() });
    await Promise.all(Array.from({ length: 7 }, () => peer({ peers: [`127.0.0.1:${node.port}`] })));
    await until('four guests in', () => node.t.peers().length === 4);
    await new Promise((r) => setTimeout(r, 700));
    expect(node.t.peers()).toHaveLength(4);
  });
});
