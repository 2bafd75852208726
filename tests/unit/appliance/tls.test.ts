// The pure parts of HTTPS: the appliance's certificate (checked by node's and OpenSSL's parsers),
// its names, the plain-HTTP rule for every way a credential can ride, and what the recovery page
// shows of a child's log.
import { describe, expect, it } from 'vitest';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applianceNames, canonicalName, ipBytes, issueSelfSigned, sameNames } from '../../../appliance/tls/index.js';
import { ChildLogs, readableLine } from '../../../appliance/supervisor/child-logs.js';
import { credentialCarrier, httpsUrl, isLoopback, plainHttpVerdict } from '../../../services/common/plain-http.js';
import { cpuHasAes, describeCertificate } from '../../../services/common/tls.js';

const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

describe('the appliance certificate', () => {
  it('is a v3 ECDSA-SHA256 server certificate for exactly its names, valid 1970–9999, that OpenSSL accepts', () => {
    const names = ['pi', 'localhost', 'pi.local', '127.0.0.1', '192.168.1.20', '::1', 'fd00::2'];
    const pem = issueSelfSigned(key, names);
    const x = new X509Certificate(pem);
    expect(x.checkPrivateKey(key)).toBe(true);
    expect(x.verify(x.publicKey)).toBe(true);
    expect(x.ca).toBe(false);
    expect(x.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(new Date(x.validFrom).getTime()).toBe(0);
    expect(new Date(x.validTo).toISOString()).toBe('9999-12-31T23:59:59.000Z');
    expect(describeCertificate(pem, 'appliance').names).toEqual(names);
    const dir = mkdtempSync(join(tmpdir(), 'lucid-cert-'));
    writeFileSync(join(dir, 'c.pem'), pem);
    const text = execFileSync('openssl', ['x509', '-in', join(dir, 'c.pem'), '-noout', '-text'], { encoding: 'utf8' });
    expect(text).toMatch(/Signature Algorithm: ecdsa-with-SHA256/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature/);
    expect(text).toMatch(/CA:FALSE/);
    expect(execFileSync('openssl', ['verify', '-CAfile', join(dir, 'c.pem'), '-purpose', 'sslserver', '-verify_hostname', 'pi.local', join(dir, 'c.pem')], { encoding: 'utf8' })).toMatch(/OK/);
    // Another key's certificate for the same names is another certificate, not this one.
    expect(new X509Certificate(issueSelfSigned(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, names)).checkPrivateKey(key)).toBe(false);
  });

  it('re-issued for other names keeps the public key, with a new serial', () => {
    const a = describeCertificate(issueSelfSigned(key, ['pi', '10.0.0.2']), 'appliance');
    const b = describeCertificate(issueSelfSigned(key, ['pi', '10.0.0.3']), 'appliance');
    expect(b.publicKeySha256).toBe(a.publicKeySha256);
    expect(b.spkiSha256Base64).toBe(a.spkiSha256Base64);
    expect(b.certificateSha256).not.toBe(a.certificateSha256);
    expect(new X509Certificate(issueSelfSigned(key, ['pi'])).serialNumber).not.toBe(new X509Certificate(issueSelfSigned(key, ['pi'])).serialNumber);
  });

  it('encodes IP literals as 4 or 16 bytes', () => {
    expect(ipBytes('192.168.1.20').toString('hex')).toBe('c0a80114');
    expect(ipBytes('::1').toString('hex')).toBe('00000000000000000000000000000001');
    expect(ipBytes('fd00::2:3').toString('hex')).toBe('fd000000000000000000000000020003');
    expect(ipBytes('::ffff:10.1.2.3').toString('hex')).toBe('00000000000000000000ffff0a010203');
    expect(ipBytes('2001:db8:0:0:1:0:0:1').toString('hex')).toBe('20010db8000000000001000000000001');
  });
});

describe('the names', () => {
  const iface = (address: string, family: 'IPv4' | 'IPv6', internal = false) => ({ address, family, internal, netmask: '', mac: '', cidr: null, ...(family === 'IPv6' ? { scopeid: 0 } : {}) }) as never;

  it('host name first, then <first label>.local and localhost, loopback and every LAN address but link-local IPv6', () => {
    const names = applianceNames({
      hostname: 'Lucid-Pi',
      interfaces: {
        lo: [iface('127.0.0.1', 'IPv4', true), iface('::1', 'IPv6', true)],
        eth0: [iface('192.168.1.20', 'IPv4'), iface('fe80::1', 'IPv6'), iface('2001:db8::20', 'IPv6')],
        wlan0: [iface('169.254.3.4', 'IPv4')],
      },
    });
    expect(names).toEqual(['lucid-pi', 'localhost', 'lucid-pi.local', '127.0.0.1', '169.254.3.4', '192.168.1.20', '2001:db8::20', '::1']);
    // Listening on IPv4 only, one address, or loopback: only what a browser can reach.
    const interfaces = { eth0: [iface('192.168.1.20', 'IPv4'), iface('2001:db8::20', 'IPv6')], wlan0: [iface('10.0.0.5', 'IPv4')] };
    expect(applianceNames({ hostname: 'pi', interfaces, listen: '0.0.0.0' }).slice(3)).toEqual(['10.0.0.5', '127.0.0.1', '192.168.1.20', '::1']);
    expect(applianceNames({ hostname: 'pi', interfaces, listen: '10.0.0.5' }).slice(3)).toEqual(['10.0.0.5', '127.0.0.1', '::1']);
    expect(applianceNames({ hostname: 'pi', interfaces, listen: '127.0.0.1' }).slice(3)).toEqual(['127.0.0.1', '::1']);
    expect(applianceNames({ hostname: 'pi.example.org', interfaces: {} }).slice(0, 3)).toEqual(['pi.example.org', 'localhost', 'pi.local']);
    expect(applianceNames({ hostname: 'bad_name!', interfaces: {} })).toEqual(['localhost', '127.0.0.1', '::1']);
  });

  it('compares sets, whatever the spelling of an address', () => {
    expect(canonicalName('0:0:0:0:0:0:0:1')).toBe(canonicalName('::1'));
    expect(sameNames(['a', '::1', '10.0.0.1'], ['10.0.0.1', 'A', '0:0:0:0:0:0:0:1'])).toBe(true);
    expect(sameNames(['a', '10.0.0.1'], ['a', '10.0.0.2'])).toBe(false);
    expect(sameNames(['a'], ['a', 'b'])).toBe(false);
  });

  it('knows AES CPUs from /proc/cpuinfo (Pi 4: none, so ChaCha20 first)', () => {
    expect(cpuHasAes('flags\t: fpu sse2 aes avx\nflags\t: fpu sse2 aes avx\n')).toBe(true);
    expect(cpuHasAes('Features\t: fp asimd evtstrm crc32 cpuid\n')).toBe(false);
    expect(cpuHasAes(null)).toBe(true);
  });
});

describe('plain HTTP from the network', () => {
  const lan = (method: string, url: string, headers: Record<string, string> = {}) =>
    plainHttpVerdict({ method, url, headers: { host: '192.168.1.20:8080', ...headers }, localAddress: '192.168.1.20' }, 8443);

  it('serves /healthz and /metrics, redirects pages to the same path over HTTPS', () => {
    expect(lan('GET', '/healthz')).toEqual({ kind: 'serve' });
    expect(lan('HEAD', '/metrics')).toEqual({ kind: 'serve' });
    expect(lan('GET', '/')).toEqual({ kind: 'redirect', location: 'https://192.168.1.20:8443/' });
    expect(lan('GET', '/docs')).toEqual({ kind: 'redirect', location: 'https://192.168.1.20:8443/docs' });
  });

  it('refuses every way a credential can ride, and every API call', () => {
    const cases: Array<[string, string, Record<string, string>, RegExp]> = [
      ['GET', '/healthz', { authorization: 'Bearer x' }, /Authorization/],
      ['GET', '/', { 'proxy-authorization': 'Basic eA==' }, /Proxy-Authorization/],
      ['GET', '/', { cookie: 'a=b' }, /Cookie/],
      ['POST', '/api/v1/auth/login', { 'content-type': 'application/json' }, /POST/],
      ['PUT', '/api/v1/sessions/x/data', {}, /PUT/],
      ['OPTIONS', '/', {}, /OPTIONS/],
      ['GET', '/', { 'content-length': '3' }, /body/],
      ['GET', '/', { 'transfer-encoding': 'chunked' }, /body/],
      ['GET', '/', { upgrade: 'websocket' }, /upgrade/],
      ['GET', '/api/v1/sessions/x/content?token=abc', {}, /query/],
      ['GET', '/metrics?x=1', {}, /query/],
      ['GET', '/api/v1/status', {}, /API call/],
      ['GET', '/api', {}, /API call/],
    ];
    for (const [method, url, headers, carried] of cases) {
      const v = lan(method, url, headers);
      expect(v.kind, `${method} ${url}`).toBe('refuse');
      if (v.kind === 'refuse') expect(v.carried).toMatch(carried);
    }
    expect(credentialCarrier({ method: 'GET', url: '/', headers: { 'content-length': '0' } })).toBeNull();
  });

  it('serves everything on loopback, where nothing crosses a network', () => {
    for (const local of ['127.0.0.1', '127.3.4.5', '::1', '::ffff:127.0.0.1']) {
      expect(isLoopback(local)).toBe(true);
      expect(plainHttpVerdict({ method: 'POST', url: '/api/v1/auth/login', headers: { authorization: 'Bearer x' }, localAddress: local }, 8443)).toEqual({ kind: 'serve' });
    }
    for (const other of ['192.168.1.20', '::ffff:10.0.0.1', 'fd00::2', '128.0.0.1', undefined]) expect(isLoopback(other)).toBe(false);
  });

  it('redirects to the host asked for, or to the address reached when the Host header is unusable', () => {
    expect(httpsUrl({ url: '/x?y', headers: { host: 'lucid.local:8080' }, localAddress: '10.0.0.2' }, 8443)).toBe('https://lucid.local:8443/x');
    expect(httpsUrl({ url: '/', headers: { host: '[fd00::2]:8080' }, localAddress: 'fd00::2' }, 443)).toBe('https://[fd00::2]/');
    expect(httpsUrl({ url: '/', headers: { host: 'evil.example/<script>' }, localAddress: '::ffff:10.0.0.2' }, 8443)).toBe('https://10.0.0.2:8443/');
    expect(httpsUrl({ url: '/', headers: {}, localAddress: 'fd00::2' }, 8443)).toBe('https://[fd00::2]:8443/');
  });
});

describe('a child\'s last lines for the recovery page', () => {
  it('keeps the last lines across chunk boundaries, bounded', () => {
    const logs = new ChildLogs(3);
    logs.push('core', 'one\ntw');
    logs.push('core', 'o\nthree\nfour\nfi');
    expect(logs.last('core')).toEqual(['three', 'four', 'fi']);
    expect(logs.last('payout')).toEqual([]);
  });

  it('shows pino lines as time, level, message and error, never the setup code', () => {
    expect(readableLine(JSON.stringify({ level: 'fatal', time: '2026-01-01T00:00:00.000Z', msg: 'core failed to start', err: { message: 'bad key', code: 'ID_ERR_KEY_INVALID' } })))
      .toEqual({ time: '2026-01-01T00:00:00.000Z', level: 'fatal', text: 'core failed to start — ID_ERR_KEY_INVALID: bad key' });
    expect(readableLine(JSON.stringify({ level: 'warn', msg: 'SETUP CODE: AB12-CD34-EF56-GH78 — open the web UI' })).text)
      .toBe('SETUP CODE: [shown on the device console only] — open the web UI');
    expect(readableLine('plain text').text).toBe('plain text');
  });
});
