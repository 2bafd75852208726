// The fleet server over HTTPS (issue 19's last bullet, issue 22, pin-spec): its own ECDSA P-256
// certificate made once (key 0600, the same pin after a restart), TLS 1.2+ only, the pin served
// at /api/v1/tls and printed in the start log; enrollment tokens `lft_<secret>.<pin>` accepted
// with or without the pin (one token either way); a client pinned to another key is refused; a
// plain-HTTP request to the port gets no API service; a brought pair is served, a bad one stops
// the start with one line naming the setting (exit 78).
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spkiPin } from '../../../services/common/tls.js';
import { issueSelfSigned } from '../../../services/common/x509/certificate.js';
import { FLEET_TLS_CERT_FILE, FLEET_TLS_KEY_FILE } from '../../../ota/server/tls.js';
import { ROOT } from '../../helpers/appliance.js';
import { startFleet, startFleetProcess, type TestFleet } from '../../helpers/fleet.js';
import { SimDevice, pinnedPool } from '../../helpers/fleet-sim.js';
import { handshake } from '../../helpers/tls.js';

let f: TestFleet;
let dataDir: string;
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'fleet-https-'));
  f = await startFleet({ dataDir });
}, 60_000);
afterAll(async () => {
  await f?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const portOf = (url: string): number => Number(new URL(url).port);
const token = async (): Promise<string> => (await f.call('POST', '/api/v1/enrollment-tokens', { tags: [] })).body.token;

/** Sends `request` as plain text to the port; resolves with whatever comes back before the connection ends. */
function plainExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port }, () => socket.write(request));
    let got = '';
    socket.on('data', (d: Buffer) => { got += d.toString('latin1'); });
    socket.on('close', () => resolve(got));
    socket.on('error', reject);
    socket.setTimeout(10_000, () => { socket.destroy(); reject(new Error('the server neither answered nor closed')); });
  });
}

describe('fleet server over HTTPS', () => {
  it('serves its own P-256 certificate, TLS 1.2+ only; /api/v1/tls gives its pin; the key file is 0600', async () => {
    const hs = await handshake('127.0.0.1', portOf(f.url));
    expect(hs.protocol).toBe('TLSv1.3');
    const served = new X509Certificate(hs.certificate.raw);
    expect(served.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const info = (await f.call('GET', '/api/v1/tls', undefined, null)).body;
    expect(info.pin).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(info.pin).toBe(spkiPin(served));
    expect(info.pin).toBe(createHash('sha256').update(served.publicKey.export({ type: 'spki', format: 'der' })).digest('base64url'));
    expect(info.spkiSha256Base64).toBe(Buffer.from(info.pin, 'base64url').toString('base64'));
    expect([info.source, info.certificateSha256]).toEqual(['fleet', served.fingerprint256]);
    expect(statSync(join(dataDir, FLEET_TLS_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, FLEET_TLS_CERT_FILE)).mode & 0o777).toBe(0o600);
    await expect(handshake('127.0.0.1', portOf(f.url), { maxVersion: 'TLSv1.1', minVersion: 'TLSv1' })).rejects.toThrow();
    const tls12 = await handshake('127.0.0.1', portOf(f.url), { maxVersion: 'TLSv1.2' });
    expect(tls12.cipher).toMatch(/^ECDHE-ECDSA-(AES\d+-GCM|CHACHA20-POLY1305)/);
  });

  it('a client pinned to another key is refused before any request is sent', async () => {
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const otherPin = spkiPin(issueSelfSigned(otherKey, ['localhost']));
    const before = (await f.call('GET', '/api/v1/audit?limit=500')).body.length;
    const wrong = pinnedPool(f.url, { pin: otherPin, connections: 1 });
    try {
      const d = new SimDevice(f.url);
      await expect(wrong.request({ method: 'POST', path: '/api/v1/device/enroll', headers: { 'content-type': 'application/json' }, body: JSON.stringify(d.enrollBody(await token(), f.fleetId)) }))
        .rejects.toMatchObject({ code: 'FLEET_PIN_MISMATCH' });
    } finally {
      await wrong.close();
    }
    // Only the token's own making reached the audit log, no enrollment attempt.
    const audit = (await f.call('GET', '/api/v1/audit?limit=500')).body as Array<{ action: string }>;
    expect(audit.length).toBe(before + 1);
    expect(audit.filter((a) => a.action === 'device.enroll')).toHaveLength(0);
  });

  it('a plain-HTTP request to the port gets no API service', async () => {
    const got = await plainExchange(portOf(f.url), 'GET /api/v1/tls HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(got).not.toMatch(/^HTTP\/1\.[01] [23]\d\d/);
    expect(got).not.toContain('"pin"');
    const plain = new Pool(f.url.replace('https://', 'http://'), { connections: 1 });
    try {
      await expect(plain.request({ method: 'POST', path: '/api/v1/auth/login', headers: { 'content-type': 'application/json' }, body: '{"username":"a","password":"b"}' })).rejects.toThrow();
    } finally {
      await plain.close();
    }
  });

  it('tokens carry the pin after a dot; a token enrolls with or without it, and only once either way', async () => {
    const t = await token();
    const m = /^(lft_[A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/.exec(t);
    expect(m).not.toBeNull();
    expect(m![2]).toBe(f.server.tls.pin);
    const a = new SimDevice(f.url);
    expect((await a.enroll(t, f.fleetId)).status).toBe(200);
    // The same token without its pin is the same (spent) token.
    const b = new SimDevice(f.url);
    expect((await b.enroll(m![1]!, f.fleetId)).body.code).toBe('FLEET_ERR_TOKEN_INVALID');
    // A fresh token given without its pin enrolls; with the pin afterwards it is spent too.
    const t2 = await token();
    const secret = t2.split('.')[0]!;
    expect((await b.enroll(secret, f.fleetId)).status).toBe(200);
    expect((await new SimDevice(f.url).enroll(t2, f.fleetId)).body.code).toBe('FLEET_ERR_TOKEN_INVALID');
    // In parallel, the two forms of one token: exactly one enrollment.
    const t3 = await token();
    const [x, y] = [new SimDevice(f.url), new SimDevice(f.url)];
    const both = await Promise.all([x.enroll(t3, f.fleetId), y.enroll(t3.split('.')[0]!, f.fleetId)]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 401]);
  });

  it('the certificate (and so the pin) stays the same across a restart', async () => {
    const pin = f.server.tls.pin;
    const cert = f.server.tls.certPem;
    await f.server.stop();
    f = await startFleet({ dataDir });
    expect(f.server.tls.pin).toBe(pin);
    expect(f.server.tls.certPem).toBe(cert);
    expect((await f.call('GET', '/api/v1/tls', undefined, null)).body.pin).toBe(pin);
  });
});

describe('fleet server: a brought certificate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-pair-'));
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const certPath = join(dir, 'fleet.crt');
  const keyPath = join(dir, 'fleet.key');
  writeFileSync(certPath, issueSelfSigned(key, ['fleet.example.org', '127.0.0.1'], 'Example fleet'));
  writeFileSync(keyPath, key.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is served, and its pin is what the start log and the tokens carry', async () => {
    const p = await startFleetProcess({ LUCID_FLEET_TLS_CERT: certPath, LUCID_FLEET_TLS_KEY: keyPath });
    try {
      const hs = await handshake('127.0.0.1', portOf(p.url));
      expect(spkiPin(new X509Certificate(hs.certificate.raw))).toBe(spkiPin(issueSelfSigned(key, ['x'])));
      expect(p.pin).toBe(spkiPin(new X509Certificate(hs.certificate.raw)));
      expect(p.output()).toMatch(/fleet server ready at https:\/\/127\.0\.0\.1:\d+ /);
    } finally {
      await p.stop();
    }
  }, 60_000);

  it('a bad or mismatched pair stops the start with one line naming the setting (exit 78)', () => {
    const otherKey = join(dir, 'other.key');
    writeFileSync(otherKey, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
    const garbage = join(dir, 'garbage.crt');
    writeFileSync(garbage, 'not a certificate\n');
    const data = mkdtempSync(join(tmpdir(), 'fleet-bad-'));
    const run = (env: Record<string, string>) => spawnSync(process.execPath, [join(ROOT, 'dist/fleet/server.mjs')], {
      env: { PATH: process.env['PATH'] ?? '', LUCID_FLEET_PORT: '0', LUCID_FLEET_DATA_DIR: data, LUCID_FLEET_LOG_LEVEL: 'warn', ...env }, encoding: 'utf8', timeout: 30_000,
    });
    try {
      const mismatch = run({ LUCID_FLEET_TLS_CERT: certPath, LUCID_FLEET_TLS_KEY: otherKey });
      expect(mismatch.status).toBe(78);
      expect(mismatch.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^fleet: bad setting LUCID_FLEET_TLS_KEY: .*is not the key of the certificate in LUCID_FLEET_TLS_CERT/)]);
      const bad = run({ LUCID_FLEET_TLS_CERT: garbage, LUCID_FLEET_TLS_KEY: keyPath });
      expect([bad.status, bad.stderr.trim()]).toEqual([78, expect.stringMatching(/^fleet: bad setting LUCID_FLEET_TLS_CERT: .*no readable PEM certificate$/)]);
      const half = run({ LUCID_FLEET_TLS_CERT: certPath });
      expect([half.status, half.stderr.trim()]).toEqual([78, 'fleet: bad setting LUCID_FLEET_TLS_CERT: needs LUCID_FLEET_TLS_KEY too: a certificate and its key come as a pair']);
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  }, 90_000);
});
