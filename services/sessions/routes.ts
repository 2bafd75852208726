// /api/v1/sessions: lifecycle, listing, manifest, verify, delete. Data in and out (upload,
// content, chunk objects, proofs) is in data-routes.ts. Every route is `user`; a user sees only
// the sessions they own (canAccessOwned) — the others answer 404, not 403, so ids do not leak.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { ERROR_CATALOGUE, LucidError, type ErrorCode } from '../common/errors.js';
import { ErrorSchema, canAccessOwned } from '../api/index.js';
import type { SessionRecord } from './records.js';
import { CreateBody, DownloadQuery, IdParams, ListQuery, ManifestView, SessionList, SessionView, VerifyView } from './schemas.js';
import type { SessionService } from './service.js';
import { CLIENT_ACTIONS, type ClientAction } from './state-machine.js';
import { toView } from './view.js';
import { dataRoutes } from './data-routes.js';
import { ownedSession } from './access.js';
import { sharedSerializerCompiler } from './serializers.js';

export interface SessionRoutesDeps {
  readonly service: SessionService;
  /** Largest session (plaintext bytes): the upload route's body limit. */
  readonly quotaBytes: number;
}

const errors = { 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 410: ErrorSchema, 500: ErrorSchema, 507: ErrorSchema };

function parseLabel(label: string | undefined): { key: string; value?: string } | undefined {
  if (label === undefined) return undefined;
  const eq = label.indexOf('=');
  return eq < 0 ? { key: label } : { key: label.slice(0, eq), value: label.slice(eq + 1) };
}

export const sessionRoutes = (deps: SessionRoutesDeps): FastifyPluginAsync => async (app) => {
  const { service } = deps;
  app.setSerializerCompiler(sharedSerializerCompiler());
  const view = async (rec: SessionRecord) => toView(rec, await service.anchorOf(rec));
  const idOf = (request: FastifyRequest): string => (request.params as { id: string }).id;

  app.post('/api/v1/sessions', {
    config: { permission: 'user' },
    // An empty POST is a session with every default.
    preValidation: async (request) => { if (request.body === undefined || request.body === null) request.body = {}; },
    schema: { tags: ['sessions'], summary: 'Create a session', body: CreateBody, response: { 201: SessionView, ...errors } },
  }, async (request, reply) => {
    const body = request.body as CreateBody;
    const rec = await service.create({ ...body, owner: request.principal?.userId ?? null });
    return reply.code(201).send(await view(rec));
  });

  app.get('/api/v1/sessions', {
    config: { permission: 'user' },
    schema: { tags: ['sessions'], summary: 'List sessions, newest first', querystring: ListQuery, response: { 200: SessionList, ...errors } },
  }, async (request) => {
    const q = request.query as ListQuery;
    const label = parseLabel(q.label);
    const page = await service.list({
      ...(q.state ? { state: q.state } : {}), ...(label ? { label } : {}), ...(q.cursor ? { cursor: q.cursor } : {}),
      limit: q.limit ?? 50, visible: (r) => canAccessOwned(request.principal, r.owner),
    });
    return { sessions: await Promise.all(page.sessions.map(view)), next: page.next };
  });

  app.get('/api/v1/sessions/:id', {
    config: { permission: 'user' },
    schema: { tags: ['sessions'], summary: 'One session (a deleted one answers its tombstone)', params: IdParams, response: { 200: SessionView, ...errors } },
  }, async (request) => view(await ownedSession(service, request, idOf(request))));

  for (const action of CLIENT_ACTIONS) {
    app.post(`/api/v1/sessions/:id/${action}`, {
      config: { permission: 'user' },
      schema: { tags: ['sessions'], summary: `${action[0]!.toUpperCase()}${action.slice(1)} a session`, params: IdParams, response: { 200: SessionView, ...errors } },
    }, async (request) => {
      const rec = await ownedSession(service, request, idOf(request));
      return view(await service.act(rec.id, action as ClientAction));
    });
  }

  app.post('/api/v1/sessions/:id/finalize', {
    config: { permission: 'user' },
    schema: { tags: ['sessions'], summary: 'Seal the last chunk, build and sign the manifest', params: IdParams, response: { 200: SessionView, ...errors } },
  }, async (request) => {
    const rec = await ownedSession(service, request, idOf(request));
    const done = await service.finalize(rec.id);
    if (done.state === 'failed') {
      const f = done.failure;
      const code: ErrorCode = f && f.code in ERROR_CATALOGUE ? (f.code as ErrorCode) : 'API_ERR_INTERNAL';
      throw new LucidError(code, `finalize failed: ${f?.message ?? 'unknown'}`, { state: 'failed' });
    }
    return view(done);
  });

  app.get('/api/v1/sessions/:id/manifest', {
    config: { permission: 'user', downloadToken: true },
    schema: { tags: ['sessions'], summary: 'The signed manifest (canonical JSON bytes, as hashed)', params: IdParams, querystring: DownloadQuery, response: { 200: ManifestView, ...errors } },
  }, async (request, reply) => {
    const rec = await ownedSession(service, request, idOf(request));
    // The stored canonical text, byte for byte: re-serialising could change what was signed.
    return reply.type('application/json; charset=utf-8').send(await service.manifest(rec.id));
  });

  app.post('/api/v1/sessions/:id/verify', {
    config: { permission: 'user' },
    schema: { tags: ['sessions'], summary: 'Re-read every chunk: hash, authentication, decompression, root', params: IdParams, response: { 200: VerifyView, ...errors } },
  }, async (request) => {
    const rec = await ownedSession(service, request, idOf(request));
    const { record, result } = await service.verify(rec.id);
    return { ...result, session: await view(record) };
  });

  app.delete('/api/v1/sessions/:id', {
    config: { permission: 'user' },
    schema: { tags: ['sessions'], summary: 'Crypto-shred a session (its data key is destroyed) and leave a tombstone', params: IdParams, response: { 200: SessionView, ...errors } },
  }, async (request) => {
    const rec = await ownedSession(service, request, idOf(request));
    return view(await service.delete(rec.id));
  });

  await app.register(dataRoutes({ service, quotaBytes: deps.quotaBytes }));
};
