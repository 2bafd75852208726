// Admin routes: users (/api/v1/users), the audit log (/api/v1/audit) and emergency controls
// (/api/v1/emergency). All need `admin` (the API refuses lower roles before these run).
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorSchema } from '../api/index.js';
import { LucidError } from '../common/errors.js';
import type { AuditOutcome } from './audit.js';
import type { EmergencyAction } from './emergency.js';
import { actorOf, type AuthService } from './service.js';
import { createUser, deleteUser, linkWallet, unlinkWallet, updateUser, type Outcome } from './user-admin.js';
import type { Role } from './roles.js';
import * as S from './schemas.js';
import { AUTH_BODY_LIMIT } from './routes-auth.js';

const errors = { '4xx': ErrorSchema, '5xx': ErrorSchema }; // see routes-auth.ts
const caller = (request: FastifyRequest) => {
  if (!request.principal) throw new LucidError('AUTH_ERR_UNAUTHENTICATED');
  return request.principal;
};
const admin = { permission: 'admin' as const };

export const userRoutes = (auth: AuthService): FastifyPluginAsync => async (app) => {
  const tags = ['users'];
  // Done now → `status` with the user; waiting for a second admin → 202 { user, approval }.
  const answer = (reply: FastifyReply, status: number, outcome: Outcome) =>
    outcome.approval ? reply.code(202).send({ user: auth.publicUser(outcome.user), approval: outcome.approval }) : reply.code(status).send(auth.publicUser(outcome.user));
  app.get('/api/v1/users', { config: admin, schema: { tags, summary: 'All users', response: { 200: S.UserList, ...errors } } },
    async () => ({ users: (await auth.users.list()).map((u) => auth.publicUser(u)).sort((a, b) => a.createdAt - b.createdAt) }));

  app.post('/api/v1/users', {
    config: admin, bodyLimit: AUTH_BODY_LIMIT,
    schema: {
      tags, summary: 'Create a user (role at most the caller\'s own; admin and super_admin are made as user and granted with a second admin\'s approval: 202)',
      body: S.CreateUserBody, response: { 201: S.PublicUser, 202: S.PendingChange, ...errors },
    },
  }, async (request, reply) => answer(reply, 201, await createUser(auth, caller(request), request.body as { username: string; password: string; role: Role }, request.ip)));

  app.get('/api/v1/users/:id', { config: admin, schema: { tags, summary: 'One user', params: S.IdParams, response: { 200: S.PublicUser, ...errors } } },
    async (request) => {
      const user = await auth.users.get((request.params as { id: string }).id);
      if (!user) throw new LucidError('AUTH_ERR_USER_NOT_FOUND');
      return auth.publicUser(user);
    });

  app.patch('/api/v1/users/:id', {
    config: admin, bodyLimit: AUTH_BODY_LIMIT,
    schema: {
      tags, summary: 'Change role or password (revokes the user\'s sessions); granting admin or super_admin, or another admin\'s password, waits for a second admin (202)',
      params: S.IdParams, body: S.UpdateUserBody, response: { 200: S.PublicUser, 202: S.PendingChange, ...errors },
    },
  }, async (request, reply) => answer(reply, 200, await updateUser(auth, caller(request), (request.params as { id: string }).id, request.body as { role?: Role; password?: string }, request.ip)));

  app.delete('/api/v1/users/:id', { config: admin, schema: { tags, summary: 'Delete a user', params: S.IdParams, response: { 200: S.Ok, ...errors } } },
    async (request) => {
      await deleteUser(auth, caller(request), (request.params as { id: string }).id, request.ip);
      return { ok: true };
    });

  app.post('/api/v1/users/:id/unlock', {
    config: admin, bodyLimit: AUTH_BODY_LIMIT,
    schema: { tags, summary: 'Release a lockout now', params: S.IdParams, body: S.EmptyBody, response: { 200: S.PublicUser, ...errors } },
  }, async (request) => auth.publicUser(await auth.unlock((request.params as { id: string }).id, actorOf(caller(request)), request.ip, 'admin')));

  app.post('/api/v1/users/:id/wallets', {
    config: admin, bodyLimit: AUTH_BODY_LIMIT,
    schema: { tags, summary: 'Link a TRON address for wallet login (another admin\'s: 202, a second admin approves)', params: S.IdParams, body: S.ChallengeBody, response: { 201: S.PublicUser, 202: S.PendingChange, ...errors } },
  }, async (request, reply) => answer(reply, 201,
    await linkWallet(auth, caller(request), (request.params as { id: string }).id, (request.body as { address: string }).address, request.ip)));

  app.delete('/api/v1/users/:id/wallets/:address', {
    config: admin, schema: { tags, summary: 'Unlink a TRON address (another admin\'s: 202, a second admin approves)', params: S.WalletParams, response: { 200: S.PublicUser, 202: S.PendingChange, ...errors } },
  }, async (request, reply) => {
    const { id, address } = request.params as { id: string; address: string };
    return answer(reply, 200, await unlinkWallet(auth, caller(request), id, address, request.ip));
  });

  app.get('/api/v1/wallet/device', {
    config: admin, schema: { tags: ['wallet'], summary: 'Address and app version of the hardware wallet attached to this appliance', response: { 200: S.DeviceWallet, ...errors } },
  }, async () => auth.hardwareAddress());
};

export const auditRoutes = (auth: AuthService): FastifyPluginAsync => async (app) => {
  const tags = ['audit'];
  app.get('/api/v1/audit', {
    config: admin, schema: { tags, summary: 'Audit entries, newest first (filter; paginate with ?before=<next>)', querystring: S.AuditQuery, response: { 200: S.AuditPage, ...errors } },
  }, async (request) => {
    const q = request.query as { action?: string; actor?: string; outcome?: AuditOutcome; since?: number; until?: number; before?: number; limit?: number };
    return auth.audit.query({ ...q, limit: q.limit ?? 50 });
  });

  app.get('/api/v1/audit/verify', {
    config: admin, schema: { tags, summary: 'Walk the hash chain from the signed checkpoint to the signed head', response: { 200: S.AuditVerify, ...errors } },
  }, async () => {
    const result = await auth.audit.verify();
    return { ...result, code: result.ok ? null : ('AUDIT_ERR_CORRUPT' as const) };
  });
};

export const approvalRoutes = (auth: AuthService): FastifyPluginAsync => async (app) => {
  const tags = ['approvals'];
  app.get('/api/v1/approvals', {
    config: admin, schema: { tags, summary: 'Pending two-person requests (every kind), oldest first', response: { 200: S.ApprovalList, ...errors } },
  }, async () => ({ approvals: await auth.approvals.list() }));

  app.post('/api/v1/approvals/:id/approve', {
    config: admin, bodyLimit: AUTH_BODY_LIMIT,
    schema: {
      tags, summary: 'Approve a request as an independent second admin (or, while no account can, with the device code); runs it once',
      params: S.IdParams, body: S.ApproveBody, response: { 200: S.ApprovalDone, ...errors },
    },
  }, async (request) => {
    const { deviceCode } = request.body as { deviceCode?: string };
    return auth.approvals.approve((request.params as { id: string }).id, actorOf(caller(request)), request.ip, deviceCode !== undefined ? { deviceCode } : {});
  });
};

export const emergencyRoutes = (auth: AuthService): FastifyPluginAsync => async (app) => {
  const tags = ['emergency'];
  const e = auth.emergency;
  app.get('/api/v1/emergency', { config: admin, schema: { tags, summary: 'Emergency state and pending requests', response: { 200: S.EmergencyStateSchema, ...errors } } },
    async () => e.view());

  app.post('/api/v1/emergency/requests', {
    config: admin, bodyLimit: AUTH_BODY_LIMIT,
    schema: { tags, summary: 'Request lockdown or stop-all-sessions (a second admin approves)', body: S.EmergencyRequestBody, response: { 201: S.PendingRequestSchema, ...errors } },
  }, async (request, reply) => {
    const { action, reason } = request.body as { action: EmergencyAction; reason: string };
    return reply.code(201).send(await e.request(action, actorOf(caller(request)), reason, request.ip));
  });

  app.post('/api/v1/emergency/requests/:id/approve', {
    config: admin, bodyLimit: AUTH_BODY_LIMIT,
    schema: { tags, summary: 'Approve another admin\'s request (executes it)', params: S.IdParams, body: S.EmptyBody, response: { 200: S.ApproveReply, ...errors } },
  }, async (request) => {
    const done = await e.approve((request.params as { id: string }).id, actorOf(caller(request)), request.ip);
    return { ...done, state: e.view() };
  });

  app.post('/api/v1/emergency/lockdown/lift', {
    config: admin, bodyLimit: AUTH_BODY_LIMIT,
    schema: { tags, summary: 'Lift the lockdown (one admin suffices)', body: S.EmptyBody, response: { 200: S.EmergencyStateSchema, ...errors } },
  }, async (request) => {
    await e.liftLockdown(actorOf(caller(request)), request.ip);
    return e.view();
  });

  app.post('/api/v1/emergency/sessions', {
    config: admin, bodyLimit: AUTH_BODY_LIMIT,
    schema: { tags, summary: 'Disable (12 h, auto-reverts) or re-enable new sessions', body: S.SessionsSwitchBody, response: { 200: S.EmergencyStateSchema, ...errors } },
  }, async (request) => {
    await e.setSessionsDisabled((request.body as { disabled: boolean }).disabled, actorOf(caller(request)), request.ip);
    return e.view();
  });
};
