// The .debs (`./build.sh deb`) on this host, without installing them: lintian has nothing to
// say beyond the overrides the package justifies, the control data and contents are what the
// maintainer scripts and the OTA rely on, a rebuild gives the same bytes, and the host-side
// scripts (lucid-slot without mounts, pi-config, postrm's config.txt clean-up) do what they say
// against folders standing in for /var/lib/lucid and a Raspberry Pi's /boot.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDeb } from '../../image/deb/build-deb.js';
import { ROOT } from '../helpers/appliance.js';
import { debBuild, type DebFixture } from '../helpers/deb-build.js';

let fx: DebFixture;
let scratch: string;
let x86: string; // the amd64 package's files, dpkg-deb -x
beforeAll(async () => {
  fx = await debBuild();
  scratch = mkdtempSync(join(tmpdir(), 'lucid-deb-'));
  x86 = join(scratch, 'x86');
  execFileSync('dpkg-deb', ['-x', fx.debs.amd64.file, x86]);
}, 20 * 60_000);
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const field = (file: string, name: string): string => execFileSync('dpkg-deb', ['-f', file, name], { encoding: 'utf8' }).trim();
const sh = (script: string, env: Record<string, string> = {}): { code: number; out: string } => {
  const r = spawnSync('sh', ['-c', script], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
};

describe('the .debs', () => {
  it.each(['amd64', 'arm64'] as const)('%s: lintian reports no error or warning (overrides: lintian-overrides, each justified there)', (arch) => {
    const r = spawnSync('lintian', ['--pedantic', '--display-info', '--display-experimental', '--show-overrides', '--fail-on', 'error,warning', fx.debs[arch].file], { encoding: 'utf8' });
    const lines = `${r.stdout}${r.stderr}`.split('\n').filter((l) => /^[EWIPXO]: /.test(l));
    expect(lines.filter((l) => /^[EW]: /.test(l))).toEqual([]);
    expect(r.status).toBe(0);
    // Every override in force is one the package lists with its reason, and nothing else shows.
    const overrides = readFileSync(join(ROOT, 'image/deb/debian/lintian-overrides'), 'utf8').split('\n').filter((l) => l.startsWith('lucid-appliance:'));
    for (const o of lines.filter((l) => l.startsWith('O: '))) expect(overrides).toContain(o.slice(3));
    expect(lines.filter((l) => !l.startsWith('O: '))).toEqual([]);
  }, 180_000);

  it.each(['amd64', 'arm64'] as const)('%s: control data, conffile and maintainer scripts', (arch) => {
    const deb = fx.debs[arch].file;
    expect(deb.endsWith(`lucid-appliance_${fx.image.result.version}_${arch}.deb`)).toBe(true);
    expect(field(deb, 'Package')).toBe('lucid-appliance');
    expect(field(deb, 'Version')).toBe(fx.image.result.version);
    expect(field(deb, 'Architecture')).toBe(arch);
    expect(field(deb, 'Depends')).toBe('systemd, udev, init-system-helpers (>= 1.52), passwd, mount');
    // Installed-Size counts the slot postinst unpacks (the layers inflated), not only the package.
    expect(Number(field(deb, 'Installed-Size'))).toBeGreaterThan(100_000);
    const ctrl = join(scratch, `ctrl-${arch}`);
    execFileSync('dpkg-deb', ['-e', deb, ctrl]);
    expect(readFileSync(join(ctrl, 'conffiles'), 'utf8')).toBe('/etc/lucid/appliance.env\n');
    for (const s of ['preinst', 'postinst', 'prerm', 'postrm']) {
      expect(statSync(join(ctrl, s)).mode & 0o777).toBe(0o755);
      expect(spawnSync('sh', ['-n', join(ctrl, s)]).status).toBe(0);
    }
  });

  it('carries the platform\'s image as an OCI layout that names its manifest and layers for lucid-slot', () => {
    const dir = join(x86, 'usr/lib/lucid-appliance/image');
    const env = readFileSync(join(dir, 'image.env'), 'utf8');
    const amd = fx.image.result.platforms.find((p) => p.arch === 'amd64')!;
    expect(env).toContain(`LUCID_IMAGE_MANIFEST=${amd.manifest.digest}\n`);
    expect(env).toContain(`LUCID_IMAGE_LAYERS="${amd.layers.map((l) => l.descriptor.digest).join(' ')}"\n`);
    expect(env).toContain('LUCID_IMAGE_ARCH=amd64\n');
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    expect(index.manifests[0]!.digest).toBe(amd.manifest.digest);
    for (const blob of readdirSync(join(dir, 'blobs/sha256'))) {
      expect(createHash('sha256').update(readFileSync(join(dir, 'blobs/sha256', blob))).digest('hex')).toBe(blob);
    }
    for (const f of ['usr/libexec/lucid-appliance/lucid-slot', 'usr/libexec/lucid-appliance/pi-config', 'usr/libexec/lucid-appliance/lucid-ota-boot']) expect(statSync(join(x86, f)).mode & 0o111).not.toBe(0);
    // The OTA's host side (ota/host/): the unit's drop-in and the watch timer.
    expect(readFileSync(join(x86, 'lib/systemd/system/lucid-appliance.service.d/ota.conf'), 'utf8')).toMatch(/^RestartForceExitStatus=75$[\s\S]*^Environment=LUCID_OTA_HOST_DIR=\/run\/lucid-ota$/m);
    expect(readFileSync(join(x86, 'lib/systemd/system/lucid-ota-watch.service'), 'utf8')).toContain('ExecStart=/usr/libexec/lucid-appliance/lucid-ota-boot watch\n');
    expect(existsSync(join(x86, 'lib/systemd/system/lucid-ota-watch.timer'))).toBe(true);
  });

  it('is reproducible: the same image and epoch give the same .deb bytes', async () => {
    const r = fx.image.result;
    const again = await buildDeb({
      repo: ROOT, layoutDir: r.layoutDir, version: r.version, revision: r.revision, sourceDateEpoch: Math.floor(Date.parse(r.created) / 1000),
      arch: 'amd64', outDir: join(scratch, 'again'), workDir: join(scratch, 'again-work'),
    });
    expect(again.sha256).toBe(fx.debs.amd64.sha256);
  }, 120_000);
});

describe('lucid-slot (the slot logic, without mounts)', () => {
  const slot = join(ROOT, 'image/pi/lucid-slot');
  let root: string;
  let image: string;
  const run = (args: string): { code: number; out: string } => sh(`${slot} ${args}`, { LUCID_ROOT: root, LUCID_SLOT_MOUNT: '0' });
  beforeAll(() => {
    root = join(scratch, 'var-lib-lucid');
    image = join(x86, 'usr/lib/lucid-appliance/image');
  });

  it('unpacks into slot a first, writes slot.env last, points active at it; the same image again is a no-op', () => {
    expect(run(`install ${image}`)).toMatchObject({ code: 0 });
    expect(readlinkSync(join(root, 'active'))).toBe('slots/a');
    const env = readFileSync(join(root, 'slots/a/slot.env'), 'utf8');
    expect(env).toContain(`LUCID_SLOT_MANIFEST=${fx.debs.amd64.manifest}`);
    expect(env).toContain(`LUCID_SLOT_VERSION=${fx.image.result.version}`);
    const rootfs = join(root, 'slots/a/rootfs');
    expect(statSync(join(rootfs, 'usr/local/bin/node')).mode & 0o111).not.toBe(0);
    expect([statSync(join(rootfs, 'data')).uid, statSync(join(rootfs, 'data')).mode & 0o7777]).toEqual([65532, 0o700]);
    expect(statSync(join(rootfs, 'var/tmp')).mode & 0o7777).toBe(0o1777);
    expect(run(`install ${image}`).out).toContain('already holds');
    expect(existsSync(join(root, 'slots/b'))).toBe(false);
  }, 120_000);

  it('installs into the other slot when asked and switches to it; an incomplete active slot falls back at prestart', () => {
    expect(run(`install ${image} b`)).toMatchObject({ code: 0 });
    expect(readlinkSync(join(root, 'active'))).toBe('slots/b');
    expect(run('status').out).toMatch(/^active: b\nslot a: .* amd64 sha256:[0-9a-f]{64}\nslot b: .* amd64 sha256:/);
    rmSync(join(root, 'slots/b/slot.env'));
    const pre = run('prestart');
    expect(pre.code).toBe(0);
    expect(pre.out).toContain("active slot 'b' is not complete; switching to slot a");
    expect(readlinkSync(join(root, 'active'))).toBe('slots/a');
    expect(run('activate b')).toMatchObject({ code: 1 }); // never to an incomplete slot
    expect(readlinkSync(join(root, 'active'))).toBe('slots/a');
  }, 120_000);

  it('refuses a damaged layer and leaves the active slot alone; with no complete slot prestart fails', () => {
    const bad = join(scratch, 'bad-image');
    cpSync(image, bad, { recursive: true });
    const layer = /LUCID_IMAGE_LAYERS="([^"]+)"/.exec(readFileSync(join(bad, 'image.env'), 'utf8'))![1]!.split(' ').at(-1)!.slice(7);
    const file = join(bad, 'blobs/sha256', layer);
    const bytes = readFileSync(file);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
    writeFileSync(file, bytes);
    const r = run(`install ${bad} b`);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`layer sha256:${layer} in ${bad} is damaged`);
    expect(readlinkSync(join(root, 'active'))).toBe('slots/a');
    rmSync(join(root, 'slots/a/slot.env'));
    const pre = run('prestart');
    expect(pre.code).toBe(1);
    expect(pre.out).toContain('no complete slot');
  }, 120_000);
});

describe('lucid-slot with the OTA step beside it, as the .deb installs them (without mounts)', () => {
  const slot = join(ROOT, 'image/pi/lucid-slot');
  let root: string;
  const run = (args: string): { code: number; out: string } => sh(`${slot} ${args}`, {
    LUCID_ROOT: root, LUCID_SLOT_MOUNT: '0', LUCID_OTA_STEP: join(ROOT, 'ota/host/lucid-ota-boot.sh'), LUCID_OTA_RESTART_CMD: '',
  });
  const state = (): string => readFileSync(join(root, 'boot/state'), 'utf8');
  /** What the agent leaves in slot b after staging: a complete slot (slot.env) marked ready for trial `id`. */
  const stageB = (id: string): void => {
    mkdirSync(join(root, 'slots/b/rootfs/usr/local/bin'), { recursive: true });
    writeFileSync(join(root, 'slots/b/rootfs/usr/local/bin/node'), '', { mode: 0o755 });
    writeFileSync(join(root, 'slots/b/slot.env'), 'LUCID_SLOT_VERSION=2.0.0\n');
    writeFileSync(join(root, 'slots/b/ready'), `id=${id}\n`);
    mkdirSync(join(root, 'data/ota/host'), { recursive: true });
    writeFileSync(join(root, 'data/ota/host/trial'), `slot=b\nid=${id}\nversion=2.0.0\n`);
  };

  it('install records the slot as committed; prestart boots a requested trial, and goes back after a fail request', () => {
    root = join(scratch, 'ota-var-lib-lucid');
    expect(run(`install ${join(x86, 'usr/lib/lucid-appliance/image')}`)).toMatchObject({ code: 0 });
    expect(state()).toMatch(/^committed=a$/m);
    expect(statSync(join(root, 'slots/b')).uid).toBe(65532); // handed to the agent
    stageB('t1');
    const trial = run('prestart');
    expect(trial.code, trial.out).toBe(0);
    expect(trial.out).toContain('trial boot 1 of 3: 2.0.0 in slot b (id t1)');
    expect(readlinkSync(join(root, 'active'))).toBe('slots/b');
    expect(statSync(join(root, 'slots/b/rootfs')).uid).toBe(0); // sealed before it boots
    writeFileSync(join(root, 'data/ota/host/fail'), 'id=t1\nreason=self-test failed\n');
    const back = run('prestart');
    expect(back.code, back.out).toBe(0);
    expect(readlinkSync(join(root, 'active'))).toBe('slots/a');
    expect(state()).toMatch(/^last_outcome=rolled-back$[\s\S]*^last_reason=self-test failed$/m);
    expect(back.out).toContain('starting slot a');
  }, 120_000);
});

describe('pi-config and postrm on a Raspberry Pi\'s /boot', () => {
  const piConfig = join(ROOT, 'image/pi/pi-config');
  const fakePi = (model: string | null, files: Record<string, string>): string => {
    const r = mkdtempSync(join(scratch, 'pi-'));
    mkdirSync(join(r, 'proc/device-tree'), { recursive: true });
    mkdirSync(join(r, 'run'));
    if (model !== null) writeFileSync(join(r, 'proc/device-tree/model'), `${model}\0`);
    for (const [p, text] of Object.entries(files)) {
      mkdirSync(join(r, p, '..'), { recursive: true });
      writeFileSync(join(r, p), text);
    }
    return r;
  };
  const BOOKWORM = '# Bookworm config.txt\ndtparam=audio=on\n[cm4]\notg_mode=1\n';

  it('adds gpio=27=ip,pu once, under [all], to /boot/firmware/config.txt, and asks for a reboot', () => {
    const r = fakePi('Raspberry Pi 5 Model B Rev 1.0', { 'boot/firmware/config.txt': BOOKWORM, 'boot/config.txt': 'DO NOT EDIT THIS FILE\n' });
    const first = sh(`${piConfig} add ${r}`);
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/reboot/);
    const text = readFileSync(join(r, 'boot/firmware/config.txt'), 'utf8');
    expect(text.startsWith(BOOKWORM)).toBe(true);
    expect(text.slice(BOOKWORM.length)).toMatch(/^# >>> lucid-appliance[^\n]*\n\[all\]\ngpio=27=ip,pu\n# <<< lucid-appliance\n$/);
    expect(readFileSync(join(r, 'boot/config.txt'), 'utf8')).toBe('DO NOT EDIT THIS FILE\n');
    expect(readFileSync(join(r, 'run/reboot-required.pkgs'), 'utf8')).toBe('lucid-appliance\n');
    expect(sh(`${piConfig} add ${r}`).code).toBe(0);
    expect(readFileSync(join(r, 'boot/firmware/config.txt'), 'utf8')).toBe(text); // idempotent
    // postrm purge takes exactly those lines out again.
    const fn = /^unconfigure_pi_config\(\) \{[\s\S]*?^\}/m.exec(readFileSync(join(ROOT, 'image/deb/debian/postrm'), 'utf8'))![0];
    expect(sh(`${fn}\nunconfigure_pi_config ${join(r, 'boot/firmware/config.txt')}`).code).toBe(0);
    expect(readFileSync(join(r, 'boot/firmware/config.txt'), 'utf8')).toBe(BOOKWORM);
  });

  it('uses /boot/config.txt before Bookworm, leaves an owner\'s own gpio=27 line, and does nothing off a Pi', () => {
    const bullseye = fakePi('Raspberry Pi 4 Model B Rev 1.4', { 'boot/config.txt': 'arm_64bit=1' });
    expect(sh(`${piConfig} add ${bullseye}`).code).toBe(0);
    expect(readFileSync(join(bullseye, 'boot/config.txt'), 'utf8')).toMatch(/^arm_64bit=1\n# >>> lucid-appliance.*\n\[all\]\ngpio=27=ip,pu\n# <<< lucid-appliance\n$/);
    const own = fakePi('Raspberry Pi 4 Model B Rev 1.4', { 'boot/firmware/config.txt': 'gpio=17,27=op,dh\n' });
    expect(sh(`${piConfig} add ${own}`).out).toContain('already configures GPIO27');
    expect(readFileSync(join(own, 'boot/firmware/config.txt'), 'utf8')).toBe('gpio=17,27=op,dh\n');
    const pc = fakePi(null, { 'boot/firmware/config.txt': 'x=1\n' });
    expect(sh(`${piConfig} add ${pc}`)).toEqual({ code: 0, out: '' });
    expect(readFileSync(join(pc, 'boot/firmware/config.txt'), 'utf8')).toBe('x=1\n');
    expect(existsSync(join(pc, 'run/reboot-required'))).toBe(false);
  });
});
