// The role × route matrix over the appliance's full route set, as core assembles it
// (tests/helpers/core-app.ts → assemble-core.ts: auth, users, approvals, audit, emergency,
// sessions, ledger, anchors, status, HAL, docs, the TLS certificate, OTA, payouts). MATRIX below is the expected permission of
// every route, written down here: the live route table must equal it (a route added tomorrow
// fails this test until it has an entry, and a permission changed by mistake fails it too).
// Then every route × caller: the roles below the permission are refused (401 anonymous, 403
// logged in) and the others get past access control, and no answer is a 5xx. A 503 is
// accepted only in the pass where the test itself disabled new sessions, and only with that
// state's codes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify from 'fastify';
import { ROLES, roleRank, type Permission, type Role } from '../../../services/api/index.js';
import { requirePermissionOnEveryRoute } from '../../../services/api/route-permission.js';
import { startCoreApp, type CoreApp } from '../../helpers/core-app.js';

const MATRIX: Readonly<Record<string, Permission>> = {
  'GET /healthz': 'public', 'GET /api/v1/node': 'public', 'GET /metrics': 'public', 'GET /docs/json': 'public', 'GET /docs': 'public',
  'GET /api/v1/status': 'user', 'POST /api/v1/hal/button': 'admin',
  'GET /api/v1/auth/methods': 'public', 'POST /api/v1/auth/setup': 'public', 'POST /api/v1/auth/login': 'public',
  'POST /api/v1/auth/challenge': 'public', 'POST /api/v1/auth/wallet': 'public', 'POST /api/v1/auth/hardware': 'public', 'POST /api/v1/auth/refresh': 'public',
  'POST /api/v1/auth/download-token': 'user', 'POST /api/v1/auth/logout': 'user', 'GET /api/v1/auth/me': 'user', 'POST /api/v1/auth/me/password': 'user',
  'GET /api/v1/auth/sessions': 'user', 'DELETE /api/v1/auth/sessions/:id': 'user',
  'GET /api/v1/users': 'admin', 'POST /api/v1/users': 'admin', 'GET /api/v1/users/:id': 'admin', 'PATCH /api/v1/users/:id': 'admin',
  'DELETE /api/v1/users/:id': 'admin', 'POST /api/v1/users/:id/unlock': 'admin', 'POST /api/v1/users/:id/wallets': 'admin',
  'DELETE /api/v1/users/:id/wallets/:address': 'admin', 'GET /api/v1/wallet/device': 'admin',
  'GET /api/v1/approvals': 'admin', 'POST /api/v1/approvals/:id/approve': 'admin',
  'GET /api/v1/audit': 'admin', 'GET /api/v1/audit/verify': 'admin',
  'GET /api/v1/emergency': 'admin', 'POST /api/v1/emergency/requests': 'admin', 'POST /api/v1/emergency/requests/:id/approve': 'admin',
  'POST /api/v1/emergency/lockdown/lift': 'admin', 'POST /api/v1/emergency/sessions': 'admin',
  'POST /api/v1/sessions': 'user', 'GET /api/v1/sessions': 'user', 'GET /api/v1/sessions/:id': 'user', 'POST /api/v1/sessions/:id/start': 'user',
  'POST /api/v1/sessions/:id/pause': 'user', 'POST /api/v1/sessions/:id/resume': 'user', 'POST /api/v1/sessions/:id/stop': 'user',
  'POST /api/v1/sessions/:id/finalize': 'user', 'GET /api/v1/sessions/:id/manifest': 'user', 'POST /api/v1/sessions/:id/verify': 'user',
  'DELETE /api/v1/sessions/:id': 'user', 'PUT /api/v1/sessions/:id/data': 'user', 'GET /api/v1/sessions/:id/content': 'user',
  'GET /api/v1/sessions/:id/chunks/:index': 'user', 'GET /api/v1/sessions/:id/chunks/:index/proof': 'user',
  'GET /api/v1/anchors/:manifestHash': 'public', 'GET /api/v1/ledger/status': 'public', 'GET /api/v1/ledger/genesis': 'public',
  'GET /api/v1/ledger/blocks': 'node_operator', 'GET /api/v1/ledger/validators': 'node_operator', 'GET /api/v1/ledger/credits': 'node_operator',
  'GET /api/v1/ledger/mempool': 'node_operator', 'GET /api/v1/ledger/evidence': 'node_operator',
  'GET /api/v1/ledger/admission': 'node_operator', 'POST /api/v1/ledger/validators/approve': 'admin',
  'POST /api/v1/ledger/validators/join': 'admin', 'POST /api/v1/ledger/validators/leave': 'admin',
  'GET /api/v1/tls': 'public', 'GET /api/v1/tls/certificate': 'public',
  'GET /api/v1/ota': 'user', 'POST /api/v1/ota/check': 'admin', 'POST /api/v1/ota/install': 'admin', 'POST /api/v1/ota/rollback': 'admin',
  'PUT /api/v1/ota/bundle': 'admin', 'POST /api/v1/ota/fleet/enroll': 'admin',
  // Payouts (services/payout/routes.ts): registered with or without payouts (PAYOUT_ERR_DISABLED).
  'GET /api/v1/payouts/status': 'admin', 'GET /api/v1/payouts/statements': 'admin', 'GET /api/v1/payouts': 'admin',
  'POST /api/v1/payouts/statements': 'admin', 'POST /api/v1/payouts/requests': 'admin', 'GET /api/v1/payouts/:id/approval': 'admin',
  'GET /api/v1/payouts/approvals': 'admin', 'POST /api/v1/payouts/:id/approve': 'admin', 'POST /api/v1/payouts/:id/retry': 'admin',
  'POST /api/v1/payouts/keystore': 'super_admin', 'POST /api/v1/payouts/keystore/unlock': 'admin', 'POST /api/v1/payouts/keystore/lock': 'admin',
  'POST /api/v1/payouts/ledger': 'admin', 'POST /api/v1/payouts/approvers/text': 'admin', 'POST /api/v1/payouts/approvers': 'admin',
  'POST /api/v1/payouts/addresses/text': 'admin', 'POST /api/v1/payouts/addresses': 'admin', 'GET /api/v1/payouts/earnings': 'node_operator',
};

type Caller = 'anonymous' | Role;
const CALLERS: readonly Caller[] = ['anonymous', ...ROLES];
const ACCESS_CODES = ['AUTH_ERR_UNAUTHENTICATED', 'AUTH_ERR_FORBIDDEN', 'AUTH_ERR_TOKEN_INVALID', 'AUTH_ERR_TOKEN_EXPIRED', 'AUTH_ERR_LOCKDOWN'];
/** The codes the "disable new sessions" emergency state answers with (services/common/errors.md). */
const SESSIONS_DISABLED_CODES = ['AUTH_ERR_SESSIONS_DISABLED', 'SESS_ERR_CREATION_DISABLED'];
const ADDRESS = 'TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC';

let c: CoreApp;
let tokens: Record<Role, string>;
const NAMES: Record<Role, string> = { super_admin: 'root', admin: 'u-admin', node_operator: 'u-node-operator', user: 'u-user' };
/** New logins for every role (each sweep ends with logout). */
const relogin = async (): Promise<void> => {
  for (const role of ROLES) tokens[role] = (await c.login(NAMES[role], undefined, `10.8.0.${roleRank(role) + 1}`)).accessToken;
};

beforeAll(async () => {
  c = await startCoreApp();
  tokens = {
    super_admin: (await c.userWithRole('super_admin')).accessToken,
    admin: (await c.userWithRole('admin')).accessToken,
    node_operator: (await c.userWithRole('node_operator')).accessToken,
    user: (await c.userWithRole('user')).accessToken,
  };
}, 60_000);
afterAll(async () => c?.close());

const key = (r: { method: string; url: string }): string => `${r.method} ${r.url}`;
const concrete = (url: string): string => url.replace(':address', ADDRESS).replace(':manifestHash', 'ab'.repeat(32)).replace(':index', '0').replace(/:[A-Za-z]+/g, 'matrix-id');
const allowed = (caller: Caller, permission: string): boolean =>
  permission === 'public' || (caller !== 'anonymous' && roleRank(caller) >= roleRank(permission as Role));
const codeOf = (body: string): string | undefined => { try { return (JSON.parse(body) as { code?: string }).code; } catch { return undefined; } };

/**
 * Every route × caller; returns what went wrong. The emergency state is read before each
 * request: while the test has new sessions disabled a 503 may carry that state's codes (and
 * nothing else may be a 5xx); while it has a lockdown, every non-public route refuses the roles
 * below admin.
 */
let passes = 0;
async function sweep(): Promise<{ failures: string[]; checked: number }> {
  const ip = `10.7.${++passes}.1`; // the public tier's 100/min per IP holds for one pass, not three
  // Lifting a lockdown ends the state this pass may have set up, and logout revokes the caller's
  // session: they run last.
  const last = (url: string): number => (url.endsWith('/logout') ? 2 : url.endsWith('/lockdown/lift') ? 1 : 0);
  const routes = [...c.app.lucidRoutes].sort((a, b) => last(a.url) - last(b.url));
  const failures: string[] = [];
  let checked = 0;
  for (const route of routes) {
    for (const caller of CALLERS) {
      const lockdown = c.auth.emergency.lockdownActive;
      const accept503 = c.auth.emergency.newSessionsAllowed ? [] : SESSIONS_DISABLED_CODES;
      const res = await c.inject({
        method: route.method as 'GET',
        url: concrete(route.url),
        remoteAddress: ip,
        ...(caller === 'anonymous' ? {} : { token: tokens[caller] }),
        ...(['POST', 'PUT', 'PATCH'].includes(route.method) ? { payload: {} } : {}),
      });
      checked++;
      const code = codeOf(res.body);
      const where = `${caller} → ${route.method} ${route.url} [${route.permission}]: ${res.statusCode} ${code ?? ''}`;
      if (res.statusCode >= 500 && !(res.statusCode === 503 && accept503.includes(code ?? ''))) failures.push(`5xx: ${where}`);
      if (lockdown && caller !== 'anonymous' && route.permission !== 'public' && roleRank(caller) < roleRank('admin')) {
        if (res.statusCode !== 403 || code !== (allowed(caller, route.permission) ? 'AUTH_ERR_LOCKDOWN' : 'AUTH_ERR_FORBIDDEN')) failures.push(`lockdown should refuse: ${where}`);
      } else if (allowed(caller, route.permission)) {
        if (code !== undefined && ACCESS_CODES.includes(code)) failures.push(`allowed but refused: ${where}`);
      } else {
        const want = caller === 'anonymous' ? 401 : 403;
        if (res.statusCode !== want || !ACCESS_CODES.includes(code ?? '')) failures.push(`should be ${want}: ${where}`);
      }
    }
  }
  return { failures, checked };
}

describe('RBAC matrix over the full route set', () => {
  it('the live route table is exactly the matrix (a new route needs an entry; a changed permission fails)', () => {
    const live = Object.fromEntries(c.app.lucidRoutes.map((r) => [key(r), r.permission]));
    expect(live).toEqual(MATRIX);
    // The areas a reduced app used to leave out are there.
    for (const must of ['PUT /api/v1/sessions/:id/data', 'GET /api/v1/anchors/:manifestHash', 'POST /api/v1/ledger/validators/join', 'POST /api/v1/approvals/:id/approve', 'GET /api/v1/ota', 'POST /api/v1/ota/install', 'PUT /api/v1/ota/bundle']) expect(live[must]).toBeDefined();
  });

  it('refuses the roles below each route\'s permission, lets the others through, and never answers 5xx', async () => {
    const { failures, checked } = await sweep();
    expect(failures).toEqual([]);
    expect(checked).toBe(c.app.lucidRoutes.length * CALLERS.length);
  }, 120_000);

  it('while the test has new sessions disabled: a 503 only with that state\'s codes', async () => {
    await relogin();
    const root = tokens.super_admin;
    expect((await c.inject({ method: 'POST', url: '/api/v1/emergency/sessions', token: root, payload: { disabled: true } })).statusCode).toBe(200);
    // New logins of non-admins and new recording sessions are refused with 503 and the state's code.
    expect((await c.inject({ method: 'POST', url: '/api/v1/sessions', token: tokens.user, payload: {} })).json()).toMatchObject({ statusCode: 503, code: 'SESS_ERR_CREATION_DISABLED' });
    const { failures } = await sweep();
    expect(failures).toEqual([]);
    const admin = (await c.login(NAMES.super_admin, undefined, '10.8.2.1')).accessToken; // admins may still log in
    expect((await c.inject({ method: 'POST', url: '/api/v1/emergency/sessions', token: admin, payload: { disabled: false } })).statusCode).toBe(200);
  }, 120_000);

  it('under a lockdown the test set up, every role below admin is refused on every non-public route', async () => {
    await relogin();
    // u-admin asks, root approves (root made u-admin, so not the other way round).
    const req = (await c.inject({ method: 'POST', url: '/api/v1/emergency/requests', token: tokens.admin, payload: { action: 'lockdown', reason: 'matrix' } })).json();
    expect((await c.inject({ method: 'POST', url: `/api/v1/emergency/requests/${req.id}/approve`, token: tokens.super_admin, payload: {} })).statusCode).toBe(200);
    expect(c.auth.emergency.lockdownActive).toBe(true);
    const { failures } = await sweep();
    expect(failures).toEqual([]);
    const admin = (await c.login(NAMES.super_admin, undefined, '10.8.1.1')).accessToken;
    expect((await c.inject({ method: 'POST', url: '/api/v1/emergency/lockdown/lift', token: admin, payload: {} })).statusCode).toBe(200);
  }, 120_000);

  it('a route without config.permission fails at registration', async () => {
    const app = Fastify();
    await app.register(async (scope) => {
      requirePermissionOnEveryRoute(scope);
      scope.get('/undeclared', async () => 'x');
    }).ready().then(() => { throw new Error('registered'); }, (err: Error) => expect(err.message).toMatch(/does not declare config.permission/));
  });
});
