// The role × route matrix, generated from the live route table (app.lucidRoutes): for every
// route, every role below its permission is refused (401 anonymous, 403 logged in) and every
// role at or above it gets past access control. A route added anywhere joins the matrix by
// itself; a route without a permission cannot even be registered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify from 'fastify';
import { ROLES, roleRank, type Role } from '../../../services/api/index.js';
import { buildAuthApp, type AuthApp } from '../../helpers/auth-app.js';
import { requirePermissionOnEveryRoute } from '../../../services/api/route-permission.js';

type Caller = 'anonymous' | Role;
const CALLERS: readonly Caller[] = ['anonymous', ...ROLES];
const ACCESS_CODES = ['AUTH_ERR_UNAUTHENTICATED', 'AUTH_ERR_FORBIDDEN', 'AUTH_ERR_TOKEN_INVALID', 'AUTH_ERR_TOKEN_EXPIRED'];
const ADDRESS = 'TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC';

let h: AuthApp;
let tokens: Record<Role, string>;

beforeAll(async () => {
  h = await buildAuthApp();
  tokens = {
    super_admin: (await h.userWithRole('super_admin')).accessToken,
    admin: (await h.userWithRole('admin')).accessToken,
    node_operator: (await h.userWithRole('node_operator')).accessToken,
    user: (await h.userWithRole('user')).accessToken,
  };
}, 60_000);
afterAll(async () => h?.close());

const concrete = (url: string): string => url.replace(':address', ADDRESS).replace(/:[A-Za-z]+/g, 'matrix-id');
const allowed = (caller: Caller, permission: string): boolean =>
  permission === 'public' || (caller !== 'anonymous' && roleRank(caller) >= roleRank(permission as Role));

describe('RBAC matrix from the live route table', () => {
  it('lists every route with a declared permission', () => {
    const routes = h.app.lucidRoutes;
    expect(routes.length).toBeGreaterThan(30);
    for (const r of routes) expect(['public', ...ROLES]).toContain(r.permission);
    const urls = routes.map((r) => `${r.method} ${r.url}`);
    for (const must of ['GET /healthz', 'GET /api/v1/status', 'GET /api/v1/node', 'POST /api/v1/auth/login', 'GET /api/v1/users', 'GET /api/v1/audit/verify', 'POST /api/v1/emergency/requests', 'GET /api/v1/ota', 'POST /api/v1/ota/install', 'PUT /api/v1/ota/bundle']) {
      expect(urls).toContain(must);
    }
  });

  it('refuses the roles below each route\'s permission and lets the others through', async () => {
    // Logout revokes the caller's session, so it runs last.
    const routes = [...h.app.lucidRoutes].sort((a, b) => Number(a.url.endsWith('/logout')) - Number(b.url.endsWith('/logout')));
    const failures: string[] = [];
    let checked = 0;
    for (const route of routes) {
      for (const caller of CALLERS) {
        const res = await h.inject({
          method: route.method as 'GET',
          url: concrete(route.url),
          ...(caller === 'anonymous' ? {} : { token: tokens[caller] }),
          ...(['POST', 'PUT', 'PATCH'].includes(route.method) ? { payload: {} } : {}),
        });
        checked++;
        const code = (() => { try { return (res.json() as { code?: string }).code; } catch { return undefined; } })();
        const where = `${caller} → ${route.method} ${route.url} [${route.permission}]: ${res.statusCode} ${code ?? ''}`;
        if (allowed(caller, route.permission)) {
          if (code !== undefined && ACCESS_CODES.includes(code)) failures.push(`allowed but refused: ${where}`);
          if (res.statusCode >= 500 && res.statusCode !== 503) failures.push(`5xx: ${where}`);
        } else {
          const want = caller === 'anonymous' ? 401 : 403;
          if (res.statusCode !== want || !ACCESS_CODES.includes(code ?? '')) failures.push(`should be ${want}: ${where}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBe(h.app.lucidRoutes.length * CALLERS.length);
  });

  it('a route without config.permission fails at registration', async () => {
    const app = Fastify();
    await app.register(async (scope) => {
      requirePermissionOnEveryRoute(scope);
      scope.get('/undeclared', async () => 'x');
    }).ready().then(() => { throw new Error('registered'); }, (err: Error) => expect(err.message).toMatch(/does not declare config.permission/));
  });
});
