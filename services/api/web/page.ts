// The contract between the shell and a page. A page is a plain object in pages/index.ts; the
// router renders it into the outlet and tears it down when the user navigates away.
import type { Api, ApiError } from './api.js';

export type Cleanup = () => void;

export interface PageContext {
  readonly api: Api;
  /** `:name` segments of the matched path, e.g. { id: 'abc' } for `/sessions/:id`. */
  readonly params: Readonly<Record<string, string>>;
  /** Aborted when the page is left: pass it to requests, listeners and pollers. */
  readonly signal: AbortSignal;
  /** Tells the shell whether the API answered, which shows or hides the "unreachable" banner. */
  readonly connection: {
    ok(): void;
    failed(error: ApiError): void;
  };
}

export interface Page {
  /** Hash path, e.g. `/status` (shown as `#/status`); `:name` segments become params. */
  readonly path: string;
  /** Shown in the nav bar and the document title. */
  readonly title: string;
  /** False keeps a page out of the nav bar (detail pages such as `/sessions/:id`). */
  readonly nav?: boolean;
  /** Lowest role that sees the page in the nav bar (the API enforces access anyway). */
  readonly role?: 'user' | 'node_operator' | 'admin' | 'super_admin';
  /** Builds the page into `root` (empty on entry). May return a cleanup; `ctx.signal` aborts too. */
  render(root: HTMLElement, ctx: PageContext): Cleanup | void;
}
