// The consensus transport on a port that is taken: start() fails with an error that names the
// address and the setting to change, and nothing is thrown outside it (vitest fails the run on an
// uncaught exception, which is what a taken port used to be, taking core down with no context).
import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { WsTransport } from '../../../services/ledger/p2p/ws-transport.js';
import { silentLogger } from '../../../services/common/log.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function transport(port: number): WsTransport {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicKeyHex = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
  return new WsTransport({
    log: silentLogger(), privateKey, publicKeyHex, host: '127.0.0.1', port, chainId: 'listen-test',
    genesisHash: Buffer.alloc(32), peers: [], height: () => 0,
  });
}

describe('p2p transport listen', () => {
  it('a taken port rejects start() with a coded error naming the address', async () => {
    const taken = createServer();
    servers.push(taken);
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;

    const t = transport(port);
    const err = await t.start().then(() => null, (e: unknown) => e as Error & { code?: string });
    expect(err).not.toBeNull();
    expect(err!.code).toBe('EADDRINUSE');
    expect(err!.message).toBe(`p2p cannot listen on 127.0.0.1:${port}: EADDRINUSE (the port is in use: set LUCID_P2P_PORT)`);
    // Give a stray 'error' emit a turn to surface as an uncaught exception.
    await new Promise((r) => setTimeout(r, 50));
    await t.stop();
  });

  it('a free port listens and reports the bound port', async () => {
    const t = transport(0);
    await t.start();
    expect(t.port).toBeGreaterThan(0);
    await t.stop();
  });
});
