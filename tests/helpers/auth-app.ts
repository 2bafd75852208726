// An in-process API with the real auth service on a LevelDB in a temp dir, for inject() tests:
// the same buildApi + AuthService wiring as core.ts, with a clock the test can move and the
// simulated Ledger as the hardware wallet.
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, FastifyPluginAsync, InjectOptions, LightMyRequestResponse as LightResponse } from 'fastify';
import { buildApi } from '../../services/api/index.js';
import { AuthService, authRoutePlugins, loadOrCreateJwtKey, type TokenPair } from '../../services/auth/index.js';
import { Store } from '../../services/store/index.js';
import { loadOrCreateNodeIdentity } from '../../services/identity/index.js';
import { MetricsRegistry } from '../../services/common/metrics.js';
import { silentLogger } from '../../services/common/log.js';
import { createHidTransport, createLedgerTronWallet, createSimLedger, type SimLedger } from '../../hal/index.js';
import type { Role } from '../../services/api/index.js';

export const UA = 'lucid-test/1.0';
export const PASSWORD = 'violet-anchor-41-drift';

export interface AuthApp {
  readonly app: FastifyInstance;
  readonly auth: AuthService;
  readonly store: Store;
  readonly dataDir: string;
  readonly ledger: SimLedger;
  readonly flags: boolean[];
  /** The clock auth sees: real time plus `skew` ms. */
  skew: number;
  inject(opts: InjectOptions & { token?: string }): Promise<LightResponse>;
  /** Runs setup (first super_admin "root") and returns its tokens. */
  setupRoot(): Promise<TokenPair>;
  /**
   * Creates a user of `role` (through the API, as root) and logs it in. An admin or super_admin
   * is a two-person grant: root requests it and, as no account can approve a request of root's
   * own accounts, confirms it with the device code of a (simulated) long press.
   */
  userWithRole(role: Role, name?: string): Promise<TokenPair & { password: string; ip: string }>;
  /** Approves request `id` as `token`'s user with the device code (a long press of the button first). */
  approveWithDeviceCode(id: string, token: string): Promise<LightResponse>;
  login(username: string, password?: string, ip?: string): Promise<TokenPair>;
  restart(): Promise<AuthApp>;
  close(): Promise<void>;
}

/** `routes`: other areas' route plugins (e.g. sessions) to test under the real auth and RBAC. */
/** `store`: share a store the caller owns (it is neither started nor stopped here). */
export async function buildAuthApp(options: { dataDir?: string; maxSessions?: number; bindIp?: boolean; routes?: FastifyPluginAsync[]; store?: Store } = {}): Promise<AuthApp> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'lucid-auth-'));
  const log = silentLogger();
  const store = options.store ?? new Store({ location: join(dataDir, 'store'), log });
  if (!options.store) await store.start();
  const identity = await loadOrCreateNodeIdentity(dataDir, log);
  const ledger = createSimLedger({ seed: Uint8Array.from({ length: 32 }, (_, i) => 255 - i) });
  const flags: boolean[] = [];
  const h = { skew: 0 } as { skew: number };
  const auth = new AuthService({
    store, dataDir, log, jwtKey: await loadOrCreateJwtKey(dataDir, log), signer: identity, nodeId: identity.nodeId,
    bindIp: options.bindIp ?? false, maxSessions: options.maxSessions ?? 5,
    wallet: createLedgerTronWallet({ transport: createHidTransport({ device: ledger }) }),
    setLockdownFlag: async (v) => { flags.push(v); },
    now: () => Date.now() + h.skew,
  });
  await auth.start();
  const app = await buildApi({
    log, version: 'test', revision: 'test', identity,
    supervisor: { attached: false, snapshot: null, request: async () => { throw new Error('no supervisor'); }, onEvent: () => () => {} },
    system: { read: async () => ({ uptimeSec: 1, loadavg: null, cpuCount: 1, cpuPercent: null, memory: null, temperatureC: null, disk: null, throttled: null }) },
    metrics: new MetricsRegistry(),
    webRoot: null,
    auth: { identify: (hd, c) => auth.identify(hd, c), identifyDownload: (t, p, c) => auth.identifyDownload(t, p, c), restrict: (p, perm) => auth.restrict(p, perm) },
    routes: [...authRoutePlugins(auth), ...(options.routes ?? [])],
    // The OTA routes are wired (so the RBAC matrix covers them) to an agent that is not there.
    ota: {
      incomingDir: join(dataDir, 'ota-incoming'), maxBundleBytes: 1024 * 1024,
      status: async () => null,
      call: async () => ({ status: 409, body: { statusCode: 409, code: 'OTA_ERR_NOT_CONFIGURED', message: 'no update agent in this test' } }),
    },
  });
  let root: TokenPair | null = null;
  let made = 0;
  const self: AuthApp = {
    app, auth, store, dataDir, ledger, flags,
    get skew() { return h.skew; },
    set skew(v: number) { h.skew = v; },
    inject(opts) {
      const { token, headers, ...rest } = opts;
      return app.inject({
        remoteAddress: '127.0.0.1',
        ...rest,
        headers: { 'user-agent': UA, ...(token ? { authorization: `Bearer ${token}` } : {}), ...(headers ?? {}) },
      } as InjectOptions);
    },
    async setupRoot() {
      if (root) return root;
      const res = await self.inject({ method: 'POST', url: '/api/v1/auth/setup', payload: { code: auth.setupCode.current ?? '', username: 'root', password: PASSWORD } });
      if (res.statusCode !== 201) throw new Error(`setup failed: ${res.body}`);
      root = res.json() as TokenPair;
      return root;
    },
    async userWithRole(role, name) {
      const r = await self.setupRoot();
      if (role === 'super_admin' && !name) return { ...r, password: PASSWORD, ip: '127.0.0.1' };
      const username = name ?? `u-${role.replace('_', '-')}`;
      const created = await self.inject({ method: 'POST', url: '/api/v1/users', token: r.accessToken, payload: { username, password: PASSWORD, role } });
      if (created.statusCode === 202) {
        const approved = await self.approveWithDeviceCode(created.json().approval.id, r.accessToken);
        if (approved.statusCode !== 200) throw new Error(`grant ${role} to ${username} failed: ${approved.body}`);
      } else if (created.statusCode !== 201) throw new Error(`create ${username} failed: ${created.body}`);
      // From an address of its own: the login limit (10/min per IP) is not what the callers test.
      const ip = `10.200.${(made >> 8) & 255}.${(made++ & 255) + 1}`;
      const tokens = await self.login(username, PASSWORD, ip);
      // The new user sets its own password (the same text here): until then whoever created the
      // account knows it, and may not approve that account's two-person requests.
      const own = await self.inject({ method: 'POST', url: '/api/v1/auth/me/password', token: tokens.accessToken, remoteAddress: ip, payload: { currentPassword: PASSWORD, newPassword: PASSWORD } });
      if (own.statusCode !== 200) throw new Error(`${username} could not set its password: ${own.body}`);
      return { ...tokens, password: PASSWORD, ip };
    },
    async approveWithDeviceCode(id, token) {
      await auth.onLongPress();
      return self.inject({ method: 'POST', url: `/api/v1/approvals/${id}/approve`, token, payload: { deviceCode: auth.deviceCode.current ?? 'none' } });
    },
    async login(username, password = PASSWORD, ip = '127.0.0.1') {
      const res = await self.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress: ip, payload: { username, password } });
      if (res.statusCode !== 200) throw new Error(`login ${username} failed: ${res.statusCode} ${res.body}`);
      return res.json();
    },
    async restart() {
      await app.close();
      await auth.stop();
      if (!options.store) await store.stop();
      return buildAuthApp({ ...options, dataDir });
    },
    async close() {
      await app.close();
      await auth.stop();
      if (!options.store) await store.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return self;
}
