// Public face of services/auth: the service, its route plugin factories, and the pure helpers
// other areas and tests use (TIP-191, password policy).
import type { FastifyPluginAsync } from 'fastify';
import type { AuthService } from './service.js';
import { authRoutes } from './routes-auth.js';
import { approvalRoutes, auditRoutes, emergencyRoutes, userRoutes } from './routes-admin.js';

export { AuthService, ACCESS_TTL_S, REFRESH_TTL_S, LOCK_AFTER, LOCK_MS, NONCE_TTL_MS, type AuthDeps, type TokenPair, type ClientContext } from './service.js';
export { loadOrCreateJwtKey, JWT_KEY_FILE, JwtSigner, newId, type Claims, type AccessClaims, type RefreshClaims } from './jwt.js';
export { SETUP_CODE_FILE, SetupCode, codesEqual } from './setup-code.js';
export { prepareFactoryReset, FACTORY_RESET_ACTION } from './factory-reset.js';
export { AuditLog, GENESIS, RETENTION_MS, keyOf as auditKey, type AuditEntry } from './audit.js';
export { LOCKDOWN_MS, SESSIONS_DISABLED_MS } from './emergency.js';
export { checkPasswordPolicy, hashPassword, verifyPassword, dummyHash, MIN_PASSWORD_LENGTH } from './passwords.js';
export { addressOf, isTronAddress, signTip191, verifyTip191, recoverTip191Address, tip191Digest } from './tron-message.js';
export { authRoutes } from './routes-auth.js';
export { approvalRoutes, auditRoutes, emergencyRoutes, userRoutes } from './routes-admin.js';
export { independence, APPROVAL_TTL_MS, type ApprovalKind, type ApprovalRequest, type ApprovalView } from './approvals.js';
export { canonicalUsername } from './usernames.js';
export { DEVICE_CODE_FILE } from './device-code.js';

/** Every route plugin of the area, for ApiDeps.routes. */
export function authRoutePlugins(auth: AuthService): FastifyPluginAsync[] {
  return [authRoutes(auth), userRoutes(auth), approvalRoutes(auth), auditRoutes(auth), emergencyRoutes(auth)];
}
