// The appliance's core as core.ts assembles it (appliance/entries/shared/assemble-core.ts: the
// store, auth, sessions, the ledger — standalone, started — and the API with the full route
// set) on a LevelDB in a temp dir, in this process, for inject() and real-HTTP tests. The one
// stand-in is the supervisor across the IPC channel: its real request handler and update
// locks (appliance/supervisor/requests.ts, locks.ts) in-process, with a simulated HAL.
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InjectOptions, LightMyRequestResponse as LightResponse } from 'fastify';
import { loadConfig, type Config } from '../../appliance/config/index.js';
import { assembleCore, type CoreParts } from '../../appliance/entries/shared/assemble-core.js';
import { createCoreWallet, walletBroker } from '../../appliance/entries/shared/core-wallet.js';
import { TlsIdentity } from '../../appliance/tls/index.js';
import { handleRequest } from '../../appliance/supervisor/requests.js';
import { UpdateLocks } from '../../appliance/supervisor/locks.js';
import { patternFor } from '../../hal/leds/patterns.js';
import { LifecycleStack } from '../../services/common/lifecycle.js';
import { silentLogger } from '../../services/common/log.js';
import type { ButtonAction, HalEvent, RequestMap, RequestOp, SupervisorSnapshot } from '../../services/common/ipc.js';
import type { SupervisorView } from '../../services/api/index.js';
import type { TokenPair } from '../../services/auth/index.js';
import type { Role } from '../../services/api/index.js';

export const UA = 'lucid-test/1.0';
export const PASSWORD = 'violet-anchor-41-drift';

export interface CoreApp extends CoreParts {
  readonly config: Readonly<Config>;
  readonly dataDir: string;
  /** Supervisor flags core set (the lockdown LED flag). */
  readonly flags: Record<string, boolean>;
  /** The clock auth sees: real time plus `skew` ms. */
  skew: number;
  inject(opts: InjectOptions & { token?: string }): Promise<LightResponse>;
  /** Runs setup (first super_admin "root") and returns its tokens. */
  setupRoot(): Promise<TokenPair>;
  /** Creates a user of `role` as root and logs it in (admin grants confirmed with the device code). */
  userWithRole(role: Role, name?: string): Promise<TokenPair & { password: string; ip: string }>;
  login(username: string, password?: string, ip?: string): Promise<TokenPair>;
  /** Approves request `id` as `token`'s user with the device code of a long press. */
  approveWithDeviceCode(id: string, token: string): Promise<LightResponse>;
  close(): Promise<void>;
}

/** The supervisor side of the IPC channel, in-process: real request handling and locks. */
function inProcessSupervisor(): SupervisorView & { flags: Record<string, boolean> } {
  const locks = new UpdateLocks();
  const flags: Record<string, boolean> = {};
  const listeners = new Set<(e: HalEvent) => void>();
  const started = Date.now();
  const target = {
    locks,
    requestRestart: () => false,
    setFlag: (name: string, value: boolean) => { flags[name] = value; },
    // The event reaches core as over IPC; arming a factory reset is the real supervisor's (not here).
    pressButton: (action: ButtonAction) => { for (const l of listeners) l({ kind: 'button', action, at: Date.now() }); return null; },
    buttonSimulated: true,
    markDirty: () => {},
    // The OTA hand-over belongs to the update agent; core never asks for it.
    updateHolder: null,
    prepareUpdate: async () => ({ ok: false as const, holders: [] }),
    cancelUpdate: () => {},
    switchSlots: () => {},
  };
  return {
    attached: true,
    flags,
    get snapshot(): SupervisorSnapshot {
      const state = flags['lockdown'] ? 'lockdown' : 'ready';
      return {
        version: 'test', pid: process.pid, startedAt: started, healthy: true, reasons: [],
        children: [{ name: 'core', critical: true, phase: 'ready', pid: process.pid, restarts: 0, startedAt: started, readyAt: started, nextStartAt: null, lastExit: null, failedReason: null, failedSince: null }],
        led: { state, steps: patternFor(state), since: started, drivers: ['sim'], simulatedOn: null },
        locks: locks.list(), flags: { ...flags }, hal: { mode: 'sim', watchdog: null, button: 'sim' }, at: Date.now(),
      };
    },
    request: async <Op extends RequestOp>(op: Op, args: RequestMap[Op]['args']) => handleRequest(target, 'core', op, args) as Promise<RequestMap[Op]['result']>,
    onEvent: (l) => { listeners.add(l); return () => listeners.delete(l); },
  };
}

export async function startCoreApp(options: { env?: Record<string, string>; dataDir?: string } = {}): Promise<CoreApp> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'lucid-core-'));
  const loaded = loadConfig({
    env: { LUCID_PROFILE: 'dev', LUCID_HAL: 'sim', LUCID_WALLET: 'sim', LUCID_MDNS: 'off', LUCID_DATA_DIR: dataDir, LUCID_LOG_LEVEL: 'silent', ...options.env },
    isPi: () => false,
  });
  if (!loaded.ok) throw new Error(`test config: ${loaded.key}: ${loaded.message}`);
  const config = loaded.config;
  const log = silentLogger();
  const supervisor = inProcessSupervisor();
  const stack = new LifecycleStack();
  const clock = { skew: 0 };
  // The appliance's own certificate, as core serves it: its routes are in the route set. The
  // plain-HTTP rule is left out: inject()'s fake socket has no address (tests/integration/https/
  // tests it over real sockets).
  const identity = await TlsIdentity.load({ dataDir, host: config.host, tlsCert: config.tlsCert, tlsKey: config.tlsKey }, log);
  if (!identity.ok) throw new Error(`test TLS: ${identity.key}: ${identity.message}`);
  const tls = identity.identity.material;
  const parts = await assembleCore({
    config, log, supervisor, stack, webRoot: null, now: () => Date.now() + clock.skew,
    wallet: await createCoreWallet(config, log), acquireWallet: walletBroker(supervisor),
    tls: { httpsPort: config.httpsPort, info: () => tls, certificatePem: () => tls.certPem }, withoutPlainHttpRule: true,
    // The OTA routes are there (the RBAC matrix covers them), in front of an appliance that has
    // no update agent: it answers what a dev appliance without slots would.
    ota: {
      incomingDir: join(dataDir, 'ota', 'incoming'), maxBundleBytes: 1024 * 1024,
      status: async () => null,
      call: async () => ({ status: 409, body: { statusCode: 409, code: 'OTA_ERR_NOT_CONFIGURED', message: 'no update agent in this test app' } }),
    },
  });
  await stack.start('ledger', parts.ledger);
  const { app, auth } = parts;
  let root: TokenPair | null = null;
  let made = 0;
  const self: CoreApp = {
    ...parts, config, dataDir, flags: supervisor.flags,
    get skew() { return clock.skew; },
    set skew(v: number) { clock.skew = v; },
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
      return (root = res.json() as TokenPair);
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
    async login(username, password = PASSWORD, ip = '127.0.0.1') {
      const res = await self.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress: ip, payload: { username, password } });
      if (res.statusCode !== 200) throw new Error(`login ${username} failed: ${res.statusCode} ${res.body}`);
      return res.json();
    },
    async approveWithDeviceCode(id, token) {
      // The simulated button, as a person presses it: through the supervisor's real request handler.
      await supervisor.request('hal.button', { action: 'long' });
      for (let i = 0; i < 100 && auth.deviceCode.current === null; i++) await new Promise((r) => setTimeout(r, 5));
      return self.inject({ method: 'POST', url: `/api/v1/approvals/${id}/approve`, token, payload: { deviceCode: auth.deviceCode.current ?? 'none' } });
    },
    async close() {
      await app.close();
      await stack.stop({ deadline: Date.now() + 10_000 });
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return self;
}
