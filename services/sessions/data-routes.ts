// Data in and out of a session:
//   PUT  /api/v1/sessions/:id/data?offset=N     application/octet-stream, streamed (any size)
//   GET  /api/v1/sessions/:id/content           plaintext, authenticated on the fly, Range
//   GET  /api/v1/sessions/:id/chunks/:index     the stored (encrypted) object, as stored
//   GET  /api/v1/sessions/:id/chunks/:index/proof  RFC 6962 inclusion proof
// The upload's content-type parser hands fastify the raw request stream: nothing buffers the
// body, the pipeline pulls it at its own pace (backpressure), and the body limit is the quota.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { LucidError } from '../common/errors.js';
import { ErrorSchema } from '../api/index.js';
import { parseRange } from './range.js';
import { ownedSession } from './access.js';
import type { SessionRoutesDeps } from './routes.js';
import { AckView, ChunkParams, DataQuery, DownloadQuery, IdParams, ProofView } from './schemas.js';

const errors = { 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 410: ErrorSchema, 413: ErrorSchema, 415: ErrorSchema, 416: ErrorSchema, 500: ErrorSchema, 507: ErrorSchema };
const OCTETS = 'application/octet-stream';

async function* nothing(): AsyncGenerator<Buffer> { /* an upload without a body */ }

function contentLength(request: FastifyRequest): number | null {
  const raw = request.headers['content-length'];
  if (raw === undefined || request.headers['transfer-encoding'] !== undefined) return null;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

export const dataRoutes = (deps: SessionRoutesDeps): FastifyPluginAsync => async (app) => {
  const { service } = deps;
  app.addContentTypeParser(OCTETS, (_request, payload, done) => done(null, payload));

  app.put('/api/v1/sessions/:id/data', {
    config: { permission: 'user' },
    bodyLimit: deps.quotaBytes,
    // Refuse other bodies before any parser reads them (the route's limit is the quota, which the
    // JSON and text parsers would otherwise buffer up to). A route's preParsing runs after the
    // API's access check (also preParsing): an anonymous caller learns 401, not what we accept.
    preParsing: async (request, _reply, payload) => {
      const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const hasBody = request.headers['transfer-encoding'] !== undefined || (request.headers['content-length'] ?? '0') !== '0';
      if (hasBody && type !== OCTETS) throw new LucidError('API_ERR_UNSUPPORTED_MEDIA', `upload bodies are ${OCTETS}`, { contentType: type });
      return payload;
    },
    schema: {
      tags: ['sessions'], summary: 'Append bytes at an offset (idempotent; resume from `received`)', consumes: [OCTETS],
      params: IdParams, querystring: DataQuery, response: { 200: AckView, ...errors },
    },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const { offset } = request.query as { offset: number };
    const body = (request.body ?? nothing()) as AsyncIterable<Buffer>;
    try {
      const rec = await ownedSession(service, request, id);
      const out = await service.append(rec.id, offset, body, contentLength(request));
      return { received: out.received, chunkCount: out.chunkCount, state: out.state };
    } catch (err) {
      // An early error leaves the rest of the body unread. Drain and drop it rather than close
      // the connection: a client still writing would see a reset instead of our error code.
      const raw = request.raw;
      if (!raw.readableEnded && !raw.destroyed) {
        raw.removeAllListeners('readable');
        raw.on('data', () => {});
        raw.resume();
      }
      throw err;
    }
  });

  app.get('/api/v1/sessions/:id/content', {
    config: { permission: 'user', downloadToken: true },
    schema: {
      tags: ['sessions'], summary: 'The plaintext, decrypted and authenticated on the fly (Range supported)', produces: [OCTETS, 'application/json'],
      params: IdParams, querystring: DownloadQuery, response: { ...errors },
    },
  }, async (request, reply) => {
    const rec = await ownedSession(service, request, (request.params as { id: string }).id);
    if (rec.state === 'deleted') throw new LucidError('SESS_ERR_DELETED', undefined, { sessionId: rec.id });
    const total = rec.received;
    const etag = rec.manifestHash ? `"${rec.manifestHash}"` : null;
    const ifRange = request.headers['if-range'];
    const range = ifRange !== undefined && ifRange !== etag ? { kind: 'full' as const } : parseRange(request.headers.range, total);
    if (range.kind === 'unsatisfiable') {
      void reply.header('content-range', `bytes */${total}`);
      throw new LucidError('SESS_ERR_RANGE', `no bytes of ${request.headers.range} in ${total}`, { length: total });
    }
    const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, total];
    const pieces = service.content(rec, start, end);
    // The first chunk is decoded before the headers go out: a bad first chunk is a coded error.
    // A later bad chunk ends the stream (connection closed short of Content-Length), never passed on.
    const first = await pieces.next();
    const stream = Readable.from((async function* () {
      if (!first.done) yield first.value;
      yield* pieces;
    })(), { objectMode: false, highWaterMark: 1 });
    void reply
      .code(range.kind === 'partial' ? 206 : 200)
      .type(OCTETS)
      .header('accept-ranges', 'bytes')
      .header('content-length', String(end - start))
      .header('content-disposition', `attachment; filename="${rec.id}.bin"`)
      .header('cache-control', 'no-store');
    if (etag) void reply.header('etag', etag);
    if (range.kind === 'partial') void reply.header('content-range', `bytes ${start}-${end - 1}/${total}`);
    return reply.send(stream);
  });

  app.get('/api/v1/sessions/:id/chunks/:index', {
    config: { permission: 'user', downloadToken: true },
    schema: {
      tags: ['sessions'], summary: 'A stored chunk object, byte for byte (encrypted; see the chunk format)', produces: [OCTETS, 'application/json'],
      params: ChunkParams, querystring: DownloadQuery, response: { ...errors },
    },
  }, async (request, reply) => {
    const { id, index } = request.params as { id: string; index: number };
    const rec = await ownedSession(service, request, id);
    const obj = await service.chunkObject(rec, index);
    let size: number;
    try {
      size = (await stat(obj.path)).size;
    } catch {
      throw new LucidError('CHUNK_ERR_CORRUPT', `chunk ${index} is missing`, { index, reason: 'missing' });
    }
    return reply.type(OCTETS).header('content-length', String(size)).header('x-lucid-leaf-hash', obj.leaf)
      .header('cache-control', 'no-store').send(createReadStream(obj.path));
  });

  app.get('/api/v1/sessions/:id/chunks/:index/proof', {
    config: { permission: 'user' },
    schema: { tags: ['sessions'], summary: 'RFC 6962 inclusion proof of a chunk against the manifest root', params: ChunkParams, response: { 200: ProofView, ...errors } },
  }, async (request) => {
    const { id, index } = request.params as { id: string; index: number };
    const rec = await ownedSession(service, request, id);
    return { ...(await service.proof(rec, index)), manifestHash: rec.manifestHash! };
  });
};
