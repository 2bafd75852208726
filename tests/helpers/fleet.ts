// A fleet server for tests: in-process (FleetServer on LevelDB in a temp dir, or on a PostgreSQL
// database) or as a real process (dist/fleet/server.mjs), its first admin set up with the setup
// code, and a real TUF release repository (ota/release/repo.ts) on a static HTTP server whose
// channel release documents the tests sign — the fleet mirrors and verifies them.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../services/common/log.js';
import { FleetServer } from '../../ota/server/server.js';
import type { FleetConfig } from '../../ota/server/config.js';
import { ReleaseRepo } from '../../ota/release/repo.js';
import { RELEASE_SCHEMA, releaseTargetPath } from '../../ota/shared/release/release-doc.js';
import { freePort, ROOT } from './appliance.js';
import { startStaticServer, type StaticServer } from './static-server.js';
import { closePools, fleetPool, pinnedPool, setFleetPin, type HttpResult } from './fleet-sim.js';

export const ADMIN = { username: 'fleet-root', password: 'violet-anchor-41-drift' };

export interface FleetApi {
  readonly url: string;
  call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, token?: string | null): Promise<HttpResult>;
  login(username: string, password: string): Promise<string>;
}

/**
 * `renew`: logs in again when the default token has expired (access tokens live 15 min; a long
 * file outlives one, as a real client's session does), then the call is made once more.
 */
export function fleetApi(url: string, defaultToken: () => string | null, renew?: () => Promise<void>): FleetApi {
  const api: FleetApi = {
    url,
    async call(method, path, body, token) {
      const r = await once(method, path, body, token === undefined ? defaultToken() : token);
      if (token !== undefined || !renew || r.status !== 401 || (r.body as { code?: string } | null)?.code !== 'AUTH_ERR_TOKEN_EXPIRED') return r;
      await renew();
      return once(method, path, body, defaultToken());
    },
    async login(username, password) {
      const r = await api.call('POST', '/api/v1/auth/login', { username, password }, null);
      if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.accessToken as string;
    },
  };
  async function once(method: Parameters<FleetApi['call']>[0], path: string, body: unknown, t: string | null): Promise<HttpResult> {
    const res = await fleetPool(url).request({
      method, path,
      headers: { 'user-agent': 'fleet-test', ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(t ? { authorization: `Bearer ${t}` } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.body.text();
    let parsed: unknown = text;
    try { parsed = text ? JSON.parse(text) : null; } catch { /* text */ }
    return { status: res.statusCode, body: parsed };
  }
  return api;
}

export interface TestFleet extends FleetApi {
  readonly server: FleetServer;
  readonly token: string;
  readonly fleetId: string;
  stop(): Promise<void>;
}

export async function startFleet(options: { databaseUrl?: string; config?: Partial<FleetConfig>; dataDir?: string } = {}): Promise<TestFleet> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'fleet-'));
  const config: FleetConfig = {
    host: '127.0.0.1', port: 0, dataDir, databaseUrl: options.databaseUrl ?? null, dbPool: 8, offlineAfterS: 30, checkinIntervalS: 60,
    syncS: 0, evaluateMs: 100, tlsCert: null, tlsKey: null, logLevel: 'silent', ...options.config,
  };
  const server = new FleetServer(config, silentLogger(), { webRoot: join(ROOT, 'dist/fleet/web') });
  await server.start();
  setFleetPin(server.url, server.tls.pin);
  let token: string | null = null;
  const api = fleetApi(server.url, () => token);
  const setup = await api.call('GET', '/api/v1/auth/setup', undefined, null);
  if (setup.body.needed) {
    const r = await api.call('POST', '/api/v1/auth/setup', { code: server.parts.auth.setupCode.current, ...ADMIN }, null);
    if (r.status !== 200) throw new Error(`setup: ${JSON.stringify(r.body)}`);
    token = r.body.accessToken;
  } else {
    token = await api.login(ADMIN.username, ADMIN.password);
  }
  return {
    ...api, server, token: token!, fleetId: server.parts.fleetId,
    async stop() {
      await server.stop();
      await closePools();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A fleet server as its own process (what `./build.sh fleet` runs). */
export async function startFleetProcess(env: Record<string, string>): Promise<{ url: string; pin: string; child: ChildProcess; output(): string; stop(): Promise<void> }> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'fleet-proc-'));
  const child = spawn(process.execPath, [join(ROOT, 'dist/fleet/server.mjs')], {
    env: { PATH: process.env['PATH'] ?? '', LUCID_FLEET_PORT: String(port), LUCID_FLEET_DATA_DIR: dataDir, LUCID_FLEET_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const url = `https://127.0.0.1:${port}`;
  const until = Date.now() + 60_000;
  // The start log names the URL and the certificate's pin; the health check is pinned to it.
  let pin = '';
  for (;;) {
    if (child.exitCode !== null) throw new Error(`fleet server exited ${child.exitCode}: ${out}`);
    if (Date.now() > until) throw new Error(`fleet server did not start: ${out}`);
    const ready = /"pin":"([A-Za-z0-9_-]{43})"[^\n]*"msg":"fleet server ready at (https:\/\/[^ ]+) /.exec(out);
    if (ready) {
      [pin] = [ready[1]!];
      if (ready[2] !== url) throw new Error(`fleet server says it is at ${ready[2]}, expected ${url}`);
      const pool = pinnedPool(url, { pin, connections: 1 });
      const ok = await pool.request({ method: 'GET', path: '/healthz' }).then(async (r) => { await r.body.text(); return r.statusCode === 200; }, () => false);
      await pool.close();
      if (ok) break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  setFleetPin(url, pin);
  return {
    url, pin, child, output: () => out,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface TestChannelRepo {
  readonly url: string;
  readonly rootJson: string;
  readonly repo: ReleaseRepo;
  readonly server: StaticServer;
  /** Signs a release document for `version` as the channel's release and publishes the repository. */
  sign(version: string, options?: { channel?: string; architectures?: string[]; minVersion?: string }): Promise<void>;
  stop(): Promise<void>;
}

const digest = (seed: string): string => `sha256:${Buffer.from(seed.padEnd(32, '.')).toString('hex').slice(0, 64).padEnd(64, '0')}`;

/** A real TUF repository (keys, roles, consistent snapshots) whose release documents name made-up blobs. */
export async function startChannelRepo(): Promise<TestChannelRepo> {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-repo-'));
  const repo = await ReleaseRepo.init(join(dir, 'repo'));
  const www = join(dir, 'www');
  await mkdir(www, { recursive: true });
  const server = await startStaticServer(www);
  await repo.publish(www);
  return {
    url: server.url, repo, server, rootJson: readFileSync(join(repo.metadataDir, '1.root.json'), 'utf8'),
    async sign(version, o = {}) {
      const channel = o.channel ?? 'stable';
      const platforms = (o.architectures ?? ['amd64']).map((architecture) => ({
        architecture, os: 'linux', manifest: { digest: digest(`m${version}${architecture}`), size: 500 }, config: { digest: digest(`c${version}${architecture}`), size: 300 },
        layers: [{ digest: digest(`l${version}${architecture}`), size: 1000, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }], downloadBytes: 1000, unpackedBytes: 4000,
      }));
      const doc = {
        schema: RELEASE_SCHEMA, channel, version, minVersion: o.minVersion ?? '0.0.0', created: new Date().toISOString(),
        image: { mediaType: 'application/vnd.oci.image.index.v1+json', digest: digest(`i${version}`), size: 400 }, source: { registry: 'http://127.0.0.1:9', repository: 'lucid/appliance' }, platforms,
      };
      await repo.putTarget(releaseTargetPath(channel), Buffer.from(`${JSON.stringify(doc, null, 2)}\n`), { version, channel });
      await repo.publish(www);
    },
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until `probe` returns something truthy. */
export async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
