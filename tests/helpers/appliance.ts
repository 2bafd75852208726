// Starts the real appliance (dist/entries/supervisor.mjs, as `./build.sh run` does) on a free
// port with a temp data dir, and offers the probes integration tests need.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SUPERVISOR_ENTRY = join(ROOT, 'dist/entries/supervisor.mjs');

// A port for a server a test starts later (often in another process, or only after peers that
// must know it have started). It is taken from below the kernel's ephemeral range: a port the
// kernel handed out (listen(0)) can be handed out again at any moment as the local port of an
// outgoing connection — of the four nodes dialling each other, say — and a node that then
// listens on it fails with EADDRINUSE (a flake seen in the ledger service test).
const EPHEMERAL_LOW = ((): number => {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isSafeInteger(low) && low > 12_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
})();
const handedOut = new Set<number>();

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * (EPHEMERAL_LOW - 10_000));
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port between 10000 and ${EPHEMERAL_LOW - 1} after 200 tries`);
}

export interface RunningAppliance {
  readonly process: ChildProcess;
  readonly pid: number;
  readonly port: number;
  /** LUCID_HTTPS_PORT. */
  readonly httpsPort: number;
  /** Plain HTTP (on loopback it serves everything). */
  readonly url: string;
  /** https://<host>:<httpsPort> */
  readonly httpsUrl: string;
  readonly dataDir: string;
  /** Everything the tree printed so far (pino JSON lines of every process). */
  output(): string;
  /**
   * fetch() against the appliance, logged in as the test super_admin (made with the setup code
   * on first use) unless the request brings its own Authorization or the path is /healthz.
   */
  get(path: string, init?: RequestInit): Promise<Response>;
  /** fetch() without any credentials. */
  raw(path: string, init?: RequestInit): Promise<Response>;
  /** Access token of the test super_admin (runs setup or logs in as needed). */
  token(): Promise<string>;
  json<T = any>(path: string, init?: RequestInit): Promise<T>;
  waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs?: number): Promise<T>;
  waitHealthy(timeoutMs?: number): Promise<number>;
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL the tree (best effort) and remove the data dir. */
  cleanup(): Promise<void>;
}

/** The super_admin the helper creates with the setup code (a password the policy accepts). */
export const TEST_ADMIN = { username: 'root-admin', password: 'violet-anchor-41-drift' } as const;

/** Runs setup with the code from the data dir if needed, then logs in; returns an access token. */
export async function adminToken(url: string, dataDir: string, user: { username: string; password: string } = TEST_ADMIN): Promise<string> {
  const post = (path: string, body: object) => fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const codeFile = join(dataDir, 'setup-code');
  let res: Response;
  if (existsSync(codeFile)) res = await post('/api/v1/auth/setup', { code: readFileSync(codeFile, 'utf8').trim(), ...user });
  else res = await post('/api/v1/auth/login', user);
  if (res.status === 409) res = await post('/api/v1/auth/login', user);
  if (!res.ok) throw new Error(`test login failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

/**
 * Approves pending request `approvalId` with the device code, as the bootstrap admin does: a
 * (simulated) long press of the button makes core print the code and write <data>/approval-code,
 * which the test reads like a person reads the console. `token`: the approving admin.
 */
export async function approveWithDeviceCode(app: Pick<RunningAppliance, 'url' | 'dataDir' | 'waitFor'>, approvalId: string, token: string): Promise<Response> {
  const file = join(app.dataDir, 'approval-code');
  const post = (path: string, body: object) => fetch(`${app.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  const pressed = await post('/api/v1/hal/button', { action: 'long' });
  if (pressed.status !== 202) throw new Error(`long press refused: ${pressed.status} ${await pressed.text()}`);
  const code = await app.waitFor('the approval code file', async () => (existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined));
  return post(`/api/v1/approvals/${approvalId}/approve`, { deviceCode: code });
}

export interface StartOptions {
  /** Who get()/json() log in as (created with the setup code if setup is still pending). */
  readonly admin?: { readonly username: string; readonly password: string };
  readonly env?: Record<string, string>;
  readonly dataDir?: string;
  readonly port?: number;
  readonly httpsPort?: number;
  /** LUCID_HOST, and the address the helper's own requests go to (127.0.0.1). */
  readonly host?: string;
  /** Runs the tree under this command prefix (e.g. `ip netns exec <ns>`, or strace and its options). */
  readonly wrap?: readonly string[];
}

export async function startAppliance(options: StartOptions = {}): Promise<RunningAppliance> {
  const port = options.port ?? (await freePort());
  const httpsPort = options.httpsPort ?? (await freePort());
  const host = options.host ?? '127.0.0.1';
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'lucid-it-'));
  let out = '';
  const [command, ...prefix] = [...(options.wrap ?? []), process.execPath];
  const child = spawn(command!, [...prefix, SUPERVISOR_ENTRY], {
    env: {
      ...process.env,
      LUCID_PROFILE: 'dev',
      LUCID_HAL: 'sim',
      LUCID_HOST: host,
      LUCID_PORT: String(port),
      LUCID_HTTPS_PORT: String(httpsPort),
      LUCID_DATA_DIR: dataDir,
      LUCID_LOG_LEVEL: 'info',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exitPromise = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  const url = `http://${hostInUrl}:${port}`;
  let token: string | null = null;
  const ensureToken = async (): Promise<string> => (token ??= await adminToken(url, dataDir, options.admin));
  const authed = async (path: string, init: RequestInit = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    if (path !== '/healthz' && !headers.has('authorization')) headers.set('authorization', `Bearer ${await ensureToken()}`);
    return fetch(`${url}${path}`, { ...init, headers });
  };
  const app: RunningAppliance = {
    process: child,
    pid: child.pid!,
    port,
    httpsPort,
    url,
    httpsUrl: `https://${hostInUrl}:${httpsPort}`,
    dataDir,
    output: () => out,
    get: authed,
    raw: (path, init) => fetch(`${url}${path}`, init),
    token: ensureToken,
    json: async (path, init) => (await authed(path, init)).json(),
    async waitFor(what, probe, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      let lastError: unknown;
      while (Date.now() < until) {
        try {
          const v = await probe();
          if (v !== undefined && v !== false) return v as never;
        } catch (err) {
          lastError = err;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}\n--- output ---\n${out.slice(-4000)}`);
    },
    async waitHealthy(timeoutMs = 15_000) {
      const started = Date.now();
      await app.waitFor('/healthz 200', async () => (await fetch(`${url}/healthz`)).status === 200, timeoutMs);
      return Date.now() - started;
    },
    exited: () => exitPromise,
    async cleanup() {
      const pids = treePids(child.pid!);
      for (const pid of pids) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return app;
}

/** True while a process exists and is not a zombie. */
export function isRunning(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return false;
  try {
    const state = readFileSync(stat, 'utf8').replace(/^.*\) /s, '').charAt(0);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The pid and every descendant's, found through /proc (children of children included). */
/** The pid of the supervised child started from `dist/entries/<entry>.mjs` (e.g. 'core'), if running. */
export function childPidOf(root: number, entry: string): number | undefined {
  return treePids(root).find((p) => {
    try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`entries/${entry}.mjs`); } catch { return false; }
  });
}

export function treePids(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.replace(/^.*\) /s, '').split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch { /* raced with exit */ }
  }
  const result = [root];
  for (let i = 0; i < result.length; i++) {
    for (const [pid, ppid] of parents) if (ppid === result[i]) result.push(pid);
  }
  return result;
}

/**
 * CPU seconds (user + system) a process tree has spent: every live member's own time, plus the
 * time of the children each has already reaped (`cutime`/`cstime`, which survive an exec: a shell
 * that ran steps and then exec'd keeps their time). From /proc/<pid>/stat, in clock ticks of 10 ms.
 */
export function treeCpuSeconds(root: number): number {
  let ticks = 0;
  for (const pid of treePids(root)) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
      // After "pid (comm) ": state is field 0, utime 11, stime 12, cutime 13, cstime 14.
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch { /* raced with exit: its time moves into its parent's cutime */ }
  }
  return ticks / 100;
}
