// Access control for every route, written once here so routes written anywhere are covered:
//   1. onRequest (app level): identify the caller from `Authorization: Bearer` → request.principal
//      (never rejects: a bad token on a public route is just anonymous). Routes that declare
//      `config.downloadToken` also take a path-scoped 60 s download token as `?token=`.
//   2. onRequest (route level, @fastify/rate-limit): per-minute limits by tier — public 100 per
//      IP, user 1000, node_operator 5000, admin 10000 per user (DESIGN §2).
//   3. preParsing (app level): the route's `config.permission` against the principal's role →
//      401 (no/invalid token) or 403 (role too low, or an emergency lockdown). Runs before the
//      body is parsed, so an unauthenticated caller cannot make us parse anything.
// Counters live in memory in the core process (the only API process on a device): an LRU of
// 5000 keys per store; a restart empties them. No Redis: one device, one process.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { LucidError, type ErrorCode } from '../common/errors.js';
import { hasRole, type Permission, type Principal, type Role } from './route-permission.js';

export interface AuthPort {
  /** Who is calling; never throws. `error` says why a presented token was not accepted. */
  identify(authorization: string | undefined, ctx: { ip: string; userAgent: string }): { principal: Principal | null; error: ErrorCode | null };
  /** Who presents a download token for `path` (routes with `config.downloadToken` only). */
  identifyDownload?(token: string, path: string, ctx: { ip: string; userAgent: string }): { principal: Principal | null; error: ErrorCode | null };
  /** Refusal beyond the role check (emergency lockdown), or null. */
  restrict(principal: Principal, permission: Permission): ErrorCode | null;
}

export const RATE_LIMITS: Readonly<Record<'public' | Role, number>> = {
  public: 100, user: 1000, node_operator: 5000, admin: 10000, super_admin: 10000,
};
export const RATE_WINDOW_MS = 60_000;

declare module 'fastify' {
  interface FastifyRequest {
    authError: ErrorCode | null;
  }
}

const permissionOf = (request: FastifyRequest): Permission =>
  ((request.routeOptions.config as { permission?: Permission } | undefined)?.permission) ?? 'admin';

export function installIdentify(app: FastifyInstance, auth: AuthPort | undefined): void {
  if (!app.hasRequestDecorator('authError')) app.decorateRequest('authError', null);
  // Callback-style hooks (not async): no promise per request on the hot path.
  app.addHook('onRequest', (request, _reply, done) => {
    const header = request.headers.authorization;
    if (auth && header !== undefined) {
      const { principal, error } = auth.identify(header, { ip: request.ip, userAgent: String(request.headers['user-agent'] ?? '') });
      request.principal = principal;
      request.authError = error;
    } else if (auth?.identifyDownload && (request.routeOptions.config as { downloadToken?: boolean } | undefined)?.downloadToken) {
      const token = (request.query as Record<string, unknown> | undefined)?.['token'];
      if (typeof token === 'string') {
        const path = request.url.split('?', 1)[0]!;
        const { principal, error } = auth.identifyDownload(token, path, { ip: request.ip, userAgent: String(request.headers['user-agent'] ?? '') });
        request.principal = principal;
        request.authError = error;
      }
    }
    done();
  });
}

export async function installRateLimit(scope: FastifyInstance): Promise<void> {
  await scope.register(rateLimit, {
    global: true,
    timeWindow: RATE_WINDOW_MS,
    // Synchronous: the plugin awaits the value anyway; an async function would add a promise per request.
    max: (request: FastifyRequest) => RATE_LIMITS[request.principal?.role ?? 'public'],
    keyGenerator: (request: FastifyRequest) => (request.principal ? `u:${request.principal.userId}` : `ip:${request.ip}`),
    enableDraftSpec: true,
    errorResponseBuilder: (_request, context) =>
      new LucidError('AUTH_ERR_RATE_LIMITED', `rate limit of ${context.max} requests per minute exceeded; retry in ${context.after}`, { limit: context.max }),
  });
}

export function installEnforcement(app: FastifyInstance, auth: AuthPort | undefined): void {
  app.addHook('preParsing', (request, _reply, payload, done) => {
    done(refusalFor(request, auth), payload);
  });
}

function refusalFor(request: FastifyRequest, auth: AuthPort | undefined): LucidError | null {
  if (request.is404) return null; // unknown route: the 404 answer says nothing protected
  const permission = permissionOf(request);
  if (permission === 'public') return null;
  const principal = request.principal;
  if (!principal) return new LucidError(request.authError ?? 'AUTH_ERR_UNAUTHENTICATED');
  if (!hasRole(principal.role, permission as Role)) {
    return new LucidError('AUTH_ERR_FORBIDDEN', `needs ${permission}; you are ${principal.role}`, { required: permission, role: principal.role });
  }
  const refusal = auth?.restrict(principal, permission);
  return refusal ? new LucidError(refusal) : null;
}
