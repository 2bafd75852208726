// More descriptors of the API's listening socket, so that a busy core takes in more than one
// new connection per event-loop turn.
//
// libuv (1.45 and later, in Node 20) accepts one connection per turn and per listening handle
// (libuv/libuv#3696). Under full load a core's turn lasts as long as answering every ready
// connection takes (20–40 ms at 500 connections on the 2-core dev machine). A crowd of new
// connections, such as every client reconnecting after a Wi-Fi drop, is then taken in one per
// turn: in `./build.sh bench api` the 500th connection had its first answer 3.4 s (fast machine)
// to 8.5 s (slow) after the first. Each extra descriptor of the same socket is accepted from in
// the same turn, so `count` descriptors take in `count` connections per turn.
//
// Node 20 can neither dup() a descriptor nor open a second socket with SO_REUSEPORT (`reusePort`
// came in Node 22.12). A handle sent over an IPC channel, though, arrives as a new descriptor. So
// core sends its listening handle to the supervisor, which sends it back `count - 1` times and
// closes its own copy (appliance/supervisor/child-process.ts). Each copy becomes a net.Server
// whose connections go to the API's http.Server through its 'connection' event, the same path
// as its own. Without a supervisor (core started alone) there is one descriptor, as before.
// When there is no crowd, each copy costs one descriptor and one failed accept() per connection.
import { Server as NetServer, type Server } from 'node:net';
import { LISTENER_COPY, LISTENER_COPY_MAX, LISTENER_COPY_REQUEST } from '../common/ipc.js';

/** The IPC end, `process` in core; handles ride beside messages. */
export interface HandleChannel {
  send?: ((message: unknown, handle?: unknown) => boolean) | undefined;
  on(event: 'message', listener: (message: unknown, handle?: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown, handle?: unknown) => void): unknown;
}

export interface AcceptCopies {
  /** Descriptors accepting for the server, its own included. */
  readonly count: number;
  /** Stops accepting on the copies now; resolves once their connections are closed (run it beside the server's own close). */
  close(): Promise<void>;
}

export interface AcceptCopiesDeps {
  /** Listening already. */
  readonly server: Server;
  /** Descriptors wanted in all, its own included (1: none added; at most LISTENER_COPY_MAX + 1). */
  readonly count: number;
  /** Defaults to the process's own IPC channel. */
  readonly channel?: HandleChannel;
  readonly timeoutMs?: number;
}

/**
 * Asks the supervisor for `count - 1` copies of the server's listening descriptor and accepts on
 * them for the server. Resolves with what arrived within `timeoutMs` (never rejects: fewer copies
 * only mean slower intake of a crowd).
 */
export async function acceptOnCopies(deps: AcceptCopiesDeps): Promise<AcceptCopies> {
  const { server, count, channel = process as unknown as HandleChannel, timeoutMs = 2_000 } = deps;
  const own = (server as unknown as { _handle?: unknown })._handle;
  const copies: NetServer[] = [];
  // Stops accepting on the copies at once; resolves when the connections they took in are gone.
  // The HTTP server tracks those connections as its own, so close it alongside (not after): its
  // close ends the idle ones.
  const close = async (): Promise<void> => {
    await Promise.all(copies.splice(0).map((c) => new Promise<void>((resolve) => c.close(() => resolve()))));
  };
  if (count <= 1 || typeof channel.send !== 'function' || !own) return { count: 1, close };
  const wanted = Math.min(count - 1, LISTENER_COPY_MAX);
  // Sockets taken in by a copy get what the server's own would: http.Server's allowHalfOpen and
  // noDelay (TCP_NODELAY) are on, a plain net.Server's are off.
  const like = server as unknown as { allowHalfOpen: boolean; noDelay: boolean; keepAlive: boolean; keepAliveInitialDelay: number; highWaterMark: number };
  const options = { allowHalfOpen: like.allowHalfOpen, noDelay: like.noDelay, keepAlive: like.keepAlive, keepAliveInitialDelay: like.keepAliveInitialDelay * 1000, highWaterMark: like.highWaterMark };
  let arrived = 0;
  let open = true;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(finish, timeoutMs);
    function finish(): void {
      clearTimeout(timer);
      open = false;
      resolve();
    }
    function onMessage(message: unknown, handle?: unknown): void {
      if ((message as { t?: unknown } | null)?.t !== LISTENER_COPY || !handle) return;
      if (++arrived === wanted) channel.off('message', onMessage);
      if (!open) {
        (handle as { close?: () => void }).close?.(); // too late: not left open unused
        return;
      }
      const copy = new NetServer(options);
      copy.on('connection', (socket) => server.emit('connection', socket));
      copy.on('error', (err) => server.emit('error', err));
      copy.listen(handle as never);
      copies.push(copy);
      if (copies.length === wanted) finish();
    }
    channel.on('message', onMessage);
    try {
      channel.send!({ t: LISTENER_COPY_REQUEST, count: wanted }, own);
    } catch {
      channel.off('message', onMessage);
      finish();
    }
  });
  return { count: 1 + copies.length, close };
}
