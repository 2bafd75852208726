export { buildApi, DEFAULT_BODY_LIMIT } from './server.js';
export type { ApiDeps, SupervisorView, TlsPort, OtaPort } from './deps.js';
export { toErrorBody, ErrorSchema, type ErrorBody } from './errors.js';
export { ROLES, roleRank, hasRole, canAccessOwned, type Role, type Permission, type Principal } from './route-permission.js';
export type { Status, SystemStatus } from './schemas/status.js';
export { RATE_LIMITS, RATE_WINDOW_MS, type AuthPort } from './access.js';
export { requestHandover, onTlsMaterial, listenOnHandles, listenOnAddress, parkCopy, type Accepting, type Handover, type HandleChannel } from './listen.js';
export { createSecureServer, type SecureServer } from './servers.js';
