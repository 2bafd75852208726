// The amd64 image, unpacked by umoci, started the way its config says (entrypoint, env, working
// dir, user 65532) inside bubblewrap: the image as a read-only root, a fresh writable /data,
// a new /proc, a minimal /dev, /sys read-only, no /tmp, nothing else from the host. There is no
// shell in there, so anything that needed one would fail here.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageBuild, unpackedRootfs, type ImageFixture } from '../helpers/image-build.js';
import { adminToken, freePort, treePids } from '../helpers/appliance.js';
import { listenDatagrams, type DatagramListener } from '../fixtures/hal/datagram-listener.js';
import { OciLayout, type ImageConfig, type ImageManifest } from '../../ota/shared/oci/index.js';

let fx: ImageFixture;
let rootfs: string;
let config: ImageConfig['config'];
beforeAll(async () => {
  fx = await imageBuild();
  rootfs = await unpackedRootfs(fx, 'amd64');
  const layout = new OciLayout(fx.result.layoutDir);
  const amd = fx.result.platforms.find((p) => p.arch === 'amd64')!;
  const manifest = await layout.readJson<ImageManifest>(amd.manifest.digest);
  config = (await layout.readJson<ImageConfig>(manifest.config.digest)).config;
}, 20 * 60_000);

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** bwrap arguments that run `argv` from the image like a container runtime would. */
function sandbox(dataDir: string, env: Record<string, string>, argv: readonly string[], extra: string[] = []): string[] {
  const [uid, gid] = config.User!.split(':');
  const envArgs = [...config.Env!, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)].flatMap((kv) => {
    const i = kv.indexOf('=');
    return ['--setenv', kv.slice(0, i), kv.slice(i + 1)];
  });
  return [
    '--unshare-user', '--uid', uid!, '--gid', gid!, '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--die-with-parent', '--new-session',
    '--ro-bind', rootfs, '/',
    '--bind', dataDir, '/data',
    '--proc', '/proc', '--dev', '/dev', '--ro-bind', '/sys', '/sys',
    ...extra,
    '--chdir', config.WorkingDir!, '--clearenv', ...envArgs,
    ...argv,
  ];
}

function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map(String).sort();
}

describe('amd64 image on this machine', () => {
  it('runs the appliance from its entrypoint on a read-only root: /healthz 200, complete status, READY=1', async () => {
    const before = listing(rootfs);
    const dataDir = mkdtempSync(join(tmpdir(), 'lucid-image-data-'));
    const notifyDir = mkdtempSync(join(tmpdir(), 'lucid-image-notify-'));
    const listener: DatagramListener = await listenDatagrams(join(notifyDir, 'notify.sock'));
    const port = await freePort();
    const args = sandbox(dataDir, {
      LUCID_HAL: 'sim', LUCID_HOST: '127.0.0.1', LUCID_PORT: String(port), LUCID_HTTPS_PORT: String(await freePort()), NOTIFY_SOCKET: '/run/notify/notify.sock',
    }, config.Entrypoint!, ['--tmpfs', '/run', '--bind', notifyDir, '/run/notify']);
    let out = '';
    const child: ChildProcess = spawn('bwrap', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    cleanups.push(async () => {
      for (const pid of treePids(child.pid!)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
      await listener.close();
      await rm(dataDir, { recursive: true, force: true });
      await rm(notifyDir, { recursive: true, force: true });
    });

    const url = `http://127.0.0.1:${port}`;
    const until = Date.now() + 60_000;
    let health = 0;
    while (Date.now() < until && health !== 200) {
      health = await fetch(`${url}/healthz`).then((r) => r.status, () => 0);
      if (child.exitCode !== null) throw new Error(`the image exited ${child.exitCode}:\n${out}`);
      if (health !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(health, out.slice(-3000)).toBe(200);

    // No default password: the first admin is made with the setup code the image wrote to /data.
    const token = await adminToken(url, dataDir);
    const status = await (await fetch(`${url}/api/v1/status`, { headers: { authorization: `Bearer ${token}` } })).json() as Record<string, any>;
    expect(status.version).toBe(fx.result.version);
    expect(fx.result.revision.startsWith(status.revision)).toBe(true);
    expect(status.node.id).toMatch(/^[0-9a-f]{40}$/);
    expect(status.healthy).toBe(true);
    expect(status.supervised).toBe(true);
    expect(status.children).toEqual([
      expect.objectContaining({ name: 'core', state: 'ready', restarts: 0 }),
      expect.objectContaining({ name: 'ota-agent', critical: false, restarts: 0 }),
    ]);
    expect(status.led.state).toBe('ready');
    expect(status.core.rssBytes).toBeGreaterThan(0);
    expect(status.system.uptimeSec).toBeGreaterThan(0);
    expect(status.system.loadavg).toHaveLength(3);
    expect(status.system.memory.totalBytes).toBeGreaterThan(0);
    expect(status.system.cpuCount).toBeGreaterThan(0);
    expect(status.system.disk.path).toBe('/data');
    expect((await fetch(`${url}/`)).status).toBe(200);

    // Every byte the appliance wrote is under /data, owned by its user (65532 ↔ our uid here).
    // (chunks/ holds the session chunk objects; ledger/ the chain's genesis and double-sign guard,
    // and it appears as the ledger starts, just after core reports ready.)
    // (ota/ is the update agent's: its state, blob store, TUF metadata and socket.)
    expect(readdirSync(dataDir).filter((d) => d !== 'ledger').sort()).toEqual(['chunks', 'keys', 'ota', 'store']);
    expect(statSync(join(dataDir, 'keys/node-ed25519.pem')).mode & 0o777).toBe(0o600);
    const early: string[] = [];
    while (!early.includes('READY=1\nSTATUS=ready')) early.push(...(await listener.next(1, 10_000)));
    expect(early[0]).toMatch(/^STATUS=/);

    // A clean stop from SIGTERM to the supervisor (pid 2 in the sandbox; bwrap's init is pid 1).
    const supervisor = treePids(child.pid!).find((pid) => {
      try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').startsWith(config.Entrypoint!.join(' ')); } catch { return false; }
    });
    expect(supervisor).toBeDefined();
    process.kill(supervisor!, 'SIGTERM');
    expect(await exited).toBe(0);
    const rest: string[] = [];
    for (;;) {
      try { rest.push(...(await listener.next(1, 1000))); } catch { break; }
    }
    expect(rest).toContain('STOPPING=1');
    expect(out).not.toMatch(/"level":"(error|fatal)"/);
    expect(listing(rootfs)).toEqual(before);
  }, 120_000);

  it('passes its selftest in the same sandbox', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lucid-image-selftest-'));
    try {
      const res = spawnSync('bwrap', sandbox(dataDir, {}, ['/usr/local/bin/node', '/app/dist/entries/selftest.mjs']), { encoding: 'utf8', timeout: 60_000 });
      const report = JSON.parse(res.stdout) as { ok: boolean; arch: string; node: string; checks: Array<{ name: string; ok: boolean; error?: string }> };
      expect(report.checks.filter((c) => !c.ok)).toEqual([]);
      expect(report).toMatchObject({ ok: true, arch: 'x64', node: `v${fx.result.node.version}` });
      expect(res.status).toBe(0);
      expect(readdirSync(dataDir)).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
