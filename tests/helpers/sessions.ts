// An in-process API with the real sessions service under the real auth service and RBAC, on a
// temp data dir (real LevelDB, real chunk files), for inject() tests of the session routes.
// `app.inject()` sends the test super_admin's token unless the request brings its own
// Authorization header (an empty one: no credentials at all); `as(role, name)` makes (or logs in) another user and gives its headers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import type { Role } from '../../services/api/index.js';
import { silentLogger } from '../../services/common/log.js';
import { Store } from '../../services/store/index.js';
import { loadOrCreateNodeIdentity } from '../../services/identity/index.js';
import { SessionService, sessionRoutes, type SessionServiceDeps } from '../../services/sessions/index.js';
import { buildAuthApp, PASSWORD, UA, type AuthApp } from './auth-app.js';

export interface SessionApi {
  readonly app: { inject(opts: InjectOptions): Promise<LightMyRequestResponse> };
  readonly auth: AuthApp;
  readonly service: SessionService;
  readonly store: Store;
  readonly dataDir: string;
  readonly publicKeyHex: string;
  /** The test super_admin's user id (the owner of sessions it creates). */
  readonly rootId: string;
  /** Authorization headers of a user with `role` named `name` (created on first use). */
  as(role: Role, name: string): Promise<{ headers: { authorization: string }; userId: string }>;
  /** Stops everything; removes the data dir unless `keep`. */
  close(keep?: boolean): Promise<void>;
}

const userIdOf = (accessToken: string): string =>
  (JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()) as { sub: string }).sub;

export async function startSessionApi(options: Partial<SessionServiceDeps> & { dataDir?: string } = {}): Promise<SessionApi> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'lucid-sess-'));
  const log = silentLogger();
  const store = new Store({ location: join(dataDir, 'store'), log });
  await store.start();
  const identity = await loadOrCreateNodeIdentity(dataDir, log);
  const quotaBytes = options.quotaBytes ?? 1024 ** 3;
  let auth: AuthApp | null = null;
  // Wired to the emergency controls the way appliance/entries/core.ts does.
  const service = new SessionService({
    store, dataDir, log, identity, quotaBytes, reserveBytes: options.reserveBytes ?? 0, defaultCipher: options.defaultCipher ?? 'aes-256-gcm',
    mayCreate: () => auth?.auth.emergency.newSessionsAllowed ?? true, ...options,
  });
  await service.start();
  auth = await buildAuthApp({ dataDir, store, routes: [sessionRoutes({ service, quotaBytes })] });
  auth.auth.registerSessionStopper(() => service.stopAll());
  // Setup on a fresh dir; on a reopened one the setup code is burnt and root logs in.
  const root = auth.auth.setupCode.current ? await auth.setupRoot() : await auth.login('root');
  const tokens = new Map<string, string>();
  const a = auth;
  return {
    auth: a, service, store, dataDir, publicKeyHex: identity.publicKeyHex,
    rootId: userIdOf(root.accessToken),
    app: {
      inject: (opts) => {
        const headers: Record<string, unknown> = { 'user-agent': UA, authorization: `Bearer ${root.accessToken}`, ...(opts.headers ?? {}) };
        if (headers['authorization'] === '') delete headers['authorization']; // '' means: anonymous
        return a.app.inject({ remoteAddress: '127.0.0.1', ...opts, headers } as InjectOptions);
      },
    },
    async as(role, name) {
      let token = tokens.get(name);
      if (!token) {
        const made = await a.inject({ method: 'POST', url: '/api/v1/users', token: root.accessToken, payload: { username: name, password: PASSWORD, role } });
        if (made.statusCode === 202) {
          // An admin grant is a two-person action; only root exists to ask, so the device code confirms it.
          const approved = await a.approveWithDeviceCode(made.json().approval.id, root.accessToken);
          if (approved.statusCode !== 200) throw new Error(`grant ${role} to ${name} failed: ${approved.body}`);
        } else if (made.statusCode !== 201 && made.statusCode !== 409) throw new Error(`create ${name} failed: ${made.body}`);
        // Each test user logs in from its own address: the login limit (10/min per IP) is not what these tests test.
        const ip = `10.9.${tokens.size >> 8}.${(tokens.size & 255) + 1}`;
        token = (await a.login(name, PASSWORD, ip)).accessToken;
        // It sets its own password (the same text): until then root knows it and may not approve its requests.
        await a.inject({ method: 'POST', url: '/api/v1/auth/me/password', token, remoteAddress: ip, payload: { currentPassword: PASSWORD, newPassword: PASSWORD } });
        tokens.set(name, token);
      }
      return { headers: { authorization: `Bearer ${token}` }, userId: userIdOf(token) };
    },
    async close(keep = false) {
      await a.app.close();
      await a.auth.stop();
      await service.stop();
      await store.stop();
      if (!keep) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
