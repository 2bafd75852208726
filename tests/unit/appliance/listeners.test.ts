// The API's sockets owned by the supervisor (appliance/supervisor/listeners.ts) and taken by core
// (services/api/listen.ts): this test process plays the supervisor, with the real ApiListeners and
// spawnChild; a real child process plays core; real descriptors cross a real IPC channel; real
// connections on loopback.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiListeners } from '../../../appliance/supervisor/listeners.js';
import { spawnChild, type ChildHandle } from '../../../appliance/supervisor/child-process.js';
import type { ChildSpec } from '../../../appliance/supervisor/children.js';
import { TlsIdentity } from '../../../appliance/tls/index.js';
import { LISTENER_PARK, LISTENERS_REQUEST } from '../../../services/common/ipc.js';
import { silentLogger } from '../../../services/common/log.js';
import type { TlsMaterial } from '../../../services/common/tls.js';
import { ROOT, freePort } from '../../helpers/appliance.js';
import { descriptorsOf, listeningInode } from '../../helpers/sockets.js';
import { pinnedFetch } from '../../helpers/tls.js';

let tls: TlsMaterial;
let listeners: ApiListeners | undefined;
let child: { handle: ChildHandle; pid: number; exited: Promise<void>; next(t: string): Promise<Record<string, unknown>> } | undefined;
let ports: { http: number; https: number };

beforeAll(async () => {
  const loaded = await TlsIdentity.load({ dataDir: mkdtempSync(join(tmpdir(), 'lucid-listeners-')), tlsCert: null, tlsKey: null }, silentLogger());
  if (!loaded.ok) throw new Error(loaded.message);
  tls = loaded.identity.material;
});

afterEach(async () => {
  child?.handle.kill('SIGKILL');
  await child?.exited;
  await listeners?.close();
  child = undefined;
  listeners = undefined;
});

async function bind(descriptors: number): Promise<ApiListeners> {
  ports = { http: await freePort(), https: await freePort() };
  const l = new ApiListeners({
    log: silentLogger(), descriptors, tls: () => tls, cpuHasAes: true,
    specs: [{ name: 'http', host: '127.0.0.1', port: ports.http, setting: 'LUCID_PORT' }, { name: 'https', host: '127.0.0.1', port: ports.https, setting: 'LUCID_HTTPS_PORT' }],
    answer: (_req, res) => res.end('supervisor'),
  });
  await l.bind();
  return l;
}

/** Starts the stand-in core, wired to `l` as the supervisor wires core (supervisor.ts). */
function spawnCore(l: ApiListeners, env: Record<string, string> = {}): NonNullable<typeof child> {
  const spec: ChildSpec = {
    name: 'core', entry: join(ROOT, 'tests/fixtures/children/listener-child.ts'), critical: true, restart: 'never',
    after: [], env, nodeArgs: ['--import', 'tsx'], subscribe: false, heartbeatMs: 1_000, readyTimeoutMs: 10_000,
  };
  const inbox: Record<string, unknown>[] = [];
  const waiting: { t: string; resolve: (m: Record<string, unknown>) => void }[] = [];
  let exited!: () => void;
  const done = new Promise<void>((resolve) => { exited = resolve; });
  const handle: ChildHandle = spawnChild(spec, process.env as Record<string, string>, {
    onMessage: (m, h) => {
      const msg = m as Record<string, unknown> & { t: string };
      if (h !== undefined) return msg.t === LISTENER_PARK ? l.park(msg['name'], h) : undefined;
      if (msg.t === LISTENERS_REQUEST) return void l.handOver(handle);
      const w = waiting.findIndex((x) => x.t === msg.t);
      if (w >= 0) waiting.splice(w, 1)[0]!.resolve(msg);
      else inbox.push(msg);
    },
    onExit: () => { l.resume(); exited(); },
  });
  return {
    handle, pid: handle.pid!, exited: done,
    next: (t) => {
      const i = inbox.findIndex((m) => m['t'] === t);
      if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0]!);
      return new Promise((resolve) => waiting.push({ t, resolve }));
    },
  };
}

/** Opens `n` connections, each sending one request; resolves with the answers' bodies. */
function crowd(port: number, n: number): { connected: Promise<void>; answers: Promise<string[]> } {
  const connected: Promise<void>[] = [];
  const answers: Promise<string>[] = [];
  for (let i = 0; i < n; i++) {
    const s: Socket = connect(port, '127.0.0.1');
    connected.push(new Promise((resolve) => s.once('connect', () => resolve())));
    s.write('GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    answers.push(new Promise((resolve, reject) => {
      let text = '';
      s.on('data', (d) => { text += d.toString(); });
      s.on('end', () => resolve(text.split('\r\n\r\n')[1] ?? ''));
      s.on('error', reject);
    }));
  }
  return { connected: Promise.all(connected).then(() => {}), answers: Promise.all(answers) };
}

describe('the supervisor binds, answers, hands over and takes back the API\'s sockets', () => {
  it('answers itself until core has every socket, then keeps one descriptor of each without accepting; takes over when core dies', async () => {
    listeners = await bind(1);
    expect(await crowd(ports.http, 3).answers).toEqual(Array(3).fill('supervisor'));
    expect(await (await pinnedFetch(tls.certPem)(`https://127.0.0.1:${ports.https}/`)).text()).toBe('supervisor');

    child = spawnCore(listeners);
    expect(await child.next('up')).toMatchObject({ count: 1, fingerprint: tls.certificateSha256 });
    await vi_waitFor(() => !listeners!.answering);
    expect(await crowd(ports.http, 20).answers).toEqual(Array(20).fill('child'));
    expect(await (await pinnedFetch(tls.certPem)(`https://127.0.0.1:${ports.https}/`)).text()).toBe('child');
    for (const port of [ports.http, ports.https]) {
      const inode = listeningInode(port);
      expect(descriptorsOf(child.pid, inode)).toBe(1);
      expect(descriptorsOf('self', inode)).toBe(1); // kept, not accepted on
    }

    // Connections queued while core is stalled and then killed are answered by the supervisor.
    child.handle.send({ t: 'block', ms: 2_000 });
    await child.next('blocking');
    const queued = crowd(ports.http, 5);
    await queued.connected;
    child.handle.kill('SIGKILL');
    await child.exited;
    expect(await queued.answers).toEqual(Array(5).fill('supervisor'));
    expect(listeners.answering).toBe(true);

    // A new core takes them again.
    child = spawnCore(listeners);
    await child.next('up');
    await vi_waitFor(() => !listeners!.answering);
    expect(await crowd(ports.http, 5).answers).toEqual(Array(5).fill('child'));
  });

  it('a core that never sends the copies back leaves the supervisor answering beside it, never a dead port', async () => {
    listeners = await bind(1);
    child = spawnCore(listeners, { PARK: '0' });
    await child.next('up');
    const answers = await crowd(ports.http, 30).answers;
    expect(new Set(answers)).toEqual(new Set(['supervisor', 'child']));
    expect(listeners.answering).toBe(true);
  });

  for (const descriptors of [1, 8]) {
    it(`${descriptors} descriptor(s): a stalled core takes in ${descriptors} queued connection(s) per turn, all served alike`, async () => {
      listeners = await bind(descriptors);
      child = spawnCore(listeners);
      expect((await child.next('up'))['count']).toBe(descriptors);
      await vi_waitFor(() => !listeners!.answering);
      expect(descriptorsOf(child.pid, listeningInode(ports.http))).toBe(descriptors);
      child.handle.send({ t: 'block', ms: 500 });
      await child.next('blocking');
      const { connected, answers } = crowd(ports.http, 40);
      await connected; // the kernel completed them; they wait in the accept queue
      const turn = await child.next('turn');
      expect(turn['accepted']).toBe(descriptors);
      // Taken in with http.Server's socket options (allowHalfOpen, and noDelay with it), not a plain net.Server's.
      expect(turn['plain']).toBe(0);
      expect(await answers).toEqual(Array(40).fill('child'));
    });
  }
});

async function vi_waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
