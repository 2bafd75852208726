// Hash router: `#/status`, `#/sessions/abc`. Hash routes need nothing from the server (it serves
// one index.html) and survive a reload. One page is mounted at a time; leaving it aborts its
// signal and runs its cleanup before the next one renders.
import type { Cleanup, Page, PageContext } from './page.js';
import { h } from './dom.js';

export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/').filter(Boolean);
  const got = path.split('/').filter(Boolean);
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (w.startsWith(':')) {
      try {
        params[w.slice(1)] = decodeURIComponent(g);
      } catch {
        return null;
      }
    } else if (w !== g) {
      return null;
    }
  }
  return params;
}

export function currentPath(): string {
  const path = location.hash.replace(/^#/, '').split('?')[0] ?? '';
  return path.startsWith('/') ? path : `/${path}`;
}

export interface RouterOptions {
  readonly pages: readonly Page[];
  readonly outlet: HTMLElement;
  readonly appName: string;
  /** Everything of the context except what the router supplies per navigation. */
  readonly context: Omit<PageContext, 'params' | 'signal'>;
  /** Asked before a page renders; false skips it (e.g. it went to the login page instead). */
  readonly guard?: (page: Page) => boolean;
  /** Called after each navigation with the page shown (undefined: not found). */
  readonly onNavigate?: (page: Page | undefined) => void;
}

export function startRouter(options: RouterOptions): { stop(): void } {
  const { pages, outlet } = options;
  let controller: AbortController | undefined;
  let cleanup: Cleanup | void;
  let first = true;

  const unmount = (): void => {
    controller?.abort();
    try {
      cleanup?.();
    } catch (err) {
      console.error('page cleanup failed', err);
    }
    cleanup = undefined;
    outlet.replaceChildren();
  };

  const navigate = (): void => {
    const path = currentPath();
    if (path === '/' && pages[0]) {
      // The bare address opens the first page; replace() keeps Back from bouncing here again.
      location.replace(`#${pages[0].path}`);
      return;
    }
    let page: Page | undefined;
    let params: Record<string, string> | null = null;
    for (const p of pages) {
      params = matchPath(p.path, path);
      if (params) {
        page = p;
        break;
      }
    }
    if (page && options.guard && !options.guard(page)) return;
    unmount();
    controller = new AbortController();
    if (page && params) {
      document.title = `${page.title} · ${options.appName}`;
      try {
        cleanup = page.render(outlet, { ...options.context, params, signal: controller.signal });
      } catch (err) {
        console.error('page render failed', err);
        outlet.replaceChildren(h('h1', null, page.title), h('p', { class: 'muted' }, 'This page failed to load. Reload to try again.'));
      }
    } else {
      document.title = `Not found · ${options.appName}`;
      outlet.replaceChildren(
        h('h1', null, 'Page not found'),
        h('p', null, 'No page at ', h('code', null, path), '. ', h('a', { href: `#${pages[0]?.path ?? '/'}` }, 'Go to the start page'), '.'),
      );
    }
    options.onNavigate?.(page);
    // Move focus to the new heading (not on first load) so keyboard and screen-reader users
    // land on the content they asked for.
    const heading = outlet.querySelector<HTMLElement>('h1');
    if (heading && !first) {
      heading.tabIndex = -1;
      heading.focus();
    }
    first = false;
  };

  window.addEventListener('hashchange', navigate);
  navigate();
  return {
    stop() {
      window.removeEventListener('hashchange', navigate);
      unmount();
    },
  };
}
