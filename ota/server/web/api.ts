// The fleet web UI's API client: Bearer tokens in sessionStorage (no cookies, so no CSRF
// surface), one refresh on a 401, coded errors thrown as FleetError with the server's code.
const KEY = 'lucid-fleet-session';

export interface Session { accessToken: string; refreshToken: string; username: string; role: string }

export class FleetError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) { super(message); }
}

export function getSession(): Session | null {
  const raw = sessionStorage.getItem(KEY);
  return raw ? JSON.parse(raw) as Session : null;
}

export function setSession(s: Session | null): void {
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

async function send(method: string, path: string, body: unknown, token: string | null): Promise<Response> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers['authorization'] = `Bearer ${token}`;
  return fetch(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
}

async function refresh(s: Session): Promise<Session | null> {
  const res = await send('POST', '/api/v1/auth/refresh', { refreshToken: s.refreshToken }, null);
  if (!res.ok) return null;
  const t = await res.json() as { accessToken: string; refreshToken: string };
  const next = { ...s, accessToken: t.accessToken, refreshToken: t.refreshToken };
  setSession(next);
  return next;
}

/** Calls the fleet API; a 401 with a session tries one refresh, then drops the session. */
export async function call<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  let s = getSession();
  let res = await send(method, path, body, s?.accessToken ?? null);
  if (res.status === 401 && s) {
    s = await refresh(s);
    if (s) res = await send(method, path, body, s.accessToken);
    else setSession(null);
  }
  const text = await res.text();
  const parsed: unknown = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const e = (parsed ?? {}) as { code?: string; message?: string };
    if (res.status === 401) setSession(null);
    throw new FleetError(res.status, e.code ?? `HTTP_${res.status}`, e.message ?? res.statusText);
  }
  return parsed as T;
}

/** Logs in (or sets up the first admin with the setup code) and keeps the session. */
export async function signIn(path: '/api/v1/auth/login' | '/api/v1/auth/setup', body: Record<string, string>): Promise<Session> {
  const t = await call<{ accessToken: string; refreshToken: string }>('POST', path, body);
  setSession({ accessToken: t.accessToken, refreshToken: t.refreshToken, username: body['username'] ?? '', role: '' });
  const me = await call<{ username: string; role: string }>('GET', '/api/v1/auth/me');
  const s = { accessToken: t.accessToken, refreshToken: t.refreshToken, username: me.username, role: me.role };
  setSession(s);
  return s;
}
