// The appliance on a LAN address: run in its own network namespace, reached over a veth pair, so
// every request arrives on an address that is not loopback (as from another machine). Plain HTTP
// then serves /healthz and /metrics, redirects pages and refuses — without looking at it —
// anything that could carry a credential; and when the appliance's addresses change, its
// certificate is re-issued for the new set with the same key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { X509Certificate, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { TEST_ADMIN, startAppliance, treePids, type RunningAppliance } from '../../helpers/appliance.js';
import { createNetns, type Netns } from '../../helpers/netns.js';
import { applianceCertificate, handshake, pinnedFetch } from '../../helpers/tls.js';

let ns: Netns;
let app: RunningAppliance;
const UA = 'lucid-lan-test';

beforeAll(async () => {
  ns = createNetns();
  app = await startAppliance({ wrap: ns.exec, env: { LUCID_HOST: '0.0.0.0' }, host: ns.nsAddress });
  await app.waitHealthy(30_000);
}, 60_000);

afterAll(async () => {
  await app?.cleanup();
  ns?.destroy();
});

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: string }

/** One plain HTTP request exactly as given (fetch would add or drop headers). */
function plain(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: ns.nsAddress, port: app.port, method, path, headers: { 'user-agent': UA, ...headers } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const https = (): ReturnType<typeof pinnedFetch> => pinnedFetch(applianceCertificate(app.dataDir));

async function loginOverHttps(password: string = TEST_ADMIN.password): Promise<{ status: number; accessToken?: string; refreshToken?: string }> {
  const r = await https()(`${app.httpsUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': UA }, body: JSON.stringify({ username: TEST_ADMIN.username, password }) });
  return { status: r.status, ...(await r.json() as object) };
}

describe('plain HTTP on a LAN address', () => {
  it('serves /healthz and /metrics, redirects pages to HTTPS, and refuses every request that could carry a credential', async () => {
    // Set up over HTTPS (the certificate names the LAN address: checked by the client).
    const setup = await https()(`${app.httpsUrl}/api/v1/auth/setup`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': UA },
      body: JSON.stringify({ code: readFileSync(join(app.dataDir, 'setup-code'), 'utf8').trim(), ...TEST_ADMIN }),
    });
    expect(setup.status).toBe(201);
    const { accessToken, refreshToken } = await loginOverHttps();
    expect(accessToken).toBeTruthy();

    expect((await plain('GET', '/healthz')).status).toBe(200);
    const metrics = await plain('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^lucid_healthy 1$/m);
    for (const page of ['/', '/docs', '/index.html', '/no-such-page']) {
      const r = await plain('GET', page, { host: `${ns.nsAddress}:${app.port}` });
      expect(r.status, page).toBe(308);
      expect(r.headers.location).toBe(`https://${ns.nsAddress}:${app.httpsPort}${page}`);
    }
    // A browser that came by name is sent to the same name.
    expect((await plain('GET', '/', { host: `lucid.local:${app.port}` })).headers.location).toBe(`https://lucid.local:${app.httpsPort}/`);

    const json = { 'content-type': 'application/json' };
    const refused: Array<[string, string, Record<string, string>, string?]> = [
      ['POST', '/api/v1/auth/login', json, JSON.stringify({ username: TEST_ADMIN.username, password: TEST_ADMIN.password })],
      ['POST', '/api/v1/auth/setup', json, JSON.stringify({ code: 'AAAA-BBBB-CCCC-DDDD', username: 'x', password: 'y' })],
      ['POST', '/api/v1/auth/refresh', json, JSON.stringify({ refreshToken })],
      ['GET', '/api/v1/auth/me', { authorization: `Bearer ${accessToken}` }],
      ['GET', '/healthz', { authorization: `Bearer ${accessToken}` }],
      ['GET', '/metrics', { authorization: 'Basic cm9vdDpwdw==' }],
      ['GET', '/', { 'proxy-authorization': 'Basic cm9vdDpwdw==' }],
      ['GET', '/', { cookie: 'session=abc' }],
      ['GET', `/api/v1/sessions/00000000-0000-4000-8000-000000000000/content?token=${accessToken}`, {}],
      ['GET', '/?token=abc', {}],
      ['GET', '/', { 'content-length': '5' }, 'hello'],
      ['GET', '/', { connection: 'upgrade', upgrade: 'websocket' }],
      ['DELETE', '/api/v1/auth/sessions/x', {}],
      ['GET', '/api/v1/tls', {}], // an API call, even without a credential
    ];
    for (const [method, path, headers, body] of refused) {
      const r = await plain(method, path, headers, body);
      expect(r.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(403);
      const error = JSON.parse(r.body) as { code: string; details: { https: string } };
      expect(error.code).toBe('API_ERR_HTTPS_REQUIRED');
      expect(error.details.https).toBe(`https://${ns.nsAddress}:${app.httpsPort}${path.split('?')[0]}`);
    }
  }, 60_000);

  it('a download token link works over HTTPS on the LAN address; the same valid link over plain HTTP is refused', async () => {
    const { accessToken } = await loginOverHttps();
    const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
      const r = await https()(`${app.httpsUrl}${path}`, {
        method, headers: { authorization: `Bearer ${accessToken}`, 'user-agent': UA, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: r.status, json: await r.json() };
    };
    const data = randomBytes(100 * 1024);
    const created = await call('POST', '/api/v1/sessions', { chunkSize: 64 * 1024 });
    expect(created.status).toBe(201);
    const id = created.json.id as string;
    expect((await call('POST', `/api/v1/sessions/${id}/start`)).status).toBe(200);
    const put = await https()(`${app.httpsUrl}/api/v1/sessions/${id}/data?offset=0`, {
      method: 'PUT', headers: { authorization: `Bearer ${accessToken}`, 'user-agent': UA, 'content-type': 'application/octet-stream' }, body: data,
    });
    expect(put.status).toBe(200);
    expect((await call('POST', `/api/v1/sessions/${id}/stop`)).status).toBe(200);
    expect((await call('POST', `/api/v1/sessions/${id}/finalize`)).json.state).toBe('completed');
    const issued = await call('POST', '/api/v1/auth/download-token', { path: `/api/v1/sessions/${id}/content` });
    expect(issued.status).toBe(200);
    // The link alone, no header, as a browser download sends it.
    const down = await https()(`${app.httpsUrl}${issued.json.url}`, { headers: { 'user-agent': UA } });
    expect(down.status).toBe(200);
    expect(Buffer.from(await down.arrayBuffer()).equals(data)).toBe(true);
    const clear = await plain('GET', issued.json.url);
    expect(clear.status).toBe(403);
    expect(JSON.parse(clear.body).code).toBe('API_ERR_HTTPS_REQUIRED');
  }, 60_000);

  it('a refused login is never looked at: wrong passwords sent in clear do not even count toward the lockout', async () => {
    for (let i = 0; i < 7; i++) {
      const r = await plain('POST', '/api/v1/auth/login', { 'content-type': 'application/json' }, JSON.stringify({ username: TEST_ADMIN.username, password: `wrong-password-${i}` }));
      expect(r.status).toBe(403);
    }
    // Five wrong passwords lock an account; seven refused ones did not, so none reached auth.
    expect((await loginOverHttps()).status).toBe(200);
    // Control: over HTTPS the same wrong passwords do count (the lockout is live).
    for (let i = 0; i < 5; i++) expect((await loginOverHttps(`wrong-password-${i}`)).status).toBe(401);
    expect((await loginOverHttps()).status).toBe(423);
  }, 60_000);
});

describe('the certificate follows the appliance\'s addresses', () => {
  it('re-issues for a new address with the same key (the public-key fingerprint stays), on core and on the supervisor\'s own HTTPS', async () => {
    const before = new X509Certificate(applianceCertificate(app.dataDir));
    const keyBefore = readFileSync(join(app.dataDir, 'keys/tls-p256.pem'), 'utf8');
    const info0 = await (await https()(`${app.httpsUrl}/api/v1/tls`)).json() as { names: string[]; spkiSha256Base64: string; publicKeySha256: string };
    expect(info0.names).toContain(ns.nsAddress);
    expect(info0.names).not.toContain('10.254.77.1');
    // A second address inside the appliance's namespace (a new DHCP lease, a second network).
    ns.ip('addr', 'add', '10.254.77.1/32', 'dev', ns.nsInterface);
    const after = await app.waitFor('the re-issued certificate', async () => {
      const served = (await handshake(ns.nsAddress, app.httpsPort)).certificate;
      return served.fingerprint256 !== before.fingerprint256 ? new X509Certificate(served.raw) : undefined;
    }, 20_000);
    expect(after.subjectAltName).toContain('IP Address:10.254.77.1');
    expect(after.subjectAltName).toContain(`IP Address:${ns.nsAddress}`);
    expect(after.publicKey.export({ type: 'spki', format: 'der' })).toEqual(before.publicKey.export({ type: 'spki', format: 'der' }));
    expect(readFileSync(join(app.dataDir, 'keys/tls-p256.pem'), 'utf8')).toBe(keyBefore);
    expect(new X509Certificate(applianceCertificate(app.dataDir)).fingerprint256).toBe(after.fingerprint256);
    const info1 = await (await https()(`${app.httpsUrl}/api/v1/tls`)).json() as typeof info0;
    expect(info1.spkiSha256Base64).toBe(info0.spkiSha256Base64);
    expect(info1.publicKeySha256).toBe(info0.publicKeySha256);
    expect(info1.names).toContain('10.254.77.1');

    // The supervisor answers with the same new certificate while core is down.
    const [core] = treePids(app.pid).filter((p) => p !== app.pid); // the supervisor's only child
    process.kill(core!, 'SIGKILL');
    const page = await app.waitFor('the recovery page', async () => {
      const r = await https()(`${app.httpsUrl}/`); // verified against the re-issued certificate
      return r.status === 503 ? r.text() : undefined;
    }, 10_000);
    expect(page).toContain('The appliance is not serving right now');
    expect(page).toContain(after.fingerprint256);
    await app.waitHealthy(30_000);
  }, 60_000);
});
