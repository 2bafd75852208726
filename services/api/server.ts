// Builds the fastify app (not listening): schema-first routes, one error shape, OpenAPI at
// /docs from the same schemas (built on first read), Prometheus at /metrics and the web UI at /.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { existsSync } from 'node:fs';
import type { ApiDeps } from './deps.js';
import { installErrorHandlers } from './errors.js';
import { requirePermissionOnEveryRoute } from './route-permission.js';
import { healthRoutes } from './routes/health.js';
import { statusRoutes } from './routes/status.js';
import { halRoutes } from './routes/hal.js';
import { metricsRoutes } from './routes/metrics.js';
import { otaRoutes } from './routes/ota.js';
import { registerProcessMetrics } from './process-metrics.js';
import { buildOpenApi, recordRoutes, DOCS_HTML, type RouteRecord } from './openapi.js';
import { staticRoutes } from './static-files.js';
import { installEnforcement, installIdentify, installRateLimit } from './access.js';
import { installSecurityHeaders } from './security-headers.js';
import { lazySchemaController } from './lazy-schemas.js';
import { installWriteBatching } from './write-batch.js';
import { plainServerFactory } from './servers.js';
import { installPlainHttpGate } from './plain-gate.js';
import { tlsRoutes } from './routes/tls.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route of ours with its declared permission (the docs and the RBAC matrix test read it). */
    lucidRoutes: readonly RouteRecord[];
    /** fastify's request handler, for a second server (HTTPS) on the same app (servers.ts). */
    lucidHandler: Parameters<typeof import('node:http').createServer>[1];
  }
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

const docsRoutes = (deps: ApiDeps, table: readonly RouteRecord[]): FastifyPluginAsync => async (app) => {
  let doc: object | null = null;
  app.get('/docs/json', { config: { permission: 'public' }, schema: { hide: true } }, async () => {
    doc ??= buildOpenApi(table, { title: 'Lucid appliance API', version: deps.version, description: 'LAN API of a Lucid appliance' });
    return doc;
  });
  app.get('/docs', { config: { permission: 'public' }, schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('content-security-policy', "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'").send(DOCS_HTML));
};

export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const plain = plainServerFactory();
  const app: FastifyInstance = Fastify({
    // fastify's own plain server, with its handler kept for the HTTPS server (servers.ts).
    serverFactory: plain.factory,
    loggerInstance: deps.log.child({ module: 'api' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // request.log is the module's logger itself: a pino child per request (its bindings and the
    // redaction set-up) cost ~2 % of a small authenticated read; the error handler logs reqId.
    childLoggerFactory: (logger) => logger,
    bodyLimit: deps.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // Reject unknown properties instead of silently dropping them (fastify's default strips).
    // Types: bodies are never coerced, query/params/headers coerce scalars (lazy-schemas.ts).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false } },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    return503OnClosing: true,
    schemaController: lazySchemaController(),
  });
  app.decorate('lucidHandler', plain.handler());
  installErrorHandlers(app);
  registerProcessMetrics(app, deps);
  // Security headers, computed once: helmet's for pages, OWASP's REST set for the API
  // (security-headers.ts says why); HSTS over HTTPS when the certificate is the user's own. No
  // CORS plugin: cross-origin reads stay closed.
  installSecurityHeaders(app, { hsts: deps.tls?.info().source === 'user' });
  // Before anything reads a credential: plain HTTP from the network serves none (plain-gate.ts).
  if (deps.tls && deps.plainHttpRule !== false) installPlainHttpGate(app, deps.tls.httpsPort);
  installIdentify(app, deps.auth);
  installEnforcement(app, deps.auth);
  installWriteBatching(app, deps.writeBatch);

  const table: RouteRecord[] = [];
  app.decorate('lucidRoutes', table);
  const routes: FastifyPluginAsync[] = [
    healthRoutes(deps), statusRoutes(deps), halRoutes(deps), metricsRoutes(deps), otaRoutes(deps), docsRoutes(deps, table), ...(deps.routes ?? []),
  ];
  if (deps.tls) routes.push(tlsRoutes(deps.tls));
  if (deps.webRoot && existsSync(deps.webRoot)) routes.push(staticRoutes(deps.webRoot));
  await app.register(async (scope) => {
    requirePermissionOnEveryRoute(scope);
    recordRoutes(scope, table);
    await installRateLimit(scope);
    for (const plugin of routes) await scope.register(plugin);
  });
  await app.ready();
  return app;
}
