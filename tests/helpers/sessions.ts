// An in-process API with the real sessions service on a temp data dir (real LevelDB, real chunk
// files), for inject() tests of the session routes. `x-test-principal: <userId>:<role>` sets
// request.principal the way the auth layer will, so ownership rules can be tested before auth.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import pino from 'pino';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { buildApi, type Principal, type Role } from '../../services/api/index.js';
import { MetricsRegistry } from '../../services/common/metrics.js';
import { Store } from '../../services/store/index.js';
import { SessionService, sessionRoutes, type SessionServiceDeps } from '../../services/sessions/index.js';
import { nodeIdOf, rawPublicKey } from '../../services/identity/node-identity.js';
import { sign } from 'node:crypto';

export interface SessionApi {
  readonly app: FastifyInstance;
  readonly service: SessionService;
  readonly store: Store;
  readonly dataDir: string;
  readonly publicKeyHex: string;
  /** Stops everything; removes the data dir unless `keep`. */
  close(keep?: boolean): Promise<void>;
}

const principalFromHeader: FastifyPluginAsync = async (app) => {
  app.addHook('onRequest', async (request) => {
    const h = request.headers['x-test-principal'];
    if (typeof h === 'string') {
      const [userId, role] = h.split(':') as [string, Role];
      request.principal = { userId, username: userId, role } satisfies Principal;
    }
  });
};
(principalFromHeader as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

export async function startSessionApi(options: Partial<SessionServiceDeps> & { dataDir?: string } = {}): Promise<SessionApi> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'lucid-sess-'));
  const log = pino({ level: process.env['LUCID_TEST_LOG'] ?? 'silent' });
  const store = new Store({ location: join(dataDir, 'store'), log });
  await store.start();
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = rawPublicKey(publicKey);
  const identity = { nodeId: nodeIdOf(raw), publicKeyHex: raw.toString('hex'), sign: (m: Uint8Array) => sign(null, m, privateKey) };
  const quotaBytes = options.quotaBytes ?? 1024 ** 3;
  const service = new SessionService({
    store, dataDir, log, identity, quotaBytes, reserveBytes: options.reserveBytes ?? 0, defaultCipher: options.defaultCipher ?? 'aes-256-gcm', ...options,
  });
  await service.start();
  const app = await buildApi({
    log, version: 'test', revision: 'test', identity,
    supervisor: { attached: false, snapshot: null, request: async () => { throw new Error('no supervisor'); }, onEvent: () => () => {} },
    system: { read: async () => { throw new Error('no system'); } },
    metrics: new MetricsRegistry(),
    webRoot: null,
    routes: [principalFromHeader, sessionRoutes({ service, quotaBytes })],
  });
  return {
    app, service, store, dataDir, publicKeyHex: identity.publicKeyHex,
    async close(keep = false) {
      await app.close();
      await service.stop();
      await store.stop();
      if (!keep) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
