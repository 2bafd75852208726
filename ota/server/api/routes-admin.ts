// People: first-admin set-up with the setup code, login and tokens, users, the approval queue
// (two-person rule) and the audit log. Roles as on the appliance: user reads, admin changes the
// fleet and approves, super_admin manages users.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Principal, Role } from '../../../services/api/index.js';
import { LucidError } from '../../../services/common/errors.js';
import type { FleetParts } from '../server.js';
import * as S from './schemas.js';
import * as T from '../../../services/common/schema.js';

const ua = (r: FastifyRequest): string => String(r.headers['user-agent'] ?? '');
const me = (r: FastifyRequest): Principal => r.principal!;
const loginLimit = { permission: 'public' as const, rateLimit: { max: 10, timeWindow: 60_000 } };

export const adminRoutes = (p: FleetParts): FastifyPluginAsync => async (app) => {
  const tags = ['auth'];
  app.get('/api/v1/tls', {
    config: { permission: 'public' },
    schema: { tags: ['fleet'], summary: 'The fleet certificate: its pin (what enrollment tokens carry) and fingerprints to compare with the browser', response: { 200: S.TlsInfo } },
  }, async () => {
    const t = p.tls;
    return { pin: t.pin, spkiSha256Base64: t.spkiSha256Base64, publicKeySha256: t.publicKeySha256, certificateSha256: t.certificateSha256, source: t.source === 'user' ? 'user' : 'fleet', names: [...t.names], validTo: t.validTo };
  });
  app.get('/api/v1/auth/setup', {
    config: { permission: 'public' },
    schema: { tags, summary: 'Does the fleet still need its first admin?', response: { 200: T.Object({ needed: T.Boolean() }) } },
  }, async () => ({ needed: await p.auth.setupNeeded() }));
  app.post('/api/v1/auth/setup', {
    config: loginLimit,
    schema: { tags, summary: 'Create the first super_admin with the setup code from the server log', body: S.SetupBody, response: { 200: S.Tokens, ...S.errors } },
  }, async (r) => { const b = r.body as { code: string; username: string; password: string }; return p.auth.setup(b.code, b.username, b.password, ua(r)); });
  app.post('/api/v1/auth/login', {
    config: loginLimit,
    schema: { tags, summary: 'Password login', body: S.LoginBody, response: { 200: S.Tokens, ...S.errors } },
  }, async (r) => { const b = r.body as { username: string; password: string }; return p.auth.login(b.username, b.password, ua(r)); });
  app.post('/api/v1/auth/refresh', {
    config: { permission: 'public' },
    schema: { tags, summary: 'Rotate a refresh token (a reused one revokes its session)', body: S.RefreshBody, response: { 200: S.Tokens, ...S.errors } },
  }, async (r) => p.auth.refresh((r.body as { refreshToken: string }).refreshToken, ua(r)));
  app.post('/api/v1/auth/logout', {
    config: { permission: 'user' },
    schema: { tags, summary: 'End this login session', response: { 200: S.Ok, ...S.errors } },
  }, async (r) => { await p.auth.logout(me(r)); return { ok: true }; });
  app.get('/api/v1/auth/me', {
    config: { permission: 'user' },
    schema: { tags, summary: 'Who am I', response: { 200: S.User, ...S.errors } },
  }, async (r) => {
    const u = await p.store.getUser(me(r).userId);
    if (!u) throw new LucidError('AUTH_ERR_USER_NOT_FOUND');
    return p.auth.publicUser(u);
  });
  app.post('/api/v1/auth/me/password', {
    config: loginLimit.rateLimit ? { permission: 'user', rateLimit: loginLimit.rateLimit } : { permission: 'user' },
    schema: { tags, summary: 'Set my own password', body: S.PasswordBody, response: { 200: S.Ok, ...S.errors } },
  }, async (r) => { const b = r.body as { currentPassword: string; newPassword: string }; await p.auth.changeOwnPassword(me(r), b.currentPassword, b.newPassword); return { ok: true }; });

  app.get('/api/v1/users', {
    config: { permission: 'admin' },
    schema: { tags: ['users'], summary: 'Fleet users', response: { 200: T.Array(S.User), ...S.errors } },
  }, async () => (await p.store.listUsers()).map((u) => p.auth.publicUser(u)));
  app.post('/api/v1/users', {
    config: { permission: 'super_admin' },
    schema: { tags: ['users'], summary: 'Create a user (its creator knows the password until the user sets their own)', body: S.UserBody, response: { 201: S.User, ...S.errors } },
  }, async (r, reply) => { const b = r.body as { username: string; password: string; role: Role }; return reply.code(201).send(await p.auth.createUser(me(r), b.username, b.password, b.role)); });

  app.get('/api/v1/approvals', {
    config: { permission: 'admin' },
    schema: { tags: ['approvals'], summary: 'Requests waiting for a second admin', response: { 200: T.Array(S.Approval), ...S.errors } },
  }, async () => (await p.approvals.list()).filter((a) => !a.expired));
  app.post('/api/v1/approvals/:id/approve', {
    config: { permission: 'admin' },
    schema: { tags: ['approvals'], summary: 'Approve a request (another, independent admin)', params: S.IdParams, response: { 200: T.Object({ id: T.String(), kind: T.String(), result: T.Object({}, { additionalProperties: true }) }), ...S.errors } },
  }, async (r) => {
    const out = await p.approvals.approve((r.params as { id: string }).id, me(r));
    return { id: out.request.id, kind: out.request.kind, result: out.result };
  });

  app.get('/api/v1/audit', {
    config: { permission: 'admin' },
    schema: { tags: ['audit'], summary: 'The audit log (hash-chained), newest first', querystring: S.AuditQuery, response: { 200: T.Array(S.AuditEntry), ...S.errors } },
  }, async (r) => { const q = r.query as { limit?: number; before?: number }; return p.store.listAudit({ limit: q.limit ?? 100, ...(q.before ? { before: q.before } : {}) }); });
};
