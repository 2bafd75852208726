// Write batching (services/api/write-batch.ts): small answers of one event-loop turn are held to
// the turn's end (or until `max` wait), each still paired with its own request; streams are not
// held; an answer whose write throws takes fastify's error path and does not strand the others.
import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { installWriteBatching } from '../../../services/api/write-batch.js';

type Hook = (request: unknown, reply: unknown, payload: unknown, done: (err: Error | null, payload: unknown) => void) => void;

/** The onSend hook the module installs, captured from a stand-in app. */
function hookOf(max: number): Hook | undefined {
  let hook: Hook | undefined;
  installWriteBatching({ addHook: (name: string, fn: Hook) => { if (name === 'onSend') hook = fn; } } as unknown as FastifyInstance, max);
  return hook;
}

const turnEnd = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('write batching: the hook', () => {
  it('holds string and Buffer answers until the end of the turn, in order, each with its own payload', async () => {
    const hook = hookOf(16)!;
    const written: unknown[] = [];
    hook({}, {}, 'a', (_e, p) => written.push(p));
    hook({}, {}, Buffer.from('b'), (_e, p) => written.push(p));
    hook({}, {}, 'c', (_e, p) => written.push(p));
    expect(written).toEqual([]);
    await turnEnd();
    expect(written).toEqual(['a', Buffer.from('b'), 'c']);
  });

  it('writes a full batch at once, without waiting for the turn to end', async () => {
    const hook = hookOf(3)!;
    const written: unknown[] = [];
    for (const p of ['a', 'b', 'c', 'd']) hook({}, {}, p, (_e, x) => written.push(x));
    expect(written).toEqual(['a', 'b', 'c']);
    await turnEnd();
    expect(written).toEqual(['a', 'b', 'c', 'd']);
  });

  it('does not hold streams or empty answers', () => {
    const hook = hookOf(16)!;
    const written: unknown[] = [];
    const stream = Readable.from(['x']);
    hook({}, {}, stream, (_e, p) => written.push(p));
    hook({}, {}, undefined, (_e, p) => written.push(p));
    expect(written).toEqual([stream, undefined]);
  });

  it('installs nothing when the batch is 1', () => {
    expect(hookOf(1)).toBeUndefined();
  });
});

describe('write batching: a real server on loopback', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => { await app?.close(); app = undefined; });

  async function serve(max: number): Promise<string> {
    app = Fastify({ logger: false });
    installWriteBatching(app, max);
    app.get('/echo/:n', async (request) => ({ n: Number((request.params as { n: string }).n) }));
    // Node's writeHead refuses a header value with a line break: the write itself throws.
    app.get('/bad', async (_request, reply) => { void reply.header('x-bad', 'a\nb'); return { ok: true }; });
    return `http://127.0.0.1:${(await app.listen({ host: '127.0.0.1', port: 0 })).split(':').pop()}`;
  }

  it('answers 60 concurrent requests, each with its own body', async () => {
    const url = await serve(4);
    const bodies = await Promise.all(Array.from({ length: 60 }, async (_, n) => {
      const res = await fetch(`${url}/echo/${n}`);
      expect(res.status).toBe(200);
      return ((await res.json()) as { n: number }).n;
    }));
    expect(bodies).toEqual(Array.from({ length: 60 }, (_, n) => n));
  });

  it('an answer whose write throws gets the same status as unbatched, and its neighbours are written', async () => {
    const unbatched = await serve(1);
    const expected = (await fetch(`${unbatched}/bad`)).status;
    await app!.close();
    expect(expected).toBe(500);

    const url = await serve(16);
    const answers = await Promise.all([...['/echo/1', '/bad', '/echo/2', '/bad', '/echo/3'].map(async (path) => (await fetch(url + path)).status)]);
    expect(answers).toEqual([200, expected, 200, expected, 200]);
  });
});
