// Boots the LAN web UI: fills the nav bar from the page registry, wires the "API unreachable"
// banner and starts the hash router. The static shell (header, banner, <main>) is in index.html.
import { createApi, type ApiError } from './api.js';
import { h, setText } from './dom.js';
import { clockTime } from './format.js';
import type { Page } from './page.js';
import { pages } from './pages/index.js';
import { startRouter } from './router.js';

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
    }
  };
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
  startRouter({
    pages,
    outlet: byId('content'),
    appName: APP_NAME,
    context: { api: createApi(), connection },
    onNavigate: (page) => {
      markCurrent(page);
      // A page that does not talk to the API must not leave a stale banner behind.
      connection.ok();
    },
  });
}

boot();
