// Talking to an appliance inside a guest through its forwarded port: the first admin made with
// the setup code the guest holds (read through the agent), logins, JSON requests.
import { TEST_ADMIN } from '../../helpers/appliance.js';

export type SetupCodeReader = () => Promise<string | null>;

async function post(url: string, path: string, body: object, token?: string): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: 'POST', body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    signal: AbortSignal.timeout(60_000),
  });
}

/** Logs in as the test admin; creates it with the setup code first when no user exists yet. */
export async function guestAdminToken(url: string, setupCode: SetupCodeReader, user = TEST_ADMIN): Promise<string> {
  let res = await post(url, '/api/v1/auth/login', user);
  if (res.status !== 200) {
    await res.body?.cancel();
    const code = await setupCode();
    if (code) res = await post(url, '/api/v1/auth/setup', { code, ...user });
    if (res.status === 409) res = await post(url, '/api/v1/auth/login', user); // someone else ran setup
  }
  if (res.status !== 200 && res.status !== 201) throw new Error(`admin login failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

/** GET `path` with a token; resolves with status and parsed JSON body. */
export async function getJson<T = any>(url: string, path: string, token?: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(60_000) });
  return { status: res.status, body: (await res.json()) as T };
}

export { post as postJson };
