// HAL errors carry stable codes (DESIGN §4.3). hal/ may not import services/common, so this is a
// small local twin of LucidError: the same `code` strings are registered in the one catalogue
// (services/common/error-codes.ts), and callers match on `code` only — never on `instanceof`
// across the boundary and never on message text.

/** Every code a HAL component throws, with the meaning documented in hal/README.md. */
export const HAL_ERROR_CODES = {
  /** The device/file/pin does not exist, is busy, or the driver is not open. */
  HAL_ERR_UNAVAILABLE: 'hardware interface not available',
  /** An action that only a simulated driver supports was asked of a real one. */
  HAL_ERR_NOT_SIMULATED: 'only the simulated driver accepts this action',
  /** The device exists but a read or write on it failed. */
  HAL_ERR_IO: 'hardware I/O failed',
  /** The user refused the action on the device (hardware wallet: status word 6985). */
  HAL_ERR_REJECTED: 'the action was refused on the device',
  /** The device answered with an unexpected status word or a malformed response. */
  HAL_ERR_PROTOCOL: 'the device answered with an unexpected status',
} as const;

export type HalErrorCode = keyof typeof HAL_ERROR_CODES;

export class HalError extends Error {
  readonly code: HalErrorCode;
  /** The errno name (ENOENT, EBUSY, …) of the underlying system error, when there was one. */
  readonly errno: string | undefined;

  constructor(code: HalErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? HAL_ERROR_CODES[code], options);
    this.name = 'HalError';
    this.code = code;
    this.errno = errnoOf(options?.cause);
  }
}

/** True for a HalError (optionally of one code). Matches by shape so two copies of hal/ agree. */
export function isHalError(err: unknown, code?: HalErrorCode): err is HalError {
  if (typeof err !== 'object' || err === null) return false;
  const c = (err as { code?: unknown }).code;
  if (typeof c !== 'string' || !(c in HAL_ERROR_CODES)) return false;
  return code === undefined || c === code;
}

/** Node's system errors carry a string `code` such as ENOENT; this extracts it. */
export function errnoOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const c = (err as { code: unknown }).code;
    if (typeof c === 'string' && /^E[A-Z0-9]+$/.test(c)) return c;
  }
  return undefined;
}

/** Short human text of an unknown thrown value, for error messages that wrap it. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * Wraps a failed open/stat of a device node: a missing node, a busy device or a permission
 * problem means the hardware is not usable here (UNAVAILABLE); anything else is an I/O failure.
 */
export function openError(what: string, err: unknown): HalError {
  const errno = errnoOf(err);
  const unavailable = errno === 'ENOENT' || errno === 'ENOTDIR' || errno === 'EBUSY'
    || errno === 'EACCES' || errno === 'EPERM' || errno === 'ENXIO' || errno === 'ENODEV';
  return new HalError(unavailable ? 'HAL_ERR_UNAVAILABLE' : 'HAL_ERR_IO', `${what}: ${describeError(err)}`, { cause: err });
}

/** Wraps a failed write/read on an open device as HAL_ERR_IO. */
export function ioError(what: string, err: unknown): HalError {
  return new HalError('HAL_ERR_IO', `${what}: ${describeError(err)}`, { cause: err });
}

/** The error every driver throws when used before open()/start() or after close()/stop(). */
export function notOpenError(id: string): HalError {
  return new HalError('HAL_ERR_UNAVAILABLE', `${id} is not open`);
}
