// Boots the LAN web UI: fills the nav bar from the page registry, wires the "API unreachable"
// banner and starts the hash router. The static shell (header, banner, <main>) is in index.html.
import { createApi, type ApiError } from './api.js';
import { h, setText } from './dom.js';
import { clockTime } from './format.js';
import type { Page } from './page.js';
import { pages } from './pages/index.js';
import { startRouter } from './router.js';
import { atLeast, getSession, onSession, setSession, toLogin } from './session.js';

const APP_NAME = 'Lucid';

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`index.html lacks #${id}`);
  return el as T;
}

function buildNav(list: HTMLElement): (current: Page | undefined) => void {
  const links = new Map<Page, HTMLAnchorElement>();
  for (const page of pages) {
    if (page.nav === false) continue;
    const a = h('a', { href: `#${page.path}` }, page.title);
    links.set(page, a);
    list.append(h('li', null, a));
  }
  return (current) => {
    for (const [page, a] of links) {
      if (page === current) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
      a.parentElement!.hidden = page.role !== undefined && !atLeast(page.role);
    }
  };
}

/** Who is logged in, and the way out (POST /api/v1/auth/logout revokes the session server-side). */
function userBox(box: HTMLElement, api: ReturnType<typeof createApi>): void {
  const draw = (): void => {
    const s = getSession();
    if (!s) {
      box.replaceChildren(h('a', { href: '#/login', 'data-testid': 'login-link' }, 'Log in'));
      return;
    }
    const out = h('button', { type: 'button', class: 'btn small', 'data-testid': 'logout' }, 'Log out');
    out.addEventListener('click', () => {
      void api.post('/api/v1/auth/logout', {}).catch(() => undefined).finally(() => {
        setSession(null);
        toLogin();
      });
    });
    box.replaceChildren(h('span', { 'data-testid': 'whoami' }, `${s.user.username} (${s.user.role})`), out);
  };
  onSession(draw);
  draw();
}

function connectionBanner(banner: HTMLElement): { ok(): void; failed(error: ApiError): void } {
  const detail = banner.querySelector<HTMLElement>('[data-detail]') ?? banner;
  let since = 0;
  return {
    ok() {
      banner.hidden = true;
      since = 0;
    },
    failed(error) {
      if (!since) since = Date.now();
      setText(detail, `${error.message[0]?.toUpperCase() ?? ''}${error.message.slice(1)} [${error.code}]. Retrying every second; the values below are from before ${clockTime(since)}.`);
      banner.hidden = false;
    },
  };
}

function boot(): void {
  const markCurrent = buildNav(byId('nav-list'));
  const connection = connectionBanner(byId('api-error'));
  const api = createApi();
  userBox(byId('user-box'), api);
  onSession(() => markCurrent(undefined));
  startRouter({
    pages,
    outlet: byId('content'),
    appName: APP_NAME,
    context: { api, connection },
    // A page that needs a login goes to the login page first (no request that would 401).
    guard: (page) => {
      if (page.role === undefined || getSession()) return true;
      toLogin();
      return false;
    },
    onNavigate: (page) => {
      markCurrent(page);
      // A page that does not talk to the API must not leave a stale banner behind.
      connection.ok();
    },
  });
}

boot();
