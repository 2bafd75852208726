// The payout process in the lean guest (tests/vm/payout-power.test.ts): started by the agent as
// the image's user with the image's node and dist/, its data on the virtio disk (/data/payout),
// its TRON node the double on the host, its Unix socket reachable from the host.
//   guest → host  slirp's guestfwd: 10.0.2.100:8090 in the guest runs harness/stdio-tcp.mjs on
//                 the host per connection, piped to the double's port (restrict=on stays: the
//                 guest reaches only this address).
//   host → guest  a host Unix socket (the test's PayoutClient) → the forwarded TCP port → a small
//                 relay in the guest → /data/sockets/payout.sock. A power cut breaks the chain; the
//                 client reconnects to the next boot through the same host socket.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { REPO } from '../harness/cache.js';
import { shellQuote, type LeanGuest } from '../harness/lean-guest.js';

export const NODE_ADDR = '10.0.2.100';
export const NODE_PORT = 8090;
/** The guest's relay to the payout socket. */
export const RELAY_PORT = 7070;

/** The guest's way to the double on the host (bootLeanGuest's guestForwards). */
export function nodeForward(nodeUrl: string): { addr: string; port: number; cmd: string } {
  const port = new URL(nodeUrl).port;
  return { addr: NODE_ADDR, port: NODE_PORT, cmd: `${process.execPath} ${join(REPO, 'tests/vm/harness/stdio-tcp.mjs')} ${port}` };
}

/** A host Unix socket piped to the current guest's forwarded relay port (set `port` at each boot). */
export class SocketBridge {
  port = 0;
  private readonly open = new Set<Socket>();
  private constructor(readonly path: string, private readonly server: Server) {}

  static async listen(path: string): Promise<SocketBridge> {
    let bridge: SocketBridge | null = null;
    const server = createServer((c) => {
      const b = bridge!;
      const t = connect(b.port, '127.0.0.1');
      for (const s of [c, t]) { b.open.add(s); s.on('close', () => b.open.delete(s)); }
      c.pipe(t);
      t.pipe(c);
      c.on('error', () => t.destroy());
      t.on('error', () => c.destroy());
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    bridge = new SocketBridge(path, server);
    return bridge;
  }

  /** Ends the connections to a guest that is gone (its forward would hang, not fail). */
  dropConnections(): void { for (const s of this.open) s.destroy(); }

  async close(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const RELAY = `require('node:net').createServer((c) => {
  const u = require('node:net').connect('/data/sockets/payout.sock');
  c.pipe(u); u.pipe(c); u.on('error', () => c.destroy()); c.on('error', () => u.destroy());
}).listen(${RELAY_PORT}, '0.0.0.0');`;

/** Starts the payout process (uid 65532, the image's environment plus `env`) and the socket relay. */
export async function startGuestPayout(g: LeanGuest, env: Readonly<Record<string, string>>): Promise<void> {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  await g.run([
    payoutCommand(env),
    `( setsid /usr/local/bin/node -e "$(echo ${b64(RELAY)} | base64 -d)" </dev/null >/dev/console 2>&1 & )`,
  ].join('\n'));
}

/**
 * Stops the payout process in the running guest (SIGTERM: a clean stop, its records synced as
 * always) and starts it again with `env` — for a cut whose moment is a crash point of the process
 * itself (LUCID_PAYOUT_TEST_CRASH), armed only for the one action the cut is about.
 */
export async function restartGuestPayout(g: LeanGuest, env: Readonly<Record<string, string>>): Promise<void> {
  const pids = "ps | grep '[p]ayout.mjs' | awk '{print $1}'";
  await g.run(`for p in $(${pids}); do kill $p; done
    i=0; while [ -n "$(${pids})" ]; do i=$((i + 1)); [ $i -gt 60 ] && { echo 'the payout process did not stop in 60 s' >&2; exit 1; }; sleep 1; done`, 90_000);
  await g.run(payoutCommand(env));
}

/** Whether a payout process runs in the guest. */
export async function guestPayoutRunning(g: LeanGuest): Promise<boolean> {
  return (await g.run("ps | grep -c '[p]ayout.mjs' || true")).trim() !== '0';
}

/** The shell line that starts the payout process like the appliance in lean-init.sh: the image's entry point and environment, as nonroot. */
function payoutCommand(env: Readonly<Record<string, string>>): string {
  const lines = Object.entries(env).map(([k, v]) => `${k}=${shellQuote(v)}`).join('\n');
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  return [
    `echo ${b64(`${lines}\n`)} | base64 -d > /run/payout.env`,
    `( setsid /lucid-vm/bin/sh -c 'cd /app && set -a && . /lucid-vm/image.env && . /run/payout.env && set +a && exec su -m -s /lucid-vm/bin/sh nonroot -c "exec /usr/local/bin/node /app/dist/entries/payout.mjs"' </dev/null >/dev/console 2>&1 & )`,
  ].join('\n');
}
