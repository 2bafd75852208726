// Pages loaded on demand: their code is a bundle of its own (dist/web/<name>.js, built by
// image/bundle.mjs from pages/<name>-entry.ts) fetched the first time the page is opened, so
// app.js — what every visit loads — stays within its budget. The registry lists the page's
// path, title and role as usual; only its render() arrives later.
import { h } from './dom.js';
import type { Page, PageContext } from './page.js';

type Loaded = Record<string, Page>;
const loads = new Map<string, Promise<Loaded>>();

function load(file: string): Promise<Loaded> {
  let p = loads.get(file);
  if (!p) {
    // A computed specifier: esbuild leaves it alone and the browser fetches it from the device.
    const url = `/${file}`;
    p = import(/* webpackIgnore: true */ url) as Promise<Loaded>;
    p.catch(() => loads.delete(file));
    loads.set(file, p);
  }
  return p;
}

export function lazyPage(meta: Omit<Page, 'render'>, file: string, exportName: string): Page {
  return {
    ...meta,
    render(root: HTMLElement, ctx: PageContext) {
      root.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
      let cleanup: (() => void) | void;
      ctx.signal.addEventListener('abort', () => cleanup?.(), { once: true });
      load(file).then((mod) => {
        if (ctx.signal.aborted) return;
        const page = mod[exportName];
        if (!page) throw new Error(`${file} has no ${exportName}`);
        root.replaceChildren();
        cleanup = page.render(root, ctx);
      }).catch((err: unknown) => {
        if (ctx.signal.aborted) return;
        root.replaceChildren(h('h1', null, meta.title), h('p', { class: 'muted' }, `This page failed to load (${(err as Error).message}). Reload to try again.`));
      });
    },
  };
}
