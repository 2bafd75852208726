// Every route declares who may call it, in its own definition (`config.permission`). Routes
// without a declaration fail at registration, so an undeclared route cannot ship. access.ts
// enforces them for every route, whoever wrote it.
import type { FastifyInstance, RouteOptions } from 'fastify';

export const ROLES = ['user', 'node_operator', 'admin', 'super_admin'] as const;
export type Role = (typeof ROLES)[number];
/** 'public' needs no login; a role means that role or any above it. */
export type Permission = 'public' | Role;

/** Who is calling: set by the auth layer from a verified token; null for anonymous calls. */
export interface Principal {
  readonly userId: string;
  readonly username: string;
  readonly role: Role;
  /** The login session (token family) the request came with, when there is one. */
  readonly sessionId?: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    permission?: Permission;
    /**
     * Also accept a download token (`?token=`, from POST /api/v1/auth/download-token) for this
     * exact path, for browser links that cannot send `Authorization` (downloads, new tabs).
     */
    downloadToken?: boolean;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export function roleRank(role: Role): number {
  return ROLES.indexOf(role);
}

/** True when `role` is `required` or above it. */
export function hasRole(role: Role, required: Role): boolean {
  return roleRank(role) >= roleRank(required);
}

/**
 * Ownership rule for owned resources (sessions): a `user` sees only what it owns; node
 * operators and above see everything. Anonymous sees nothing (a non-public route never runs
 * without a principal anyway: the API refuses it with 401 first).
 */
export function canAccessOwned(principal: Principal | null, ownerId: string | null): boolean {
  if (principal === null) return false;
  return principal.role !== 'user' || principal.userId === ownerId;
}

export function requirePermissionOnEveryRoute(app: FastifyInstance): void {
  if (!app.hasRequestDecorator('principal')) app.decorateRequest('principal', null);
  app.addHook('onRoute', (route: RouteOptions) => {
    const permission = (route.config as { permission?: unknown } | undefined)?.permission;
    if (permission !== 'public' && !ROLES.includes(permission as Role)) {
      throw new Error(`route ${String(route.method)} ${route.url} does not declare config.permission`);
    }
  });
}
