// Accepting on copies of the API's listening descriptor (services/api/accept-handles.ts), with the
// supervisor's real side of it (appliance/supervisor/child-process.ts spawnChild): a real child
// process, real descriptors passed over a real IPC channel, real connections on loopback.
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { spawnChild, type ChildHandle } from '../../../appliance/supervisor/child-process.js';
import type { ChildSpec } from '../../../appliance/supervisor/children.js';
import { ROOT } from '../../helpers/appliance.js';
import { descriptorsOf, listeningInode } from '../../helpers/sockets.js';

interface Running { handle: ChildHandle; pid: number; next(t: string): Promise<Record<string, number>>; exited: Promise<void> }

let running: Running | undefined;
afterEach(async () => {
  running?.handle.kill('SIGKILL');
  await running?.exited;
  running = undefined;
});

function start(copies: number): Running {
  const spec: ChildSpec = {
    name: 'accept-copies', entry: join(ROOT, 'tests/fixtures/children/accept-copies.ts'), critical: false, restart: 'never',
    after: [], env: {}, nodeArgs: ['--import', 'tsx'], subscribe: false, heartbeatMs: 1_000, readyTimeoutMs: 10_000,
  };
  const inbox: Record<string, number>[] = [];
  const waiting: { t: string; resolve: (m: Record<string, number>) => void }[] = [];
  let exited!: () => void;
  const done = new Promise<void>((resolve) => { exited = resolve; });
  const handle = spawnChild(spec, { ...process.env as Record<string, string>, COPIES: String(copies) }, {
    onMessage: (m) => {
      const msg = m as Record<string, number> & { t: string };
      const w = waiting.findIndex((x) => x.t === msg.t);
      if (w >= 0) waiting.splice(w, 1)[0]!.resolve(msg);
      else inbox.push(msg);
    },
    onExit: () => exited(),
  });
  return {
    handle, pid: handle.pid!, exited: done,
    next: (t) => {
      const i = inbox.findIndex((m) => (m as { t?: unknown }).t === t);
      if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0]!);
      return new Promise((resolve) => waiting.push({ t, resolve }));
    },
  };
}

/** Opens `n` connections, each sending one request; resolves with the answers' status lines. */
function crowd(port: number, n: number): { connected: Promise<void>; answers: Promise<string[]> } {
  const sockets: Socket[] = [];
  const connected: Promise<void>[] = [];
  const answers: Promise<string>[] = [];
  for (let i = 0; i < n; i++) {
    const s = connect(port, '127.0.0.1');
    sockets.push(s);
    connected.push(new Promise((resolve) => s.once('connect', () => resolve())));
    s.write('GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    answers.push(new Promise((resolve, reject) => {
      let text = '';
      s.on('data', (d) => { text += d.toString(); });
      s.on('end', () => resolve(text.split('\r\n')[0]!));
      s.on('error', reject);
    }));
  }
  return { connected: Promise.all(connected).then(() => {}), answers: Promise.all(answers) };
}

describe('accepting on copies of the listening descriptor', () => {
  for (const copies of [1, 8]) {
    it(`${copies} descriptor(s): the supervisor's copies arrive, it keeps none, and a stalled server takes in ${copies} queued connection(s) per turn`, async () => {
      running = start(copies);
      const up = await running.next('up');
      expect(up.count).toBe(copies);
      const inode = listeningInode(up.port!);
      expect(descriptorsOf(running.pid, inode)).toBe(copies);
      // The test process is the supervisor here: its own copy is closed once the copies are sent.
      expect(descriptorsOf('self', inode)).toBe(0);

      running.handle.send({ t: 'block', ms: 500 });
      await running.next('blocking');
      const { connected, answers } = crowd(up.port!, 40);
      await connected; // the kernel completed them; they wait in the accept queue
      const turn = await running.next('turn');
      expect(turn.accepted).toBe(copies);
      // Taken in with http.Server's socket options (allowHalfOpen, and noDelay with it), not a plain net.Server's.
      expect(turn.plain).toBe(0);
      // Every connection, whichever descriptor took it in, is served by the one HTTP server.
      expect(await answers).toEqual(Array(40).fill('HTTP/1.1 200 OK'));
    });
  }

  it('closing the copies leaves the server its own descriptor, still serving', async () => {
    running = start(4);
    const up = await running.next('up');
    const inode = listeningInode(up.port!);
    expect(descriptorsOf(running.pid, inode)).toBe(4);
    running.handle.send({ t: 'close-copies' });
    await running.next('closed');
    expect(descriptorsOf(running.pid, inode)).toBe(1);
    expect(await crowd(up.port!, 3).answers).toEqual(Array(3).fill('HTTP/1.1 200 OK'));
  });
});
