// One error shape for every API response that is not a success:
//   { statusCode, code, message, details? }
// Codes come from the catalogue; client mistakes are 4xx, and only a bug is a 500.
import type { FastifyError, FastifyInstance } from 'fastify';
import { LucidError, ERROR_CATALOGUE, type ErrorCode } from '../common/errors.js';

export interface ErrorBody {
  statusCode: number;
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'API_ERR_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'API_ERR_UNSUPPORTED_MEDIA',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'API_ERR_BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'API_ERR_BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'API_ERR_BAD_REQUEST',
  FST_ERR_BAD_URL: 'API_ERR_BAD_REQUEST',
  FST_ERR_ASYNC_CONSTRAINT: 'API_ERR_BAD_REQUEST',
};

export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof LucidError) {
    return { statusCode: err.statusCode, code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
  }
  const e = err as Partial<FastifyError> & { validation?: unknown[]; validationContext?: string };
  if (e.validation) {
    return {
      statusCode: 400,
      code: 'API_ERR_VALIDATION',
      message: e.message ?? ERROR_CATALOGUE.API_ERR_VALIDATION.message,
      details: { context: e.validationContext, errors: e.validation.slice(0, 10) },
    };
  }
  // HAL errors (hal/ cannot import LucidError) carry catalogue codes too: map them by code.
  if (typeof e.code === 'string' && e.code.startsWith('HAL_ERR_') && e.code in ERROR_CATALOGUE) {
    const code = e.code as ErrorCode;
    return { statusCode: ERROR_CATALOGUE[code].status, code, message: e.message ?? ERROR_CATALOGUE[code].message };
  }
  const mapped = e.code ? FASTIFY_CODES[e.code] : undefined;
  if (mapped) return { statusCode: ERROR_CATALOGUE[mapped].status, code: mapped, message: e.message ?? ERROR_CATALOGUE[mapped].message };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { statusCode: e.statusCode, code: 'API_ERR_BAD_REQUEST', message: e.message ?? 'bad request' };
  }
  return { statusCode: 500, code: 'API_ERR_INTERNAL', message: ERROR_CATALOGUE.API_ERR_INTERNAL.message };
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const body = toErrorBody(err);
    const retryAfter = body.details?.['retryAfter'];
    if (body.statusCode === 429 && typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
    if (body.statusCode === 401) void reply.header('www-authenticate', 'Bearer');
    if (body.statusCode >= 500) request.log.error({ reqId: request.id, err }, 'request failed');
    else request.log.info({ reqId: request.id, code: body.code, statusCode: body.statusCode }, 'request rejected');
    void reply.code(body.statusCode).type('application/json').send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const body: ErrorBody = { statusCode: 404, code: 'API_ERR_NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` };
    void reply.code(404).type('application/json').send(body);
  });
}

/** The error response schema routes list under their 4xx/5xx codes (for OpenAPI). */
export const ErrorSchema = {
  type: 'object',
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string' },
    message: { type: 'string' },
    details: { type: 'object', additionalProperties: true },
  },
  required: ['statusCode', 'code', 'message'],
} as const;
