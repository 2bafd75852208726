// The API's two servers around one fastify app: HTTPS (the API and web UI) and plain HTTP (what
// services/common/plain-http.ts allows; everything on loopback). Both run fastify's own request
// handler, so every route, hook and header is the same on either; the plain-HTTP gate
// (plain-gate.ts) is the only difference.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { FastifyInstance } from 'fastify';
import { tlsServerOptions, type TlsMaterial } from '../common/tls.js';

type Handler = Parameters<typeof createHttpServer>[1];

/** fastify's server options that its own factory applies to a server (lib/server.js). */
const SERVER_OPTIONS = { keepAliveTimeout: 72_000, requestTimeout: 0, connectionTimeout: 0 } as const;

function tune<S extends HttpServer | HttpsServer>(server: S): S {
  server.keepAliveTimeout = SERVER_OPTIONS.keepAliveTimeout;
  server.requestTimeout = SERVER_OPTIONS.requestTimeout;
  server.setTimeout(SERVER_OPTIONS.connectionTimeout);
  return server;
}

/** fastify's `serverFactory`: the plain server as fastify would make it, and the handler kept for the HTTPS one. */
export function plainServerFactory(): { factory: (handler: Handler) => HttpServer; handler: () => Handler } {
  let kept: Handler | undefined;
  return {
    factory: (handler) => {
      kept = handler;
      return tune(createHttpServer(handler));
    },
    handler: () => {
      if (!kept) throw new Error('the fastify app has not made its server yet');
      return kept;
    },
  };
}

export interface SecureServer {
  readonly server: HttpsServer;
  /** A new certificate, served from the next handshake on. */
  setTls(material: TlsMaterial): void;
}

export function createSecureServer(app: FastifyInstance, material: TlsMaterial, cpuHasAes: boolean): SecureServer {
  const server = tune(createHttpsServer(tlsServerOptions(material, cpuHasAes), app.lucidHandler));
  return { server, setTls: (m) => server.setSecureContext(tlsServerOptions(m, cpuHasAes)) };
}
