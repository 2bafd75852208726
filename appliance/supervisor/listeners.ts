// The API's listening sockets belong to the supervisor. It binds them at start, answers on them
// itself while core is not serving (recovery.ts: /healthz 503 with reasons, a read-only recovery
// page), and hands them to core when core asks:
//
//   supervisor                                   core
//   bind, accept (recovery answers)
//                        ←── listeners-request
//   tls-material, each socket × descriptors ──→  listens on them (HTTP and HTTPS servers)
//                        ←── listener-park + a copy of each socket
//   keeps the copy without accepting on it,
//   stops accepting (in-flight answers finish)
//   … core exits (crash, kill, restart) …
//   accepts on the kept copy again
//
// A socket sent over IPC arrives as a new descriptor of the same socket, so the kept copy keeps
// the socket — its port and its queue of connections not yet accepted — alive while core is gone:
// no moment without a listener, no connection refused during a restart, and nothing here needs
// dup(), SO_REUSEPORT or a particular Node version. The kept copy is never accepted on while core
// is: a descriptor only accepts once someone listens on it.
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Logger } from '../../services/common/log.js';
import { LISTENER, TLS_MATERIAL, type ListenerName } from '../../services/common/ipc.js';
import { tlsServerOptions, type TlsMaterial } from '../../services/common/tls.js';
import type { ChildHandle } from './child-process.js';

export interface ListenerSpec {
  readonly name: ListenerName;
  readonly host: string;
  readonly port: number;
  /** The setting that names the port, for the one line a taken port prints. */
  readonly setting: string;
}

export interface ApiListenersDeps {
  readonly log: Logger;
  readonly specs: readonly ListenerSpec[];
  /** Descriptors of each socket core accepts on (LUCID_API_ACCEPT_DESCRIPTORS; 1 = the socket once). */
  readonly descriptors: number;
  readonly tls: () => TlsMaterial;
  readonly cpuHasAes: boolean;
  /** Answers a request while core is not serving. */
  readonly answer: (req: IncomingMessage, res: ServerResponse) => void;
}

interface Slot {
  readonly spec: ListenerSpec;
  /** The supervisor's own server, accepting: while core is not serving. */
  server: HttpServer | null;
  /** A descriptor of the socket, kept without accepting while core serves. */
  parked: unknown;
}

export class ApiListeners {
  private readonly slots = new Map<ListenerName, Slot>();
  private closed = false;

  constructor(private readonly deps: ApiListenersDeps) {
    for (const spec of deps.specs) this.slots.set(spec.name, { spec, server: null, parked: null });
  }

  /** Binds every socket and accepts on it. Rejects with a message naming the setting (EADDRINUSE, EACCES). */
  async bind(): Promise<void> {
    for (const slot of this.slots.values()) {
      const server = this.serverFor(slot.spec.name);
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) => reject(Object.assign(new Error(`${slot.spec.setting}: cannot listen on ${slot.spec.host}:${slot.spec.port}: ${err.code ?? err.message}`), { code: err.code })));
        server.listen({ host: slot.spec.host, port: slot.spec.port }, () => resolve());
      });
      server.on('error', (err) => this.deps.log.error({ err, listener: slot.spec.name }, 'listener error'));
      slot.server = server;
    }
  }

  /** True while the supervisor itself accepts (core is not serving). */
  get answering(): boolean {
    return [...this.slots.values()].some((s) => s.server !== null);
  }

  /** Sends core the TLS material, then every socket `descriptors` times. */
  async handOver(to: ChildHandle): Promise<void> {
    to.send({ t: TLS_MATERIAL, material: this.deps.tls() });
    const count = Math.max(1, this.deps.descriptors);
    for (const slot of this.slots.values()) {
      const handle = slot.server ? (slot.server as unknown as { _handle: unknown })._handle : slot.parked;
      if (!handle) throw new Error(`no socket for the ${slot.spec.name} listener`);
      for (let index = 0; index < count; index++) {
        await to.sendHandle({ t: LISTENER, name: slot.spec.name, index, count }, handle);
      }
    }
  }

  /** Core accepts on `name` and sent a copy back: keep it, and stop accepting once core has every socket. */
  park(name: unknown, handle: unknown): void {
    const slot = this.slots.get(name as ListenerName);
    if (!slot || this.closed) {
      closeHandle(handle);
      return;
    }
    if (slot.parked) closeHandle(slot.parked);
    slot.parked = handle;
    if ([...this.slots.values()].every((s) => s.parked)) {
      for (const s of this.slots.values()) this.stopAccepting(s);
      this.deps.log.info('core serves the API; the supervisor stopped answering');
    }
  }

  /** Core is gone: accept on the kept copies again (connections waiting in the queue included). */
  resume(): void {
    if (this.closed) return;
    let resumed = false;
    for (const slot of this.slots.values()) {
      if (slot.server || !slot.parked) continue;
      const server = this.serverFor(slot.spec.name);
      server.on('error', (err) => this.deps.log.error({ err, listener: slot.spec.name }, 'listener error'));
      server.listen(slot.parked as never);
      slot.server = server;
      slot.parked = null;
      resumed = true;
    }
    if (resumed) this.deps.log.warn('core is not serving; the supervisor answers on the API ports');
  }

  /** A re-issued certificate: the supervisor's own HTTPS server serves it from the next handshake. */
  updateTls(material: TlsMaterial): void {
    const https = this.slots.get('https')?.server as unknown as { setSecureContext?: (o: object) => void } | null;
    https?.setSecureContext?.(tlsServerOptions(material, this.deps.cpuHasAes));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.slots.values()].map(async (slot) => {
      if (slot.parked) closeHandle(slot.parked);
      slot.parked = null;
      const server = slot.server;
      slot.server = null;
      if (server) {
        await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
      }
    }));
  }

  private serverFor(name: ListenerName): HttpServer {
    const server = name === 'https'
      ? createHttpsServer(tlsServerOptions(this.deps.tls(), this.deps.cpuHasAes), this.deps.answer)
      : createHttpServer(this.deps.answer);
    // Short-lived answers: a browser's idle connection must not pin a request to the supervisor
    // after core is back.
    server.keepAliveTimeout = 2_000;
    server.requestTimeout = 10_000;
    server.headersTimeout = 5_000;
    return server;
  }

  private stopAccepting(slot: Slot): void {
    const server = slot.server;
    if (!server) return;
    slot.server = null;
    server.close();
    server.closeIdleConnections();
  }
}

function closeHandle(handle: unknown): void {
  (handle as { close?: () => void } | null)?.close?.();
}

