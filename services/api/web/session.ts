// The login session in the browser: tokens in sessionStorage (per tab, gone when it closes),
// sent as `Authorization: Bearer`. No cookies, so there is no CSRF surface; the CSP (script-src
// 'self') and text-only rendering keep scripts from reading the tokens.
export interface SessionUser { id: string; username: string; role: 'user' | 'node_operator' | 'admin' | 'super_admin' }
export interface Session { accessToken: string; refreshToken: string; user: SessionUser }

const KEY = 'lucid.session';
const listeners = new Set<(s: Session | null) => void>();

export function getSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export function setSession(s: Session | null): void {
  if (s) sessionStorage.setItem(KEY, JSON.stringify({ accessToken: s.accessToken, refreshToken: s.refreshToken, user: s.user }));
  else sessionStorage.removeItem(KEY);
  for (const l of listeners) l(s);
}

export function onSession(listener: (s: Session | null) => void): void {
  listeners.add(listener);
}

const RANK = ['user', 'node_operator', 'admin', 'super_admin'];
export const atLeast = (role: string): boolean => RANK.indexOf(getSession()?.user.role ?? '') >= RANK.indexOf(role);

/** Goes to the login page, coming back to where we were afterwards. */
export function toLogin(): void {
  if (location.hash.startsWith('#/login')) return;
  sessionStorage.setItem('lucid.next', location.hash || '#/status');
  location.hash = '#/login';
}

export function afterLogin(): void {
  const next = sessionStorage.getItem('lucid.next');
  sessionStorage.removeItem('lucid.next');
  location.hash = next && !next.startsWith('#/login') ? next : '#/status';
}
