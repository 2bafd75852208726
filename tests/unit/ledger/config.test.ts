// The ledger's settings: LUCID_PEERS, LUCID_P2P_PORT, LUCID_SLOT_MS, LUCID_GENESIS, LUCID_MDNS.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../appliance/config/index.js';

const dev = { isPi: () => false };

describe('ledger settings', () => {
  it('defaults: standalone chain, 10 s slot, P2P port 26656, mDNS on', () => {
    const r = loadConfig({ env: {}, ...dev });
    expect(r.ok && r.config).toMatchObject({ peers: [], p2pPort: 26656, slotMs: 10000, genesis: null, mdns: 'on' });
  });

  it('reads peers, port, slot, genesis and mDNS', () => {
    const r = loadConfig({ env: { LUCID_PEERS: '10.0.0.2:26656, node-b.local:7000,[::1]:9', LUCID_P2P_PORT: '7001', LUCID_SLOT_MS: '2000', LUCID_GENESIS: '/etc/lucid/genesis.json', LUCID_MDNS: 'off' }, ...dev });
    expect(r.ok && r.config).toMatchObject({ peers: ['10.0.0.2:26656', 'node-b.local:7000', '[::1]:9'], p2pPort: 7001, slotMs: 2000, genesis: '/etc/lucid/genesis.json', mdns: 'off' });
  });

  it.each([
    [{ LUCID_PEERS: 'no-port' }, /LUCID_PEERS/],
    [{ LUCID_SLOT_MS: '50' }, /LUCID_SLOT_MS.*>= 100/],
    [{ LUCID_P2P_PORT: '70000' }, /LUCID_P2P_PORT/],
    [{ LUCID_MDNS: 'yes' }, /LUCID_MDNS.*one of on\|off/],
    [{ LUCID_PEERS: '10.0.0.2:26656' }, /LUCID_PEERS: needs LUCID_GENESIS/],
  ])('refuses %o naming the key', (env, pattern) => {
    const r = loadConfig({ env, ...dev });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(`${r.key}: ${r.message}`).toMatch(pattern);
  });
});
