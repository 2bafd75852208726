// Talking to an appliance inside a guest through its forwarded ports: the first admin made with
// the setup code the guest holds (read through the agent), logins, JSON requests. Inside the
// guest the forwarded connections arrive on a LAN address (10.0.2.15), where plain HTTP refuses
// every login and every call with a token (API_ERR_HTTPS_REQUIRED): pass the guest's
// PinnedHttps (guest-https.ts) as the endpoint. A plain URL string is fetched as it is (for
// asserting what plain HTTP answers, or an appliance on loopback).
import { TEST_ADMIN } from '../../helpers/appliance.js';
import type { Target } from '../../helpers/upload.js';
import type { PinnedHttps } from './guest-https.js';

export type SetupCodeReader = () => Promise<string | null>;

/** Where requests go: the guest's pinned HTTPS forward, or a URL fetched as it is. */
export type Endpoint = string | PinnedHttps;

interface Answer { readonly status: number; readonly headers: { get(name: string): string | null }; text(): Promise<string>; json(): Promise<unknown>; readonly body: { cancel(): Promise<void> } | null }

function send(to: Endpoint, path: string, init: { method?: string; body?: string; headers?: Record<string, string> }): Promise<Answer> {
  const signal = AbortSignal.timeout(60_000);
  if (typeof to === 'string') return fetch(`${to}${path}`, { ...init, signal });
  return to.fetch(path, { ...init, signal }) as Promise<Answer>;
}

/**
 * `send` again after the Retry-After of a 429: the rate limiter refusing a request says nothing
 * about the request (a long run checks 100+ revoked tokens and logs in every few seconds, past
 * the per-address limits).
 */
export async function pastLimiter<R extends Answer>(send: () => Promise<R>): Promise<R> {
  let res = await send();
  for (let tries = 0; res.status === 429 && tries < 5; tries++) {
    await res.body?.cancel();
    await new Promise((r) => setTimeout(r, 1000 * Math.min(60, Number(res.headers.get('retry-after') ?? 10)) + 250));
    res = await send();
  }
  return res;
}

async function post(to: Endpoint, path: string, body: object, token?: string): Promise<Answer> {
  return send(to, path, {
    method: 'POST', body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
}

/** Logs in as the test admin; creates it with the setup code first when no user exists yet. */
export async function guestAdminToken(to: Endpoint, setupCode: SetupCodeReader, user = TEST_ADMIN): Promise<string> {
  // The login limiter (per address) also counts a long run's workload logins: wait it out.
  const login = (): Promise<Answer> => pastLimiter(() => post(to, '/api/v1/auth/login', user));
  let res = await login();
  if (res.status !== 200) {
    const refused = `${res.status} ${await res.text()}`;
    const code = await setupCode();
    if (!code) throw new Error(`admin login failed: ${refused} (and no setup code)`);
    res = await post(to, '/api/v1/auth/setup', { code, ...user });
    if (res.status === 409) { await res.body?.cancel(); res = await login(); } // someone else ran setup
  }
  if (res.status !== 200 && res.status !== 201) throw new Error(`admin login failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

/**
 * The admin's access token for a long run: a new login once the one held is `renewAfterMs` old
 * (access tokens live 15 minutes; a 200-cut run keeps one boot's workload going for longer).
 */
export function adminTokenSource(to: Endpoint, setupCode: SetupCodeReader, renewAfterMs = 10 * 60_000): () => Promise<string> {
  let held: { token: Promise<string>; at: number } | null = null;
  return () => {
    if (!held || Date.now() - held.at > renewAfterMs) {
      const token = guestAdminToken(to, setupCode);
      held = { token, at: Date.now() };
      token.catch(() => { held = null; }); // a failed login is tried again by the next caller
    }
    return held.token;
  };
}

/** GET `path` with a token; resolves with status and parsed JSON body. */
export async function getJson<T = any>(to: Endpoint, path: string, token?: string): Promise<{ status: number; body: T }> {
  const res = await send(to, path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: (await res.json()) as T };
}

/** fetch() of a path on `to` (the guest's pinned HTTPS, or a plain URL as it is). */
export function fetchOn(to: Endpoint): (path: string, init?: RequestInit) => Promise<Response> {
  if (typeof to === 'string') return (path, init) => fetch(`${to}${path}`, init);
  return (path, init) => to.fetch(path, init as Parameters<PinnedHttps['fetch']>[1]) as unknown as Promise<Response>;
}

/** A tests/helpers/upload.ts Target (api, putData, hashDownload) on `to`; the pin is read before the token is used. */
export function targetOn(to: Endpoint, token: () => Promise<string>): Target {
  if (typeof to === 'string') return { url: to, token };
  return {
    url: to.url, fetch: to.fetch as NonNullable<Target['fetch']>, get agent() { return to.agent; },
    token: async () => { await to.certificate(); return token(); },
  };
}

/** targetOn() for the guest's pinned HTTPS, the certificate read already. */
export async function guestTarget(https: PinnedHttps, token: () => Promise<string>): Promise<Target> {
  await https.certificate();
  return targetOn(https, token);
}

export { post as postJson };
