// HTTPS on the real appliance (supervisor + core from dist/): its own ECDSA P-256 certificate,
// checked by a client that trusts nothing else; TLS 1.2+ with modern suites only; the
// fingerprint where a person looks for it; a user's own pair served (with HSTS); a broken pair
// stops the start with one line.
import { afterEach, describe, expect, it } from 'vitest';
import { X509Certificate, createHash } from 'node:crypto';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { ROOT, SUPERVISOR_ENTRY, TEST_ADMIN, freePort, startAppliance, treePids, type RunningAppliance } from '../../helpers/appliance.js';
import { applianceCertificate, handshake, pinnedFetch } from '../../helpers/tls.js';

let app: RunningAppliance | undefined;
afterEach(async () => {
  await app?.cleanup();
  app = undefined;
});

/** Tokens are bound to the user agent; undici's fetch and node's global one differ. */
const UA = 'lucid-https-test';
const sha256Colon = (der: Buffer): string => createHash('sha256').update(der).digest('hex').toUpperCase().replace(/(..)(?!$)/g, '$1:');

/** A CA and a leaf it signed (RSA, for `names`), made with the openssl CLI: an independent maker. */
function userPair(dir: string, names: string, tag = 'a'): { ca: string; cert: string; key: string } {
  const run = (...args: string[]): void => { execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' }); };
  if (!existsSync(join(dir, 'ca.pem'))) {
    run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', '/CN=Lucid test CA');
  }
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `leaf-${tag}.key`, '-out', `leaf-${tag}.csr`, '-subj', '/CN=appliance.test');
  writeFileSync(join(dir, `ext-${tag}.cnf`), `subjectAltName=${names}\nextendedKeyUsage=serverAuth\n`);
  run('x509', '-req', '-in', `leaf-${tag}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `leaf-${tag}.pem`, '-days', '30', '-extfile', `ext-${tag}.cnf`);
  return { ca: join(dir, 'ca.pem'), cert: join(dir, `leaf-${tag}.pem`), key: join(dir, `leaf-${tag}.key`) };
}

describe('HTTPS with the appliance\'s own certificate', () => {
  it('makes an ECDSA P-256 key and a certificate for its names (0600), serves only it, and keeps it across restarts', async () => {
    app = await startAppliance();
    await app.waitHealthy(30_000);
    const certPem = applianceCertificate(app.dataDir);
    for (const file of ['keys/tls-p256.pem', 'keys/tls-cert.pem']) expect(statSync(join(app.dataDir, file)).mode & 0o777).toBe(0o600);
    const x509 = new X509Certificate(certPem);
    expect(x509.publicKey.asymmetricKeyType).toBe('ec');
    expect(x509.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(x509.ca).toBe(false);
    const host = hostname().toLowerCase();
    expect(x509.subjectAltName).toContain(`DNS:${host}`);
    expect(x509.subjectAltName).toContain(`DNS:${host.split('.')[0]}.local`);
    expect(x509.subjectAltName).toContain('IP Address:127.0.0.1');
    // openssl agrees it is a well-formed self-signed server certificate for 127.0.0.1.
    const certFile = join(app.dataDir, 'keys/tls-cert.pem');
    expect(execFileSync('openssl', ['verify', '-CAfile', certFile, '-purpose', 'sslserver', '-verify_ip', '127.0.0.1', certFile], { encoding: 'utf8' })).toMatch(/OK/);

    // A client trusting only this certificate: the API, a login and an authenticated read.
    const https = pinnedFetch(certPem);
    expect((await https(`${app.httpsUrl}/healthz`)).status).toBe(200);
    const login = await https(`${app.httpsUrl}/api/v1/auth/setup`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': UA },
      body: JSON.stringify({ code: readFileSync(join(app.dataDir, 'setup-code'), 'utf8').trim(), ...TEST_ADMIN }),
    });
    expect(login.status).toBe(201);
    const { accessToken } = await login.json() as { accessToken: string };
    const me = await https(`${app.httpsUrl}/api/v1/auth/me`, { headers: { authorization: `Bearer ${accessToken}`, 'user-agent': UA } });
    expect(me.status, await me.clone().text()).toBe(200);
    expect(me.headers.get('strict-transport-security')).toBeNull(); // HSTS only for a user's certificate
    // What the API says about it is what the client received.
    const info = await (await https(`${app.httpsUrl}/api/v1/tls`)).json() as Record<string, unknown>;
    expect(info).toMatchObject({ source: 'appliance', certificateSha256: sha256Colon(x509.raw), httpsPort: app.httpsPort });
    expect(info['spkiSha256Base64']).toBe(createHash('sha256').update(x509.publicKey.export({ type: 'spki', format: 'der' })).digest('base64'));
    expect(await (await https(`${app.httpsUrl}/api/v1/tls/certificate`)).text()).toBe(certPem);
    // The fingerprint is printed with the setup code and in the start line with both URLs.
    const out = app.output();
    expect(out).toMatch(new RegExp(`SETUP CODE: [0-9A-Z-]{19} .*TLS certificate SHA-256 ${x509.fingerprint256}`));
    expect(out).toContain(`web UI on ${app.httpsUrl}/ — TLS certificate SHA-256 ${x509.fingerprint256}`);
    expect(out).toContain(`plain HTTP on ${app.url}/`);
    // Plain HTTP on loopback serves everything (the development default).
    expect((await fetch(`${app.url}/api/v1/auth/me`, { headers: { authorization: `Bearer ${accessToken}`, 'user-agent': UA } })).status).toBe(200);

    // Restarted on the same data: the same certificate, not a new one.
    const { dataDir, port, httpsPort } = app;
    app.process.kill('SIGTERM');
    await app.exited();
    app = await startAppliance({ dataDir, port, httpsPort });
    await app.waitHealthy(30_000);
    expect(applianceCertificate(dataDir)).toBe(certPem);
    expect((await pinnedFetch(certPem)(`${app.httpsUrl}/healthz`)).status).toBe(200);
  }, 90_000);

  it('speaks TLS 1.2 and 1.3 with forward-secret AEAD suites only', async () => {
    app = await startAppliance();
    await app.waitHealthy(30_000);
    const tls13 = await handshake('127.0.0.1', app.httpsPort);
    expect(tls13.protocol).toBe('TLSv1.3');
    const tls12 = await handshake('127.0.0.1', app.httpsPort, { maxVersion: 'TLSv1.2' });
    expect(tls12.protocol).toBe('TLSv1.2');
    expect(tls12.cipher).toMatch(/^ECDHE-ECDSA-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
    // A client offering only what the server must refuse: TLS 1.1, or TLS 1.2 with CBC suites or
    // without forward secrecy. Control: a permissive server with the same key accepts these very
    // offers, so the refusals come from the appliance, not from this client.
    const tls11 = { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' } as const;
    const weak12 = { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:AES128-GCM-SHA256' } as const;
    const permissive = createTlsServer({
      key: readFileSync(join(app.dataDir, 'keys/tls-p256.pem')), cert: applianceCertificate(app.dataDir), minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0',
    }, (c) => c.end());
    await new Promise<void>((resolve) => permissive.listen(0, '127.0.0.1', resolve));
    try {
      const controlPort = (permissive.address() as { port: number }).port;
      expect((await handshake('127.0.0.1', controlPort, tls11)).protocol).toBe('TLSv1.1');
      expect((await handshake('127.0.0.1', controlPort, weak12)).cipher).toMatch(/-SHA(256)?$/);
    } finally {
      permissive.close();
    }
    await expect(handshake('127.0.0.1', app.httpsPort, tls11)).rejects.toThrow(/protocol version|unsupported protocol/i);
    await expect(handshake('127.0.0.1', app.httpsPort, weak12)).rejects.toThrow(/handshake failure|no shared cipher/i);
  }, 60_000);
});

describe('a certificate the user brings', () => {
  it('is served with its chain checked against the user\'s CA, with HSTS over HTTPS only, and reloaded when renewed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lucid-userpair-'));
    const pair = userPair(dir, 'DNS:appliance.test,IP:127.0.0.1');
    app = await startAppliance({ env: { LUCID_TLS_CERT: pair.cert, LUCID_TLS_KEY: pair.key } });
    await app.waitHealthy(30_000);
    const https = pinnedFetch(readFileSync(pair.ca, 'utf8'));
    const health = await https(`${app.httpsUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get('strict-transport-security')).toBe('max-age=31536000');
    expect((await https(`${app.httpsUrl}/`)).headers.get('strict-transport-security')).toBe('max-age=31536000');
    expect((await fetch(`${app.url}/healthz`)).headers.get('strict-transport-security')).toBeNull();
    const leaf = new X509Certificate(readFileSync(pair.cert));
    expect(await (await https(`${app.httpsUrl}/api/v1/tls`)).json()).toMatchObject({ source: 'user', certificateSha256: leaf.fingerprint256 });
    expect(existsSync(join(app.dataDir, 'keys/tls-cert.pem'))).toBe(false);
    expect((await handshake('127.0.0.1', app.httpsPort, { maxVersion: 'TLSv1.2' })).cipher).toMatch(/^ECDHE-RSA-/);

    // Renewed in place (as an ACME client does): served from the next handshake, no restart.
    const renewed = userPair(dir, 'DNS:appliance.test,IP:127.0.0.1', 'b');
    writeFileSync(pair.key, readFileSync(renewed.key));
    writeFileSync(pair.cert, readFileSync(renewed.cert));
    const next = new X509Certificate(readFileSync(renewed.cert));
    await app.waitFor('the renewed certificate', async () => (await handshake('127.0.0.1', app!.httpsPort)).certificate.fingerprint256 === next.fingerprint256, 15_000);
  }, 60_000);

  it('a broken or mismatched pair stops the start: one line naming the setting, exit 78, nothing started or written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lucid-badpair-'));
    const a = userPair(dir, 'DNS:appliance.test', 'a');
    const b = userPair(dir, 'DNS:appliance.test', 'b');
    writeFileSync(join(dir, 'garbage.pem'), 'not a certificate\n');
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ LUCID_TLS_CERT: a.cert, LUCID_TLS_KEY: b.key }, /^lucid: invalid configuration: LUCID_TLS_KEY: .*leaf-b\.key is not the key of the certificate in LUCID_TLS_CERT/],
      [{ LUCID_TLS_CERT: join(dir, 'garbage.pem'), LUCID_TLS_KEY: a.key }, /^lucid: invalid configuration: LUCID_TLS_CERT: .*garbage\.pem holds no readable PEM certificate/],
      [{ LUCID_TLS_CERT: a.cert, LUCID_TLS_KEY: a.cert }, /^lucid: invalid configuration: LUCID_TLS_KEY: .*holds no readable private key/],
      [{ LUCID_TLS_CERT: join(dir, 'missing.pem'), LUCID_TLS_KEY: a.key }, /^lucid: invalid configuration: LUCID_TLS_CERT: cannot read .*missing\.pem: ENOENT/],
      [{ LUCID_TLS_CERT: a.cert }, /^lucid: invalid configuration: LUCID_TLS_CERT: needs LUCID_TLS_KEY too/],
    ];
    for (const [env, line] of cases) {
      const data = mkdtempSync(join(tmpdir(), 'lucid-badpair-data-'));
      const [port, httpsPort] = [await freePort(), await freePort()];
      const result = spawnSync(process.execPath, [SUPERVISOR_ENTRY], {
        env: { ...process.env, LUCID_HAL: 'sim', LUCID_PROFILE: 'dev', LUCID_DATA_DIR: data, LUCID_PORT: String(port), LUCID_HTTPS_PORT: String(httpsPort), ...env },
        encoding: 'utf8', timeout: 15_000,
      });
      expect(result.status, JSON.stringify(env)).toBe(78);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(line);
      expect(result.stdout).not.toContain('child started');
      expect(readdirSync(data)).toEqual([]);
    }
  }, 60_000);
});

describe('the fingerprint where a person looks for it, and core on its own', () => {
  it('a long press prints it beside the setup code while setup is pending, and alone afterwards', async () => {
    const presser = { name: 'presser', entry: join(ROOT, 'tests/fixtures/children/presser.mjs'), after: ['core'], env: { PRESS: 'long' } };
    app = await startAppliance({ env: { LUCID_EXTRA_CHILDREN: JSON.stringify([presser]) } });
    await app.waitHealthy(30_000);
    const fingerprint = new X509Certificate(applianceCertificate(app.dataDir)).fingerprint256;
    const code = readFileSync(join(app.dataDir, 'setup-code'), 'utf8').trim();
    const both = new RegExp(`SETUP CODE: ${code} .*TLS certificate SHA-256 ${fingerprint}`, 'g');
    await app.waitFor('setup code and fingerprint printed twice (start, long press)', async () => (app!.output().match(both) ?? []).length >= 2);
    // After setup the long press (pressed through the API here) shows the fingerprint alone.
    const pressed = await app.get('/api/v1/hal/button', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ action: 'long' }) });
    expect(pressed.status).toBe(202);
    await app.waitFor('the fingerprint on its own', async () => app!.output().split('\n').some((l) => l.includes('"name":"core"') && l.includes(`"msg":"TLS certificate SHA-256 ${fingerprint}`)));
  }, 60_000);

  it('core without a supervisor binds both ports itself and serves its own certificate', async () => {
    const data = mkdtempSync(join(tmpdir(), 'lucid-core-alone-'));
    const [port, httpsPort] = [await freePort(), await freePort()];
    const core = spawn(process.execPath, [join(ROOT, 'dist/entries/core.mjs')], {
      env: { ...process.env, LUCID_HAL: 'sim', LUCID_PROFILE: 'dev', LUCID_HOST: '127.0.0.1', LUCID_DATA_DIR: data, LUCID_PORT: String(port), LUCID_HTTPS_PORT: String(httpsPort) },
      stdio: 'ignore',
    });
    try {
      const deadline = Date.now() + 20_000;
      let status = 0;
      while (Date.now() < deadline && status !== 200) {
        status = existsSync(join(data, 'keys/tls-cert.pem')) ? await pinnedFetch(applianceCertificate(data))(`https://127.0.0.1:${httpsPort}/healthz`).then((r) => r.status, () => 0) : 0;
        if (status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    } finally {
      for (const pid of treePids(core.pid!)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    }
  }, 60_000);
});
