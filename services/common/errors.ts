// Errors carry a stable code (`<AREA>_ERR_<WHAT>`, like fastify's FST_ERR_*). Callers match on
// `code`, never on message text. The API maps a code to its HTTP status through the catalogue.
import { ERROR_CATALOGUE, type ErrorCode } from './error-codes.js';

export type { ErrorCode } from './error-codes.js';
export { ERROR_CATALOGUE } from './error-codes.js';

export class LucidError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    const entry = ERROR_CATALOGUE[code];
    super(message ?? entry.message, options);
    this.name = 'LucidError';
    this.code = code;
    this.statusCode = entry.status;
    this.details = details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

export function isLucidError(err: unknown, code?: ErrorCode): err is LucidError {
  return err instanceof LucidError && (code === undefined || err.code === code);
}

/** Node's system errors (ENOENT, ENOSPC, …) carry a string `code`; this narrows to them. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return undefined;
}
