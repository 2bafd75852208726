// Every route declares who may call it, in its own definition (`config.permission`). Routes
// without a declaration fail at registration, so an undeclared route cannot ship. The security
// issue enforces the roles; the foundation only has public routes.
import type { FastifyInstance, RouteOptions } from 'fastify';

export const ROLES = ['user', 'node_operator', 'admin', 'super_admin'] as const;
export type Role = (typeof ROLES)[number];
/** 'public' needs no login; a role means that role or any above it. */
export type Permission = 'public' | Role;

declare module 'fastify' {
  interface FastifyContextConfig {
    permission?: Permission;
  }
}

export function requirePermissionOnEveryRoute(app: FastifyInstance): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const permission = (route.config as { permission?: unknown } | undefined)?.permission;
    if (permission !== 'public' && !ROLES.includes(permission as Role)) {
      throw new Error(`route ${String(route.method)} ${route.url} does not declare config.permission`);
    }
  });
}
