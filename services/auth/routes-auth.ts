// /api/v1/auth/*: onboarding, logins, token refresh and logout, and the caller's own sessions.
// Login routes are public (they are how one gets a token) and rate limited twice: the API's
// public tier (100/min per IP) and the login limiter (10/min per IP and per account).
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { ErrorSchema } from '../api/index.js';
import { LucidError } from '../common/errors.js';
import type { AuthService, ClientContext } from './service.js';
import { changeOwnPassword } from './user-admin.js';
import { parseSignature } from './tron-message.js';
import * as S from './schemas.js';

export const AUTH_BODY_LIMIT = 8 * 1024;
export const ctxOf = (request: FastifyRequest): ClientContext => ({ ip: request.ip, userAgent: String(request.headers['user-agent'] ?? '') });
// One schema per status class: fastify compiles a serializer per listed status, at boot, in one
// synchronous block (~1 s for every route on a loaded 2-core machine before this).
const errors = { '4xx': ErrorSchema, '5xx': ErrorSchema };
const me = (request: FastifyRequest) => {
  if (!request.principal) throw new LucidError('AUTH_ERR_UNAUTHENTICATED');
  return request.principal;
};

export const authRoutes = (auth: AuthService): FastifyPluginAsync => async (app) => {
  const tags = ['auth'];
  app.get('/api/v1/auth/methods', {
    config: { permission: 'public' },
    schema: { tags, summary: 'What the login page should offer: setup, hardware wallet, emergency state', response: { 200: S.Methods } },
  }, async () => ({
    setupRequired: auth.isSetupRequired, hardwareWallet: auth.hardwareWalletAvailable,
    newSessionsAllowed: auth.emergency.newSessionsAllowed, lockdown: auth.emergency.lockdownActive,
  }));

  app.post('/api/v1/auth/setup', {
    config: { permission: 'public' }, bodyLimit: AUTH_BODY_LIMIT,
    schema: { tags, summary: 'Create the first super_admin with the one-time setup code', body: S.SetupBody, response: { 201: S.Tokens, ...errors } },
  }, async (request, reply) => {
    const { code, username, password } = request.body as { code: string; username: string; password: string };
    return reply.code(201).send(await auth.setup(code, username, password, ctxOf(request)));
  });

  app.post('/api/v1/auth/login', {
    config: { permission: 'public' }, bodyLimit: AUTH_BODY_LIMIT,
    schema: { tags, summary: 'Password login', body: S.LoginBody, response: { 200: S.Tokens, ...errors } },
  }, async (request) => {
    const { username, password } = request.body as { username: string; password: string };
    return auth.login(username, password, ctxOf(request));
  });

  app.post('/api/v1/auth/challenge', {
    config: { permission: 'public' }, bodyLimit: AUTH_BODY_LIMIT,
    schema: { tags, summary: 'A login challenge (nonce, 300 s) for a TRON address to sign with TIP-191', body: S.ChallengeBody, response: { 200: S.ChallengeReply, ...errors } },
  }, async (request) => auth.challenge((request.body as { address: string }).address));

  app.post('/api/v1/auth/wallet', {
    config: { permission: 'public' }, bodyLimit: AUTH_BODY_LIMIT,
    schema: { tags, summary: 'Wallet login: the challenge signed with signMessageV2 by a linked address', body: S.WalletBody, response: { 200: S.Tokens, ...errors } },
  }, async (request) => {
    const { address, signature } = request.body as { address: string; signature: string };
    return auth.walletLogin(address, parseSignature(signature), ctxOf(request));
  });

  app.post('/api/v1/auth/hardware', {
    config: { permission: 'public' }, bodyLimit: AUTH_BODY_LIMIT,
    schema: { tags, summary: 'Hardware-wallet login: the Ledger attached to this appliance signs a challenge (confirm on the device)', body: S.EmptyBody, response: { 200: S.Tokens, ...errors } },
  }, async (request) => auth.hardwareLogin(ctxOf(request)));

  app.post('/api/v1/auth/refresh', {
    config: { permission: 'public' }, bodyLimit: AUTH_BODY_LIMIT,
    schema: { tags, summary: 'Rotate a refresh token (single use; a reused one revokes its whole family)', body: S.RefreshBody, response: { 200: S.Tokens, ...errors } },
  }, async (request) => auth.refresh((request.body as { refreshToken: string }).refreshToken, ctxOf(request)));

  app.post('/api/v1/auth/download-token', {
    config: { permission: 'user' }, bodyLimit: AUTH_BODY_LIMIT,
    schema: {
      tags, summary: 'A 60 s token for one download path, for links that cannot send a header (routes that accept it say so)',
      body: S.DownloadTokenBody, response: { 200: S.DownloadTokenReply, ...errors },
    },
  }, async (request) => {
    const { path } = request.body as { path: string };
    const t = auth.issueDownloadToken(me(request), path, ctxOf(request));
    return { ...t, url: `${path}?token=${encodeURIComponent(t.token)}` };
  });

  app.post('/api/v1/auth/logout', {
    config: { permission: 'user' }, bodyLimit: AUTH_BODY_LIMIT,
    schema: { tags, summary: 'Revoke this login session (its access and refresh tokens)', body: S.EmptyBody, response: { 200: S.Ok, ...errors } },
  }, async (request) => {
    await auth.logout(me(request), request.ip);
    return { ok: true };
  });

  app.get('/api/v1/auth/me', {
    config: { permission: 'user' },
    schema: { tags, summary: 'The caller', response: { 200: S.PublicUser, ...errors } },
  }, async (request) => {
    const user = await auth.users.get(me(request).userId);
    if (!user) throw new LucidError('AUTH_ERR_USER_NOT_FOUND');
    return auth.publicUser(user);
  });

  app.post('/api/v1/auth/me/password', {
    config: { permission: 'user' }, bodyLimit: AUTH_BODY_LIMIT,
    schema: { tags, summary: 'Change the caller\'s password', body: S.PasswordBody, response: { 200: S.Ok, ...errors } },
  }, async (request) => {
    const { currentPassword, newPassword } = request.body as { currentPassword: string; newPassword: string };
    await changeOwnPassword(auth, me(request), currentPassword, newPassword, request.ip);
    return { ok: true };
  });

  app.get('/api/v1/auth/sessions', {
    config: { permission: 'user' },
    schema: { tags, summary: 'Live login sessions: the caller\'s own (admins: everyone\'s with ?all=true)', querystring: S.SessionsQuery, response: { 200: S.SessionList, ...errors } },
  }, async (request) => {
    const p = me(request);
    const all = (request.query as { all?: boolean }).all === true && (p.role === 'admin' || p.role === 'super_admin');
    const now = auth.now();
    const sessions = (all ? auth.families.all() : auth.families.ofUser(p.userId))
      .filter((f) => f.revokedAt === null && f.expiresAt > now)
      .map((f) => ({ id: f.id, userId: f.userId, createdAt: f.createdAt, lastUsedAt: f.lastUsedAt, expiresAt: f.expiresAt, method: f.method, ip: f.ip, current: f.id === p.sessionId }));
    return { sessions };
  });

  app.delete('/api/v1/auth/sessions/:id', {
    config: { permission: 'user' },
    schema: { tags, summary: 'Revoke one login session (own; admins: any)', params: S.IdParams, response: { 200: S.Ok, ...errors } },
  }, async (request) => {
    await auth.revokeSession((request.params as { id: string }).id, me(request), request.ip);
    return { ok: true };
  });
};
