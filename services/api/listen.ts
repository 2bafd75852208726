// Core's side of the API's listening sockets (the supervisor's side and the reasons:
// appliance/supervisor/listeners.ts). Under a supervisor core asks for the sockets, accepts on
// them and sends a copy of each back; alone, it binds them itself.
//
// Each socket may come several times ("descriptors"): a socket sent over IPC arrives as a new
// descriptor, and libuv accepts at most one connection per event-loop turn and descriptor, so
// `n` descriptors take in a crowd of new connections `n` times faster while core is saturated
// (README, "bench api"). The first descriptor is the server's own; each further one is a plain
// net.Server whose connections go to the same server through its 'connection' event.
import { Server as NetServer, type Server } from 'node:net';
import { LISTENER, LISTENER_NAMES, LISTENER_PARK, LISTENERS_REQUEST, TLS_MATERIAL, type ListenerName } from '../common/ipc.js';
import type { TlsMaterial } from '../common/tls.js';

/** The IPC end, `process` in core; handles ride beside messages. */
export interface HandleChannel {
  send?: ((message: unknown, handle?: unknown) => boolean) | undefined;
  on(event: 'message', listener: (message: unknown, handle?: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown, handle?: unknown) => void): unknown;
}

export interface Handover {
  readonly tls: TlsMaterial;
  readonly handles: Readonly<Record<ListenerName, readonly unknown[]>>;
}

type Message = { t?: unknown; name?: unknown; index?: unknown; count?: unknown; material?: unknown } | null;

/**
 * Asks the supervisor for the sockets and the certificate. Resolves once every listener's
 * descriptors have arrived, or null when the channel cannot carry them or nothing came in time
 * (whatever did arrive is closed).
 */
export function requestHandover(channel: HandleChannel, timeoutMs = 10_000): Promise<Handover | null> {
  if (typeof channel.send !== 'function') return Promise.resolve(null);
  return new Promise((resolve) => {
    let tls: TlsMaterial | null = null;
    const handles: Record<ListenerName, unknown[]> = { http: [], https: [] };
    const wanted: Partial<Record<ListenerName, number>> = {};
    const finish = (result: Handover | null): void => {
      clearTimeout(timer);
      channel.off('message', onMessage);
      if (!result) for (const list of Object.values(handles)) for (const h of list) (h as { close?: () => void }).close?.();
      resolve(result);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    function onMessage(raw: unknown, handle?: unknown): void {
      const m = raw as Message;
      if (m?.t === TLS_MATERIAL) tls = m.material as TlsMaterial;
      else if (m?.t === LISTENER && handle && LISTENER_NAMES.includes(m.name as ListenerName)) {
        const name = m.name as ListenerName;
        handles[name].push(handle);
        wanted[name] = Number(m.count);
      } else return;
      const complete = LISTENER_NAMES.every((n) => wanted[n] !== undefined && handles[n].length >= wanted[n]!);
      if (complete && tls) finish({ tls, handles });
    }
    channel.on('message', onMessage);
    try {
      channel.send!({ t: LISTENERS_REQUEST });
    } catch {
      finish(null);
    }
  });
}

/** New certificates the supervisor sends later (a re-issue). Returns the unsubscribe function. */
export function onTlsMaterial(channel: HandleChannel, listener: (m: TlsMaterial) => void): () => void {
  const onMessage = (raw: unknown): void => {
    const m = raw as Message;
    if (m?.t === TLS_MATERIAL) listener(m.material as TlsMaterial);
  };
  channel.on('message', onMessage);
  return () => channel.off('message', onMessage);
}

export interface Accepting {
  /** Descriptors accepting for the server, its own included. */
  readonly count: number;
  /** Stops accepting on the extra descriptors (the server's own closes with the server). */
  close(): Promise<void>;
}

/** Listens on the first handle, and accepts on the others for the same server. */
export async function listenOnHandles(server: Server, handles: readonly unknown[]): Promise<Accepting> {
  if (handles.length === 0) throw new Error('no listening socket to accept on');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(handles[0] as never, () => { server.off('error', reject); resolve(); });
  });
  // Sockets taken in by a copy get what the server's own would: http.Server's allowHalfOpen and
  // noDelay (TCP_NODELAY) are on, a plain net.Server's are off.
  const like = server as unknown as { allowHalfOpen: boolean; noDelay: boolean; keepAlive: boolean; keepAliveInitialDelay: number; highWaterMark: number };
  const options = { allowHalfOpen: like.allowHalfOpen, noDelay: like.noDelay, keepAlive: like.keepAlive, keepAliveInitialDelay: like.keepAliveInitialDelay * 1000, highWaterMark: like.highWaterMark };
  const copies = handles.slice(1).map((handle) => {
    const copy = new NetServer(options);
    copy.on('connection', (socket) => server.emit('connection', socket));
    copy.on('error', (err) => server.emit('error', err));
    copy.listen(handle as never);
    return copy;
  });
  return {
    count: 1 + copies.length,
    close: async () => { await Promise.all(copies.splice(0).map((c) => new Promise<void>((resolve) => c.close(() => resolve())))); },
  };
}

/** Binds host:port itself (core without a supervisor). */
export async function listenOnAddress(server: Server, host: string, port: number): Promise<Accepting> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => { server.off('error', reject); resolve(); });
  });
  return { count: 1, close: async () => {} };
}

/** Sends the supervisor a copy of the socket `server` accepts on, to keep while core serves. */
export function parkCopy(channel: HandleChannel, name: ListenerName, server: Server): void {
  const own = (server as unknown as { _handle?: unknown })._handle;
  if (own && typeof channel.send === 'function') channel.send({ t: LISTENER_PARK, name }, own);
}
