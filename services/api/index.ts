export { buildApi, DEFAULT_BODY_LIMIT } from './server.js';
export type { ApiDeps, SupervisorView, TlsPort, OtaPort } from './deps.js';
export { toErrorBody, ErrorSchema, type ErrorBody } from './errors.js';
export { ROLES, roleRank, hasRole, canAccessOwned, type Role, type Permission, type Principal } from './route-permission.js';
export type { Status, SystemStatus } from './schemas/status.js';
export { RATE_LIMITS, RATE_WINDOW_MS, type AuthPort } from './access.js';
export { requestHandover, onTlsMaterial, listenOnHandles, listenOnAddress, parkCopy, type Accepting, type Handover, type HandleChannel } from './listen.js';
export { createSecureServer, type SecureServer } from './servers.js';
// The building blocks of buildApi, for another fastify server under the same rules (the fleet
// server, ota/server): one error shape, a declared permission on every route, access control,
// rate limits, security headers, OpenAPI at /docs, static files.
export { installErrorHandlers } from './errors.js';
export { requirePermissionOnEveryRoute } from './route-permission.js';
export { recordRoutes, buildOpenApi, DOCS_HTML, type RouteRecord } from './openapi.js';
export { installIdentify, installEnforcement, installRateLimit } from './access.js';
export { installSecurityHeaders } from './security-headers.js';
export { staticRoutes } from './static-files.js';
export { lazySchemaController } from './lazy-schemas.js';
