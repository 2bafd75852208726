export { buildApi, DEFAULT_BODY_LIMIT } from './server.js';
export type { ApiDeps, SupervisorView, OtaPort } from './deps.js';
export { toErrorBody, ErrorSchema, type ErrorBody } from './errors.js';
export { ROLES, roleRank, hasRole, canAccessOwned, type Role, type Permission, type Principal } from './route-permission.js';
export type { Status, SystemStatus } from './schemas/status.js';
export { RATE_LIMITS, RATE_WINDOW_MS, type AuthPort } from './access.js';
export { acceptOnCopies, type AcceptCopies } from './accept-handles.js';
