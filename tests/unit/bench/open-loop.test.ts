// The open-loop generator of `bench api` (tests/bench/_open-loop.ts) against a real HTTP server
// on loopback: a latency counts from when the request was due, so a server that stalls shows the
// stall in every request due during it, not only in the one request per connection that a
// closed-loop generator would have in flight (coordinated omission).
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../helpers/appliance.js';
import { openLoop } from '../../bench/_open-loop.js';

let server: Server | null = null;
afterEach(() => new Promise<void>((resolve) => { server?.closeAllConnections(); server ? server.close(() => resolve()) : resolve(); server = null; }));

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const port = await freePort();
  server = createServer(handler);
  await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
  return `http://127.0.0.1:${port}/x`;
}

describe('bench api open-loop generator', () => {
  it('counts a server stall in every request due during it (latency from the due time), and answers every request due in the window', async () => {
    // The window starts 0.5 s after the first request (warm-up); the server holds every answer
    // from 0.5 s into the window until 1.1 s into it.
    let first = 0;
    const url = await serve((req, res) => {
      const now = performance.now();
      first ||= now;
      const stallFrom = first + 500 + 500;
      const stallTo = stallFrom + 600;
      const answer = (): void => { res.setHeader('content-type', 'application/json'); res.end('{"ok":true}'); };
      if (now >= stallFrom && now < stallTo) setTimeout(answer, stallTo - now); else answer();
    });
    const r = await openLoop({ url, connections: 10, rate: 100, warmS: 0.5, durationS: 2, tokens: ['t'], userAgent: 'lucid-bench', nice: 0 });
    expect(r.unanswered).toBe(0);
    expect(r.non2xx).toBe(0);
    expect(r.errors).toBe(0);
    expect(Math.abs(r.achievedReqPerSec * r.durationS - 200)).toBeLessThanOrEqual(2);
    // Requests due in the stall's first 300 ms (15 % of the window) waited ≥ 300 ms. A generator
    // that timed from the actual send would see one slow request per connection: 10 of 200 (5 %).
    expect(r.p90).toBeGreaterThanOrEqual(300);
    // 70 % of the window is outside the stall.
    expect(r.p50).toBeLessThan(600);
    expect(r.max).toBeGreaterThanOrEqual(550);
  });

  it('counts non-2xx answers and sends the bearer token of its connection', async () => {
    const seen = new Set<string>();
    let n = 0;
    const url = await serve((req, res) => {
      seen.add(req.headers.authorization ?? '');
      res.statusCode = n++ % 2 === 0 ? 200 : 429;
      res.end('{}');
    });
    const r = await openLoop({ url, connections: 4, rate: 100, warmS: 0.2, durationS: 1, tokens: ['a', 'b'], userAgent: 'lucid-bench', nice: 0 });
    expect(r.unanswered).toBe(0);
    expect(Math.abs(r.achievedReqPerSec - 100)).toBeLessThanOrEqual(1);
    expect(r.non2xx).toBeGreaterThanOrEqual(45);
    expect(r.non2xx).toBeLessThanOrEqual(55);
    expect([...seen].sort()).toEqual(['Bearer a', 'Bearer b']);
  });
});
