// While core is down the supervisor answers on the API ports itself (appliance/supervisor/
// listeners.ts, recovery.ts): /healthz 503 with the reasons, a read-only recovery page with the
// failing child's last log lines and its retry, the same plain-HTTP rule and the same certificate;
// and the sockets never stop listening — a killed core costs at most the request it was answering.
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { request as httpRequest, Agent } from 'node:http';
import { SETTINGS } from '../../../appliance/config/index.js';
import { ROOT, startAppliance, childPidOf, isRunning, type RunningAppliance } from '../../helpers/appliance.js';
import { createNetns, type Netns } from '../../helpers/netns.js';
import { descriptorsOf, listeningInode } from '../../helpers/sockets.js';
import { applianceCertificate, pinnedFetch } from '../../helpers/tls.js';

let app: RunningAppliance | undefined;
let ns: Netns | undefined;
afterEach(async () => {
  await app?.cleanup();
  ns?.destroy();
  app = undefined;
  ns = undefined;
});

// Core by its entry (the tree also holds the ota-agent, whose pid may come first once core restarted).
const coreOf = (a: RunningAppliance): number => childPidOf(a.pid, 'core')!;

function get(host: string, port: number, path: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host, port, path, method, headers, agent: new Agent({ keepAlive: false }) }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the API\'s sockets belong to the supervisor', () => {
  it('core accepts on its descriptors, the supervisor keeps one of each without accepting, and a killed core refuses no connection', async () => {
    app = await startAppliance();
    await app.waitHealthy(30_000);
    const descriptors = SETTINGS.find((s) => s.key === 'apiAcceptDescriptors')!.default('dev') as number;
    const core = coreOf(app);
    for (const port of [app.port, app.httpsPort]) {
      const inode = listeningInode(port);
      await app.waitFor(`core's descriptors of ${port}`, async () => descriptorsOf(core, inode) === descriptors, 5_000);
      expect(descriptorsOf(app.pid, inode)).toBe(1);
    }

    // New connections one after another while core is killed: each is answered, by core or by
    // the supervisor; only a request core was in the middle of may be cut.
    const statuses: number[] = [];
    const errors: string[] = [];
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        try {
          statuses.push((await get('127.0.0.1', app!.port, '/healthz')).status);
        } catch (err) {
          errors.push((err as NodeJS.ErrnoException).code ?? String(err));
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    process.kill(core, 'SIGKILL');
    await app.waitFor('core gone', async () => !isRunning(core), 5_000);
    await app.waitFor('a 503 from the supervisor', async () => statuses.includes(503), 5_000);
    await app.waitHealthy(30_000);
    const seen = statuses.length;
    await app.waitFor('more answers from the new core', async () => statuses.length > seen + 20, 5_000);
    stop = true;
    await loop;
    expect(errors.filter((e) => e !== 'ECONNRESET' && e !== 'UND_ERR_SOCKET')).toEqual([]);
    expect(errors.length).toBeLessThanOrEqual(1);
    expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
    expect(statuses.at(-1)).toBe(200);
    // The new core has the sockets again; the supervisor still one descriptor of each.
    const again = coreOf(app);
    expect(again).not.toBe(core);
    for (const port of [app.port, app.httpsPort]) {
      const inode = listeningInode(port);
      await app.waitFor(`the new core's descriptors of ${port}`, async () => descriptorsOf(again, inode) === descriptors, 5_000);
      expect(descriptorsOf(app.pid, inode)).toBe(1);
    }
  }, 60_000);

  it('a core that cannot start: /healthz 503 with reasons, the recovery page with its last lines and retry, the plain-HTTP rule; repaired, it comes back', async () => {
    ns = createNetns();
    app = await startAppliance({ wrap: ns.exec, env: { LUCID_HOST: '0.0.0.0' }, host: ns.nsAddress });
    await app.waitHealthy(30_000);
    const https = pinnedFetch(applianceCertificate(app.dataDir));
    const keyFile = join(app.dataDir, 'keys/node-ed25519.pem');
    writeFileSync(keyFile, 'not a key\n');
    process.kill(coreOf(app), 'SIGKILL');

    const health = await app.waitFor('/healthz 503 from the supervisor', async () => {
      const r = await https(`${app!.httpsUrl}/healthz`);
      return r.status === 503 ? r.json() as Promise<{ status: string; reasons: string[] }> : undefined;
    }, 10_000);
    expect(health.status).toBe('unavailable');
    expect(health.reasons.join()).toMatch(/core is (backoff|starting)/);
    const page = await app.waitFor('the failing start in the recovery page', async () => {
      const text = await (await https(`${app!.httpsUrl}/`)).text();
      return text.includes('ID_ERR_KEY_INVALID') ? text : undefined;
    }, 15_000);
    expect(page).toContain('The appliance is not serving right now');
    expect(page).toMatch(/core failed to start — ID_ERR_KEY_INVALID: .*node-ed25519\.pem is not a readable private key/);
    expect(page).toMatch(/retry scheduled at|starting now/);
    expect(page).not.toMatch(/SETUP CODE: [0-9A-Z]{4}-/); // printed for the console, never on a page
    const api = await https(`${app.httpsUrl}/api/v1/status`);
    expect(api.status).toBe(503);
    expect(await api.json()).toMatchObject({ code: 'API_ERR_UNAVAILABLE', details: { reasons: [expect.stringMatching(/^core is/)] } });
    // Plain HTTP from the LAN: the supervisor applies the same rule as core.
    expect((await get(ns.nsAddress, app.port, '/healthz')).status).toBe(503);
    expect((await get(ns.nsAddress, app.port, '/metrics')).status).toBe(503);
    const redirect = await get(ns.nsAddress, app.port, '/', { host: `${ns.nsAddress}:${app.port}` });
    expect(redirect.status).toBe(308);
    expect(redirect.headers['location']).toBe(`https://${ns.nsAddress}:${app.httpsPort}/`);
    const login = await get(ns.nsAddress, app.port, '/api/v1/auth/login', { 'content-type': 'application/json' }, 'POST', '{"username":"a","password":"b"}');
    expect(login.status).toBe(403);
    expect(JSON.parse(login.body)).toMatchObject({ code: 'API_ERR_HTTPS_REQUIRED' });
    expect((await get(ns.nsAddress, app.port, '/healthz', { authorization: 'Bearer x' })).status).toBe(403);

    // Repaired (the bad key removed: core makes a new identity), core comes back by itself.
    await rm(keyFile);
    await app.waitFor('core healthy again', async () => (await https(`${app!.httpsUrl}/healthz`)).status === 200, 30_000);
    expect((await https(`${app.httpsUrl}/`)).status).toBe(200);
  }, 90_000);

  it('gives the sockets and the TLS key to core only: another child asking gets nothing', async () => {
    const thief = { name: 'thief', entry: join(ROOT, 'tests/fixtures/children/socket-thief.mjs'), after: ['core'] };
    app = await startAppliance({ env: { LUCID_EXTRA_CHILDREN: JSON.stringify([thief]) } });
    await app.waitHealthy(30_000);
    await app.waitFor('the thief\'s report', async () => app!.output().includes('socket-thief fixture: received'), 15_000);
    expect(app.output()).toContain('socket-thief fixture: received nothing');
    expect(app.output()).toMatch(/"child":"thief".*refused the API sockets/);
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200); // core still serves
  }, 60_000);
});
