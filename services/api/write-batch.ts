// Answers written in bursts: the small answers that one event-loop turn produces go out together
// at the end of the turn's poll phase (setImmediate), at most `max` at a time, instead of one
// write between each request's parse and the next.
//
// Why: every write to a loopback or LAN client that sleeps in epoll wakes it, and a wake-up of
// a task on another CPU costs an inter-processor interrupt (a hypervisor exit on a VM). Written
// one by one, ~40 µs apart, answers wake a client that has gone back to sleep after each one;
// written in a burst, the first wakes it and the rest find it running.
//
// What it costs: an answer waits for the others of its turn, at most `max - 1` answers' worth
// of work (~0.5 ms at the default). Streams (session content, chunk objects, files) are not
// held: only string and Buffer payloads, whose bytes are already in memory.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

type Done = (err: Error | null, payload: unknown) => void;

export const DEFAULT_WRITE_BATCH = 16;

export function installWriteBatching(app: FastifyInstance, max = DEFAULT_WRITE_BATCH): void {
  if (max <= 1) return;
  let replies: FastifyReply[] = [];
  let payloads: unknown[] = [];
  let dones: Done[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    const r = replies;
    const p = payloads;
    const d = dones;
    replies = [];
    payloads = [];
    dones = [];
    for (let i = 0; i < d.length; i++) {
      // Writing one answer can throw (fastify writes the head here: an invalid header value);
      // that answer takes fastify's own error path, as it would unbatched, and the others of
      // its burst are still written.
      try {
        d[i]!(null, p[i]);
      } catch (err) {
        const reply = r[i]!;
        if (reply.raw.headersSent || reply.raw.destroyed) reply.raw.destroy(err as Error);
        else reply.send(err);
      }
    }
  };
  app.addHook('onSend', (_request: FastifyRequest, reply: FastifyReply, payload: unknown, done: Done) => {
    if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) {
      done(null, payload);
      return;
    }
    replies.push(reply);
    payloads.push(payload);
    dones.push(done);
    if (dones.length >= max) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  });
}
