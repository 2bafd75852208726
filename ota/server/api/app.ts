// The fleet server's fastify app, built from the appliance API's own pieces (services/api): one
// error shape with coded 4xx, a declared permission on every route (registration fails without
// one), access control before the body is parsed, rate limits by role, security headers, OpenAPI
// at /docs generated from the route schemas, and the web UI.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { existsSync, readFileSync } from 'node:fs';
import type { Logger } from '../../../services/common/log.js';
import { cpuHasAes, tlsServerOptions, type TlsMaterial } from '../../../services/common/tls.js';
import {
  DOCS_HTML, buildOpenApi, installEnforcement, installErrorHandlers, installIdentify, installRateLimit, installSecurityHeaders,
  lazySchemaController, recordRoutes, requirePermissionOnEveryRoute, staticRoutes, type AuthPort, type RouteRecord,
} from '../../../services/api/index.js';

export interface FleetApiOptions {
  readonly log: Logger;
  readonly version: string;
  readonly auth: AuthPort;
  readonly routes: readonly FastifyPluginAsync[];
  readonly webRoot: string | null;
  /** The certificate: the app serves HTTPS only (TLS 1.2+, the appliance's cipher list). */
  readonly tls: Pick<TlsMaterial, 'keyPem' | 'certPem'>;
}

declare module 'fastify' {
  interface FastifyInstance {
    fleetRoutes: readonly RouteRecord[];
  }
}

function cpuinfo(): string | null {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return null;
  }
}

export async function buildFleetApi(o: FleetApiOptions): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: o.log.child({ module: 'api' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: (logger) => logger,
    bodyLimit: 256 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 300 },
    return503OnClosing: true,
    schemaController: lazySchemaController(),
    // Behind a load balancer: the client's address from X-Forwarded-For (rate limits, audit).
    trustProxy: true,
    keepAliveTimeout: 65_000,
    https: tlsServerOptions(o.tls, cpuHasAes(cpuinfo())),
  });
  installErrorHandlers(app);
  installSecurityHeaders(app);
  installIdentify(app, o.auth);
  installEnforcement(app, o.auth);
  const table: RouteRecord[] = [];
  app.decorate('fleetRoutes', table);
  const docs: FastifyPluginAsync = async (scope) => {
    let doc: object | null = null;
    scope.get('/docs/json', { config: { permission: 'public' }, schema: { hide: true } }, async () => {
      doc ??= buildOpenApi(table, { title: 'Lucid fleet API', version: o.version, description: 'Fleet server: enrollment, inventory, releases, staged rollouts' });
      return doc;
    });
    scope.get('/docs', { config: { permission: 'public' }, schema: { hide: true } }, async (_request, reply) =>
      reply.type('text/html; charset=utf-8').header('content-security-policy', "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'")
        .send(DOCS_HTML.replaceAll('Lucid appliance API', 'Lucid fleet API')));
  };
  await app.register(async (scope) => {
    requirePermissionOnEveryRoute(scope);
    recordRoutes(scope, table);
    await installRateLimit(scope);
    for (const plugin of [docs, ...o.routes]) await scope.register(plugin);
    if (o.webRoot && existsSync(o.webRoot)) await scope.register(staticRoutes(o.webRoot));
  });
  await app.ready();
  return app;
}
