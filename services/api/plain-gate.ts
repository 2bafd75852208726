// The plain-HTTP rule (services/common/plain-http.ts) as the API's first hook: before a token is
// identified, a limit counted or a body read. HTTPS and loopback connections pass at the cost of
// one property read per request (the answer is kept on the socket).
import type { FastifyInstance } from 'fastify';
import { LucidError } from '../common/errors.js';
import { httpsRequiredMessage, isLoopback, plainHttpVerdict } from '../common/plain-http.js';

const kServesAll = Symbol('lucid.servesAll');
type GateSocket = { encrypted?: boolean; localAddress?: string; [kServesAll]?: boolean };

export function installPlainHttpGate(app: FastifyInstance, httpsPort: number): void {
  app.addHook('onRequest', (request, reply, done) => {
    const socket = request.raw.socket as unknown as GateSocket;
    let all = socket[kServesAll];
    if (all === undefined) all = socket[kServesAll] = socket.encrypted === true || isLoopback(socket.localAddress);
    if (all) return done();
    const verdict = plainHttpVerdict({ method: request.method, url: request.url, headers: request.headers, localAddress: socket.localAddress }, httpsPort);
    if (verdict.kind === 'serve') return done();
    if (verdict.kind === 'redirect') {
      void reply.header('cache-control', 'no-store').redirect(verdict.location, 308);
      return;
    }
    done(new LucidError('API_ERR_HTTPS_REQUIRED', httpsRequiredMessage(verdict), { https: verdict.https }));
  });
}
