// Typed fetch wrapper for the appliance API. Every failure becomes an ApiError with a stable
// `code`: the server's own code from its error body ({ statusCode, code, message }), or one of
// the WEB_ERR_* codes below for failures that never reached the API. Requests carry the login
// session's bearer token; an expired one is refreshed once (rotating the refresh token), and
// any other 401 ends the session and goes to the login page.
import { getSession, setSession, toLogin, type Session } from './session.js';
export const WEB_ERR_UNREACHABLE = 'WEB_ERR_UNREACHABLE';
export const WEB_ERR_TIMEOUT = 'WEB_ERR_TIMEOUT';
export const WEB_ERR_ABORTED = 'WEB_ERR_ABORTED';
export const WEB_ERR_BAD_RESPONSE = 'WEB_ERR_BAD_RESPONSE';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(message: string, readonly code: string, readonly statusCode: number | null = null) {
    super(message);
  }
}

/** Any thrown value as an ApiError (a bug in a page becomes WEB_ERR_UNEXPECTED, not a crash). */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  // An ApiError from another bundle's copy of this module (pages loaded on demand: lazy.ts).
  const e = err as { name?: unknown; code?: unknown; message?: unknown; statusCode?: unknown } | null;
  if (e && e.name === 'ApiError' && typeof e.code === 'string') return new ApiError(String(e.message), e.code, typeof e.statusCode === 'number' ? e.statusCode : null);
  return new ApiError(err instanceof Error ? err.message : String(err), 'WEB_ERR_UNEXPECTED');
}

export interface RequestOptions {
  /** Aborts the request (e.g. the page was left). Rejects with WEB_ERR_ABORTED. */
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface Api {
  get<T>(path: string, options?: RequestOptions): Promise<T>;
  post<T>(path: string, body: unknown, options?: RequestOptions): Promise<T>;
  patch<T>(path: string, body: unknown, options?: RequestOptions): Promise<T>;
  del<T>(path: string, options?: RequestOptions): Promise<T>;
  /**
   * Device clock minus browser clock in ms, from the last response's Date header. A Pi has no
   * RTC, so before NTP its clock can be far off; only skews over 2 s are reported (the header
   * has one-second resolution), otherwise 0.
   */
  clockSkewMs(): number;
}

export function createApi(baseUrl = '', defaultTimeoutMs = 5000): Api {
  let skew = 0;
  let refreshing: Promise<boolean> | null = null;

  const refresh = (): Promise<boolean> => (refreshing ??= (async () => {
    const s = getSession();
    if (!s) return false;
    try {
      const next = await raw<Session>('POST', '/api/v1/auth/refresh', { refreshToken: s.refreshToken }, {});
      setSession(next);
      return true;
    } catch {
      return false;
    }
  })().finally(() => { refreshing = null; }));

  async function request<T>(method: string, path: string, body: unknown, options: RequestOptions = {}): Promise<T> {
    try {
      return await raw<T>(method, path, body, options);
    } catch (err) {
      if (!(err instanceof ApiError) || err.statusCode !== 401 || path.startsWith('/api/v1/auth/')) throw err;
      if (err.code === 'AUTH_ERR_TOKEN_EXPIRED' && (await refresh())) return raw<T>(method, path, body, options);
      setSession(null);
      toLogin();
      throw err;
    }
  }

  async function raw<T>(method: string, path: string, body: unknown, options: RequestOptions = {}): Promise<T> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; controller.abort(); }, options.timeoutMs ?? defaultTimeoutMs);
    const onAbort = (): void => controller.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) controller.abort();
    const sentAt = Date.now();
    try {
      let res: Response;
      try {
        const headers: Record<string, string> = { accept: 'application/json' };
        if (body !== undefined) headers['content-type'] = 'application/json';
        const token = getSession()?.accessToken;
        if (token) headers['authorization'] = `Bearer ${token}`;
        res = await fetch(baseUrl + path, {
          method,
          headers,
          body: body === undefined ? null : JSON.stringify(body),
          cache: 'no-store',
          signal: controller.signal,
        });
      } catch (err) {
        if (timedOut) throw new ApiError('the appliance did not answer in time', WEB_ERR_TIMEOUT);
        if (controller.signal.aborted) throw new ApiError('request aborted', WEB_ERR_ABORTED);
        throw new ApiError(`no answer from the appliance (${(err as Error).message || 'network error'})`, WEB_ERR_UNREACHABLE);
      }
      measureSkew(res.headers.get('date'), sentAt);
      const text = await res.text();
      let data: unknown = undefined;
      try {
        data = text ? JSON.parse(text) : undefined;
      } catch {
        // Not JSON (a proxy error page, a truncated body): reported below with the HTTP status.
      }
      if (!res.ok) {
        const e = (data ?? {}) as { code?: unknown; message?: unknown };
        throw new ApiError(
          typeof e.message === 'string' ? e.message : `HTTP ${res.status}`,
          typeof e.code === 'string' ? e.code : WEB_ERR_BAD_RESPONSE,
          res.status,
        );
      }
      if (text && data === undefined) throw new ApiError('the appliance sent a response that is not JSON', WEB_ERR_BAD_RESPONSE, res.status);
      return data as T;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  function measureSkew(header: string | null, sentAt: number): void {
    const server = header ? Date.parse(header) : NaN;
    if (!Number.isFinite(server)) return;
    // The header is truncated to the second: +500 ms is its expected value.
    const raw = server + 500 - (sentAt + Date.now()) / 2;
    skew = Math.abs(raw) > 2000 ? raw : 0;
  }

  return {
    get: (path, options) => request('GET', path, undefined, options),
    post: (path, body, options) => request('POST', path, body, options),
    patch: (path, body, options) => request('PATCH', path, body, options),
    del: (path, options) => request('DELETE', path, undefined, options),
    clockSkewMs: () => skew,
  };
}
