// `node dist/entries/selftest.mjs`: checks that an installed image can run the appliance here.
// It loads every native addon (LevelDB, epoll via onoff, sd_notify, usb), exercises the crypto the
// services use, opens a store and the node identity in a temp folder under the data volume,
// builds the API without listening and answers a few requests through inject(). Prints one JSON
// document; exit 0 when every check passed, 1 otherwise.
// It starts no process (under qemu-user an arm64 program cannot start another) and needs no
// shell; it writes only below LUCID_DATA_DIR and removes what it wrote.
import { createRequire } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { X509Certificate, type CipherGCM, type DecipherGCM, createCipheriv, createDecipheriv, createHash, generateKeyPairSync, randomBytes, scryptSync, sign, verify } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { loadConfigOrExit } from '../config/index.js';
import { createRootLogger } from '../../services/common/log.js';
import { buildInfo } from '../../services/common/build-info.js';
import { MetricsRegistry } from '../../services/common/metrics.js';
import { SupervisorLink } from '../../services/common/supervisor-link.js';
import { Store } from '../../services/store/index.js';
import { loadOrCreateNodeIdentity } from '../../services/identity/index.js';
import { buildApi } from '../../services/api/index.js';
import { createProcSystemInfo } from '../../hal/index.js';

interface Check { name: string; ok: boolean; ms: number; detail?: unknown; error?: string }

const config = loadConfigOrExit();
const log = createRootLogger({ name: 'selftest', level: 'silent' });
const require = createRequire(import.meta.url);
const checks: Check[] = [];

async function check(name: string, fn: () => unknown): Promise<void> {
  const started = performance.now();
  try {
    const detail = await fn();
    checks.push({ name, ok: true, ms: Math.round(performance.now() - started), ...(detail === undefined ? {} : { detail }) });
  } catch (err) {
    checks.push({ name, ok: false, ms: Math.round(performance.now() - started), error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
}

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

async function main(): Promise<void> {
  const scratch = await mkdtemp(join(config.dataDir, '.selftest-'));
  try {
    await check('addon:classic-level', async () => {
      const store = new Store({ location: join(scratch, 'store'), log });
      await store.start();
      const area = store.sublevel<{ n: number }>('selftest');
      await area.put('k', { n: 42 });
      const back = await area.get('k');
      await store.stop();
      assert(back?.n === 42, `read back ${JSON.stringify(back)}`);
      return { path: require.resolve('classic-level') };
    });
    await check('addon:epoll (onoff)', async () => {
      const onoff = (await import('onoff')) as unknown as { Gpio?: { accessible: boolean }; default?: { Gpio: { accessible: boolean } } };
      const Gpio = onoff.Gpio ?? onoff.default?.Gpio;
      assert(Gpio, 'onoff exports no Gpio');
      const epoll = require('epoll') as { Epoll?: unknown };
      assert(typeof epoll.Epoll === 'function', 'epoll has no Epoll class');
      return { gpioAccessible: Gpio.accessible };
    });
    await check('addon:lucid-sd-notify', () => {
      const addon = require('lucid-sd-notify') as { send(path: string, message: string): void };
      // Sending to a socket that cannot exist runs the native path and must fail with ENOENT.
      try {
        addon.send(join(scratch, 'no-such-socket'), 'READY=1');
      } catch (err) {
        assert((err as { code?: string }).code === 'ENOENT', `expected ENOENT, got ${String(err)}`);
        return { sendsReachTheKernel: true };
      }
      throw new Error('send to a missing socket did not fail');
    });
    await check('addon:usb (hardware wallet)', async () => {
      const usb = (await import('usb')) as unknown as { webusb?: { getDevices(): Promise<unknown[]> } };
      assert(usb.webusb && typeof usb.webusb.getDevices === 'function', 'usb exports no webusb');
      // Without a USB bus (containers, CI) the native call fails cleanly; either way it ran.
      const devices = await usb.webusb.getDevices().then((d) => d.length, (err: unknown) => String(err));
      return { devices };
    });
    await check('crypto', () => {
      assert(createHash('sha256').update('abc').digest('hex') === 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 'sha256 test vector');
      const key = randomBytes(32);
      for (const alg of ['aes-256-gcm', 'chacha20-poly1305'] as const) {
        const iv = randomBytes(12);
        // Both AEADs carry a 16-byte tag; the GCM types describe the shared tag API.
        const c = createCipheriv(alg, key, iv) as CipherGCM;
        const ct = Buffer.concat([c.update('lucid'), c.final()]);
        const d = createDecipheriv(alg, key, iv) as DecipherGCM;
        d.setAuthTag(c.getAuthTag());
        assert(Buffer.concat([d.update(ct), d.final()]).toString() === 'lucid', `${alg} round trip`);
      }
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      assert(verify(null, Buffer.from('m'), publicKey, sign(null, Buffer.from('m'), privateKey)), 'ed25519');
      assert(scryptSync('pw', 'salt', 16, { N: 1024 }).length === 16, 'scrypt');
      return { openssl: process.versions.openssl };
    });
    await check('tls roots', () => {
      assert(rootCertificates.length > 100, `only ${rootCertificates.length} root certificates`);
      return { roots: rootCertificates.length, first: new X509Certificate(rootCertificates[0]!).subject.split('\n')[0] };
    });
    await check('intl and time zones', () => {
      const berlin = new Intl.DateTimeFormat('de-DE', { timeZone: 'Europe/Berlin', hour: '2-digit', timeZoneName: 'short' }).format(new Date(Date.UTC(2024, 0, 1, 12)));
      assert(berlin.includes('13'), `Europe/Berlin at 12:00 UTC: ${berlin}`);
      return { icu: process.versions.icu, berlin };
    });
    await check('api (inject)', async () => {
      const identity = await loadOrCreateNodeIdentity(scratch, log);
      const detached = new SupervisorLink({ log, heartbeatMs: 1000, onDisconnect: () => {}, channel: { on: () => undefined, off: () => undefined } });
      const app = await buildApi({
        log, version: buildInfo.version, revision: buildInfo.revision, identity, supervisor: detached,
        system: createProcSystemInfo({ root: config.sysRoot, dataDir: config.dataDir }), metrics: new MetricsRegistry(),
        webRoot: fileURLToPath(new URL('../web/', import.meta.url)),
      });
      try {
        const node = await app.inject({ method: 'GET', url: '/api/v1/node' });
        assert(node.statusCode === 200 && (node.json() as { id?: string }).id === identity.nodeId, `/api/v1/node → ${node.statusCode}`);
        const ui = await app.inject({ method: 'GET', url: '/' });
        assert(ui.statusCode === 200 && ui.body.includes('<html'), `/ → ${ui.statusCode}`);
        const docs = await app.inject({ method: 'GET', url: '/docs/json' });
        assert(docs.statusCode === 200, `/docs/json → ${docs.statusCode}`);
        return { routes: Object.keys((docs.json() as { paths: object }).paths).length, nodeId: identity.nodeId };
      } finally {
        await app.close();
      }
    });
    await check('system info (/proc, /sys)', async () => {
      const info = await createProcSystemInfo({ root: config.sysRoot, dataDir: config.dataDir }).read();
      assert(info.memory !== null && info.loadavg !== null && info.disk !== null, 'memory, load or disk missing');
      return { cpus: info.cpuCount, memoryMiB: Math.round(info.memory.totalBytes / 1048576), disk: info.disk.path };
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const ok = checks.every((c) => c.ok);
  process.stdout.write(`${JSON.stringify({
    ok, version: buildInfo.version, revision: buildInfo.revision,
    node: process.version, arch: process.arch, platform: process.platform, abi: process.versions.modules,
    dataDir: config.dataDir, checks,
  }, null, 2)}\n`);
  process.exitCode = ok ? 0 : 1;
}

main().catch((err: unknown) => {
  process.stdout.write(`${JSON.stringify({ ok: false, error: String(err), checks })}\n`);
  process.exitCode = 1;
});
