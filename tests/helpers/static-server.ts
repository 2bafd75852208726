// A static HTTP server over a folder (what `release publish` output needs: any static host does),
// with single-range support, a request log, and an `intercept` hook that lets an attack test
// answer a path with other bytes or a status — a compromised mirror, a stale CDN.
import { createServer, type Server } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { freePort } from './appliance.js';

export interface StaticServer {
  readonly url: string;
  readonly requests: string[];
  /** Return bytes or a status to answer `path` (e.g. '/metadata/timestamp.json'); undefined serves the file. */
  intercept: ((path: string) => Buffer | number | undefined) | null;
  stop(): Promise<void>;
}

export async function startStaticServer(dir: string): Promise<StaticServer> {
  const port = await freePort();
  const state: StaticServer = {
    url: `http://127.0.0.1:${port}`,
    requests: [],
    intercept: null,
    stop: async () => {
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    state.requests.push(`${req.method} ${path}`);
    const override = state.intercept?.(path);
    if (typeof override === 'number') { res.writeHead(override).end(); return; }
    if (override) { res.writeHead(200, { 'content-length': override.length }).end(override); return; }
    const file = join(dir, normalize(path).replace(/^(\.\.[/\\])+/, ''));
    let size: number;
    try {
      const st = statSync(file);
      if (!st.isFile()) throw new Error('not a file');
      size = st.size;
    } catch {
      res.writeHead(404).end();
      return;
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range) {
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
      if (start >= size) { res.writeHead(416, { 'content-range': `bytes */${size}` }).end(); return; }
      res.writeHead(206, { 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${size}` });
      createReadStream(file, { start, end }).pipe(res);
      return;
    }
    res.writeHead(200, { 'content-length': size, 'accept-ranges': 'bytes' });
    if (req.method === 'HEAD') { res.end(); return; }
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return state;
}
