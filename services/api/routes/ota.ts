// /api/v1/ota: the Updates page's API. Core relays to the OTA agent over its socket (the agent
// owns every decision); an offline bundle is streamed to the data volume here first, then handed
// to the agent by path, so it goes through exactly the agent's verification and install path.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import * as Type from '../../common/schema.js';
import { ERROR_CATALOGUE, LucidError, isLucidError, type ErrorCode } from '../../common/errors.js';
import { fsyncDir } from '../../common/fs-atomic.js';
import type { ApiDeps, OtaPort } from '../deps.js';
import { ErrorSchema } from '../errors.js';
import { BundleQuery, FleetEnrollBody, OtaStatusSchema } from '../schemas/ota.js';

const OCTETS = 'application/octet-stream';
const errors = { 400: ErrorSchema, 409: ErrorSchema, 413: ErrorSchema, 415: ErrorSchema, 422: ErrorSchema, 502: ErrorSchema, 503: ErrorSchema, 507: ErrorSchema };

/** The agent's answer, or its error re-thrown as ours (same code, message and details). */
async function relay(ota: OtaPort, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const r = await ota.call(path === '/status' ? 'GET' : 'POST', path, body);
  if (r.status >= 400) {
    const e = r.body as { code?: string; message?: string; details?: Record<string, unknown> } | null;
    const code = e?.code && e.code in ERROR_CATALOGUE ? (e.code as ErrorCode) : 'API_ERR_INTERNAL';
    throw new LucidError(code, e?.message ?? 'the update agent failed', e?.details);
  }
  return r;
}

function contentLength(request: FastifyRequest): number | null {
  const raw = request.headers['content-length'];
  const n = Number(raw);
  return raw !== undefined && Number.isSafeInteger(n) && n >= 0 ? n : null;
}

export const otaRoutes = (deps: ApiDeps): FastifyPluginAsync => async (app) => {
  const ota = deps.ota;
  if (!ota) return;
  // Bundles are handled one after another (like sequential requests): each replaces the last.
  let uploads: Promise<unknown> = Promise.resolve();

  app.get('/api/v1/ota', {
    config: { permission: 'user' },
    schema: { tags: ['ota'], summary: 'Update status: installed version and slot, last check, available release, progress, history', response: { 200: OtaStatusSchema, 503: ErrorSchema } },
  }, async () => (await relay(ota, '/status')).body);

  for (const [path, summary, code] of [
    ['check', 'Check for a release now (online repository and bundle folder)', 200],
    ['install', 'Install the available release (download, unpack into the inactive slot, restart on trial)', 202],
    ['rollback', 'Roll back to the previous version (boots it on trial)', 202],
  ] as const) {
    app.post(`/api/v1/ota/${path}`, {
      config: { permission: 'admin' },
      schema: { tags: ['ota'], summary, response: { [code]: OtaStatusSchema, ...errors } },
    }, async (_request, reply) => reply.code(code).send((await relay(ota, `/${path}`)).body));
  }

  app.post('/api/v1/ota/fleet/enroll', {
    config: { permission: 'admin' },
    schema: {
      tags: ['ota'], summary: 'Enroll this appliance in a fleet (URL and single-use token from the fleet; the token\'s pin must match the fleet\'s certificate)',
      body: FleetEnrollBody, response: { 200: OtaStatusSchema, ...errors },
    },
  }, async (request) => (await relay(ota, '/fleet/enroll', request.body)).body);

  app.addContentTypeParser(OCTETS, (_request, payload, done) => done(null, payload));
  app.put('/api/v1/ota/bundle', {
    config: { permission: 'admin' },
    bodyLimit: ota.maxBundleBytes,
    // After access control (preParsing, registered for every route before this one) and before
    // any body is read: an anonymous caller gets 401, not a hint about content types.
    preParsing: async (request, _reply, payload) => {
      const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== OCTETS) throw new LucidError('API_ERR_UNSUPPORTED_MEDIA', `a bundle is uploaded as ${OCTETS}`, { contentType: type });
      const length = contentLength(request);
      if (length === null) throw new LucidError('API_ERR_BAD_REQUEST', 'a bundle upload needs a Content-Length');
      if (length > ota.maxBundleBytes) throw new LucidError('OTA_ERR_TOO_LARGE', `the bundle is ${length} bytes, at most ${ota.maxBundleBytes} (LUCID_OTA_BUNDLE_MAX_BYTES)`);
      return payload;
    },
    schema: {
      tags: ['ota'], summary: 'Upload an offline bundle (`./build.sh release bundle`); verified like a download, installed with ?install=true',
      consumes: [OCTETS], querystring: BundleQuery, response: { 202: OtaStatusSchema, ...errors },
    },
  }, async (request, reply) => {
    const length = contentLength(request)!;
    const install = (request.query as { install?: boolean }).install === true;
    const run = uploads.then(() => storeAndOffer(ota, request.body as NodeJS.ReadableStream, length, install));
    uploads = run.catch(() => {});
    try {
      return reply.code(202).send(await run);
    } catch (err) {
      const raw = request.raw;
      if (!raw.readableEnded && !raw.destroyed) { raw.removeAllListeners('readable'); raw.on('data', () => {}); raw.resume(); }
      throw err;
    }
  });
};

async function storeAndOffer(ota: OtaPort, body: NodeJS.ReadableStream, length: number, install: boolean): Promise<unknown> {
  const created = await mkdir(ota.incomingDir, { recursive: true });
  if (created !== undefined) await fsyncDir(dirname(created));
  const fs = await statfs(ota.incomingDir);
  if (fs.bavail * fs.bsize < length + 64 * 1024 * 1024) {
    throw new LucidError('OTA_ERR_NO_SPACE', `no room for a ${length}-byte bundle on the data volume`, { need: length, free: fs.bavail * fs.bsize });
  }
  // The previous upload is replaced (the agent is idle: nothing refers to it any more).
  const status = (await relay(ota, '/status')).body as { phase?: string };
  if (status.phase !== 'idle') throw new LucidError('OTA_ERR_BUSY', `an update is in progress (${String(status.phase)})`);
  for (const name of await readdir(ota.incomingDir)) await rm(join(ota.incomingDir, name), { force: true });
  const file = join(ota.incomingDir, `upload-${randomBytes(6).toString('hex')}.lucid-bundle`);
  let received = 0;
  let offered = false;
  const count = new Transform({
    transform(chunk: Buffer, _e, done) {
      received += chunk.length;
      if (received > length) { done(new LucidError('API_ERR_BAD_REQUEST', 'the body is longer than its Content-Length')); return; }
      done(null, chunk);
    },
  });
  try {
    await pipeline(body, count, createWriteStream(`${file}.part`, { mode: 0o600 }));
    if (received !== length) throw new LucidError('API_ERR_BAD_REQUEST', `the body ended after ${received} of ${length} bytes`);
    // Durable before the agent records an install of it: a power cut after that record found
    // the bundle cut short (the install the admin started was lost; VM bed, issue 21 §5).
    const handle = await open(`${file}.part`, 'r+');
    try { await handle.datasync(); } finally { await handle.close(); }
    await rename(`${file}.part`, file);
    await fsyncDir(ota.incomingDir);
    offered = true;
    return (await relay(ota, '/bundle', { path: file, install })).body;
  } catch (err) {
    await rm(`${file}.part`, { force: true });
    // The agent records an install (fsynced) before it answers: when the answer never came (it
    // was killed, or restarted, in between), the install may be under way from this very file,
    // so it stays; the next upload removes it once the agent is idle again. Only a refusal the
    // agent answered (or a failure before it was asked) removes it now.
    if (offered && isLucidError(err, 'OTA_ERR_AGENT_UNAVAILABLE')) {
      throw new LucidError('OTA_ERR_AGENT_UNAVAILABLE', `${err.message}; the bundle is kept: if the install had started it goes on (see the Updates page), else upload it again`);
    }
    await rm(file, { force: true });
    throw err;
  }
}
