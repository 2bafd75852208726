// The agent's fleet client (ota/client/fleet) against a real fleet server behind a real HTTPS
// listener (node:https, an ECDSA P-256 certificate made here with the appliance's certificate
// code): the pin of pin-spec.md — from the token, or trust on first use — is required on every
// connection, a mismatch sends nothing (the server sees no request, the token stays unspent)
// and shows "fleet certificate changed"; plain http only on loopback. And a fleet that assigns a
// release the channel's TUF metadata does not sign is refused before anything is downloaded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { createServer as createHttps, request as httpsRequest, type Server as HttpsServer } from 'node:https';
import { createServer as createHttp, request as httpRequest, type IncomingMessage, type ServerResponse, type Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueSelfSigned } from '../../../appliance/tls/index.js';
import { loadOrCreateNodeIdentity } from '../../../services/identity/index.js';
import { silentLogger } from '../../../services/common/log.js';
import { Agent } from '../../../ota/client/agent.js';
import { FleetClient } from '../../../ota/client/fleet/fleet-client.js';
import { checkFleetUrl, parseToken, spkiPin } from '../../../ota/client/fleet/pin.js';
import { startChannelRepo, startFleet, until, type TestChannelRepo, type TestFleet } from '../../helpers/fleet.js';

interface Tls { key: string; cert: string; pin: string }
function makeTls(): Tls {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const cert = issueSelfSigned(privateKey, ['127.0.0.1']);
  const spki = new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' });
  return { key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, cert, pin: createHash('sha256').update(spki).digest('base64url') };
}

/** HTTPS (or, with no certificate, plain HTTP) in front of the fleet; counts the requests that got through. */
class Front {
  requests = 0;
  server: HttpsServer | HttpServer | null = null;
  port = 0;
  constructor(readonly backend: string) {}
  async listen(tls: Tls | null): Promise<void> {
    const b = new URL(this.backend);
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      this.requests++;
      const forward = b.protocol === 'https:' ? httpsRequest : httpRequest;
      // The fleet behind is reached as it is (its own certificate is not what this test is about).
      const up = forward({ host: b.hostname, port: b.port, path: req.url, method: req.method, headers: { ...req.headers, connection: 'close' }, agent: false, rejectUnauthorized: false }, (r) => { res.writeHead(r.statusCode!, r.headers); r.pipe(res); });
      req.pipe(up);
    };
    this.server = tls ? createHttps({ key: tls.key, cert: tls.cert }, handler) : createHttp(handler);
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', () => r()));
    this.port = (this.server!.address() as { port: number }).port;
    this.tls = tls !== null;
  }
  private tls = true;
  async swap(tls: Tls): Promise<void> { await this.close(); await this.listen(tls); }
  async close(): Promise<void> { this.server?.closeAllConnections(); await new Promise((r) => this.server?.close(r)); }
  get url(): string { return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`; }
}

interface Device { dir: string; agent: Agent; client: FleetClient; id: string }
const devices: Device[] = [];

async function device(url: string | null, token: string | null, rootJson?: string): Promise<Device> {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-agent-'));
  const id = (await loadOrCreateNodeIdentity(dir, silentLogger())).nodeId;
  const otaDir = join(dir, 'ota');
  await mkdir(otaDir, { recursive: true });
  if (rootJson) await writeFile(join(dir, 'root.json'), rootJson);
  const agent = new Agent({
    log: silentLogger(), supervisor: null,
    config: {
      dataDir: dir, otaDir, hostDir: null, url: null, channel: 'stable', intervalMs: null, soakMs: 1000, healthTimeoutMs: 60_000, autoInstall: false, bundleDir: null,
      trustRootFile: join(dir, 'root.json'), buildTime: 0, version: '1.0.0', arch: 'amd64', reserveBytes: 0, selftestEntry: '/nonexistent', selftestEnv: {},
    },
  });
  await agent.start();
  const client = new FleetClient({ log: silentLogger(), agent, dataDir: dir, otaDir, version: '1.0.0', arch: 'amd64', url, token });
  agent.fleet = client;
  await client.start();
  const d = { dir, agent, client, id };
  devices.push(d);
  return d;
}

let fleet: TestFleet;
let front: Front;
let plain: Front;
let tlsA: Tls;
beforeAll(async () => {
  fleet = await startFleet({ config: { checkinIntervalS: 1 } });
  tlsA = makeTls();
  front = new Front(fleet.url);
  await front.listen(tlsA);
  plain = new Front(fleet.url);
  await plain.listen(null);
}, 60_000);
afterAll(async () => {
  await Promise.all(devices.map(async (d) => { await d.agent.stop(); await rm(d.dir, { recursive: true, force: true }); }));
  await front?.close();
  await plain?.close();
  await fleet?.stop();
});

// The secret only: the tests append the pin of the certificate they put in front (a fleet that
// speaks HTTPS itself appends its own pin after the dot).
const newToken = async (): Promise<string> => ((await fleet.call('POST', '/api/v1/enrollment-tokens', { tags: ['lab'] })).body.token as string).split('.')[0]!;
const seen = async (id: string): Promise<number | null> => ((await fleet.call('GET', `/api/v1/devices/${id}`)).body?.lastSeenAt as number | undefined) ?? null;

describe('fleet client: URL and token rules (pin-spec.md)', () => {
  it('https anywhere; http only on loopback, with a warning; tokens with and without a pin', () => {
    expect(checkFleetUrl('https://fleet.example.com/').warning).toBeNull();
    expect(checkFleetUrl('http://127.0.0.1:8090').warning).toMatch(/loopback/);
    expect(checkFleetUrl('http://[::1]:8090').warning).toMatch(/loopback/);
    for (const bad of ['http://192.168.1.5:8090', 'http://fleet.example.com', 'ftp://127.0.0.1', 'not a url']) {
      expect(() => checkFleetUrl(bad), bad).toThrow(expect.objectContaining({ code: 'OTA_ERR_FLEET_URL' }));
    }
    const pin = tlsA.pin;
    expect(pin).toHaveLength(43);
    expect(parseToken(`lft_abcdefghijkl.${pin}`)).toEqual({ secret: 'lft_abcdefghijkl', pin });
    expect(parseToken('lft_abcdefghijkl')).toEqual({ secret: 'lft_abcdefghijkl', pin: null });
    expect(() => parseToken('lft_abcdefghijkl.short')).toThrow(expect.objectContaining({ code: 'OTA_ERR_FLEET_TOKEN' }));
    expect(spkiPin(new X509Certificate(tlsA.cert).raw)).toBe(pin);
  });
});

describe('fleet client over HTTPS with a pinned certificate', () => {
  it('a token whose pin is not the server\'s: refused before the token is sent (the server saw nothing; the token still works)', async () => {
    const token = await newToken();
    const other = makeTls();
    const before = front.requests;
    const d = await device(null, null);
    await expect(d.client.enroll(front.url, `${token}.${other.pin}`)).rejects.toMatchObject({ code: 'OTA_ERR_FLEET_PIN' });
    expect(front.requests).toBe(before);
    expect(d.client.status()).toMatchObject({ enrolled: false });
    // The same token with the right pin: it was never spent.
    const s = await d.client.enroll(front.url, `${token}.${tlsA.pin}`);
    expect(s).toMatchObject({ enrolled: true, pin: tlsA.pin, pinSource: 'token', fleetId: fleet.fleetId, deviceId: d.id });
    const persisted = JSON.parse(await readFile(join(d.dir, 'ota/fleet.json'), 'utf8'));
    expect(persisted).toMatchObject({ pin: tlsA.pin, fleetId: fleet.fleetId, deviceId: d.id, url: front.url });
    await until('checked in', async () => (await seen(d.id)) !== null && d.client.status().lastCheckinAt !== null, 20_000, 100);
  }, 60_000);

  it('a token without a pin pins the certificate seen at enrollment (trust on first use); a changed certificate is refused and shown', async () => {
    const d = await device(front.url, await newToken());
    await until('enrolled', async () => d.client.status().enrolled && d.client.status().lastCheckinAt !== null, 20_000, 100);
    expect(d.client.status()).toMatchObject({ pin: tlsA.pin, pinSource: 'first-use', error: null });
    // The fleet now shows another certificate (a man in the middle, or a re-issue without the pair).
    const tlsB = makeTls();
    await front.swap(tlsB);
    const countAt = front.requests;
    const lastSeen = await seen(d.id);
    const s = await until('the pin error shown', async () => { const st = (await d.agent.status()).fleet; return st?.error?.code === 'OTA_ERR_FLEET_PIN' ? st : null; }, 20_000, 100);
    expect(s.error!.message).toMatch(/fleet certificate changed/);
    expect(s.pin).toBe(tlsA.pin);
    await new Promise((r) => setTimeout(r, 2500));
    // Nothing of this device went over the new certificate's connection, and the agent still answers.
    expect(await seen(d.id)).toBe(lastSeen);
    expect(front.requests).toBe(countAt);
    expect((await d.agent.status()).phase).toBe('idle');
    // The right certificate back: check-ins resume by themselves, the error clears.
    await front.swap(tlsA);
    await until('check-ins resume', async () => (await seen(d.id))! > lastSeen! && d.client.status().error === null, 20_000, 100);
  }, 60_000);

  it('parallel enrollments on one device: one succeeds, the rest are told it is enrolled; one token serves one device', async () => {
    const token = `${await newToken()}.${tlsA.pin}`;
    const d = await device(null, null);
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => d.client.enroll(front.url, token)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((x): x is PromiseRejectedResult => x.status === 'rejected')) expect(r.reason.code).toBe('OTA_ERR_FLEET_ENROLLED');
    // A second device with the spent token: the fleet refuses it (coded, with the fleet's own code).
    const other = await device(null, null);
    await expect(other.client.enroll(front.url, token)).rejects.toMatchObject({ code: 'OTA_ERR_FLEET_REFUSED', details: { code: 'FLEET_ERR_TOKEN_INVALID' } });
  }, 60_000);

  it('a device that loses the fleet keeps working on its own, shows why, and checks in again when it is back', async () => {
    const own = new Front(fleet.url);
    await own.listen(tlsA);
    const d = await device(own.url, `${await newToken()}.${tlsA.pin}`);
    await until('checked in', async () => d.client.status().lastCheckinAt !== null, 20_000, 100);
    const port = own.port;
    await own.close();
    const s = await until('unreachable shown', async () => { const st = (await d.agent.status()).fleet; return st?.error?.code === 'OTA_ERR_UNREACHABLE' ? st : null; }, 20_000, 100);
    expect(s.enrolled).toBe(true);
    expect((await d.agent.status()).phase).toBe('idle');
    const lastSeen = await seen(d.id);
    own.port = port;
    await own.listen(tlsA);
    await until('check-ins resume', async () => (await seen(d.id))! > lastSeen! && d.client.status().error === null, 20_000, 100);
    await own.close();
  }, 60_000);

  it('plain http is accepted on loopback only (nothing pinned, a warning shown)', async () => {
    const d = await device(plain.url, await newToken());
    await until('enrolled', async () => d.client.status().lastCheckinAt !== null, 20_000, 100);
    expect(d.client.status()).toMatchObject({ pin: null, pinSource: 'none', warning: expect.stringMatching(/loopback/) });
    const far = await device(null, null);
    await expect(far.client.enroll('http://10.11.12.13:8090', await newToken())).rejects.toMatchObject({ code: 'OTA_ERR_FLEET_URL' });
  }, 60_000);
});

describe('a fleet cannot make the device install what TUF does not sign', () => {
  let repo: TestChannelRepo;
  let fake: HttpServer;
  const reports: Array<{ device: string; phase: string; reason?: string }> = [];
  let tufRequests: string[] = [];
  let assignment: Record<string, unknown>;
  beforeAll(async () => {
    repo = await startChannelRepo();
    await repo.sign('2.0.0');
    // A fleet that lies: it serves the channel's real (signed) TUF files, and assigns 2.0.0 with
    // another document hash, or 9.9.9 which nothing signs.
    fake = createHttp((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        const send = (status: number, v: unknown): void => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(v)); };
        if (req.url === '/api/v1/device/fleet') return send(200, { fleetId: 'f1' });
        if (req.url === '/api/v1/device/enroll') return send(200, { deviceId: JSON.parse(body).nodeId, fleetId: 'f1', checkinIntervalS: 1, tags: [] });
        if (req.url === '/api/v1/device/checkin') return send(200, { fleetId: 'f1', serverTime: Date.now(), nextCheckinS: 1, assignment, waiting: null });
        if (req.url === '/api/v1/device/report') { const e = JSON.parse(body); const m = JSON.parse(e.payload); reports.push({ device: e.device, phase: m.phase, reason: m.reason }); return send(200, { ok: true }); }
        if (req.url?.startsWith('/tuf/stable/')) {
          tufRequests.push(req.url);
          const upstream = `${repo.url}/${req.url.slice('/tuf/stable/'.length)}`;
          void fetch(upstream).then(async (r) => { res.writeHead(r.status); res.end(Buffer.from(await r.arrayBuffer())); });
          return undefined;
        }
        return send(404, { code: 'FLEET_ERR_NOT_FOUND' });
      });
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', () => r()));
  }, 60_000);
  afterAll(async () => { fake?.close(); await repo?.stop(); });

  it.each([
    ['a version the channel does not sign', { version: '9.9.9', releaseSha256: 'a'.repeat(64) }],
    ['the signed version with another document', { version: '2.0.0', releaseSha256: 'b'.repeat(64) }],
  ])('%s: refused (OTA_ERR_FLEET_RELEASE), reported failed, nothing installed', async (_name, lie) => {
    reports.length = 0;
    tufRequests = [];
    assignment = { id: `as-${lie.version}-${Math.random()}`, rolloutId: 'r1', kind: 'update', channel: 'stable', tufPath: '/tuf/stable', stage: 0, ...lie };
    const url = `http://127.0.0.1:${(fake.address() as { port: number }).port}`;
    const d = await device(url, 'lft_abcdefghijklmnop', repo.rootJson);
    const mine = (): typeof reports => reports.filter((x) => x.device === d.id);
    const r = await until('a failed report', async () => mine().find((x) => x.phase === 'failed'), 30_000, 100);
    expect(r.reason).toMatch(/^OTA_ERR_FLEET_RELEASE: /);
    // It did verify through the fleet's mirror (real TUF), and no install started.
    expect(tufRequests.some((u) => u.includes('timestamp.json'))).toBe(true);
    expect(mine().map((x) => x.phase)).toEqual(['failed']);
    expect(d.agent.current.phase).toBe('idle');
    expect(d.agent.current.job).toBeNull();
    await d.agent.stop();
  }, 60_000);
});
