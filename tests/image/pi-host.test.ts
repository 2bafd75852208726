// The Raspberry Pi host side: install.sh unpacks the arm64 image from the OCI archive into a
// slot under a prefix (as it would under / on the Pi), the systemd unit passes systemd's own
// verifier and security review, mirrors the image config, and carries the promised hardening;
// the udev rules grant exactly the devices the unit allows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageBuild, type ImageFixture } from '../helpers/image-build.js';
import { ROOT } from '../helpers/appliance.js';
import { OciLayout, type ImageConfig, type ImageManifest } from '../../ota/shared/oci/index.js';
import { elfMachineOf } from '../../image/build/inspect.js';

const UNIT = readFileSync(join(ROOT, 'image/pi/lucid-appliance.service'), 'utf8');
const RULES = readFileSync(join(ROOT, 'image/pi/99-lucid-appliance.rules'), 'utf8');

/** The [Service] section as key → values (a key may repeat). */
function service(unit: string): Map<string, string[]> {
  const section = unit.split(/^\[Service\]$/m)[1]!.split(/^\[/m)[0]!;
  const out = new Map<string, string[]>();
  for (const line of section.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

let fx: ImageFixture;
let prefix: string;
let config: ImageConfig['config'];
beforeAll(async () => {
  fx = await imageBuild();
  const layout = new OciLayout(fx.result.layoutDir);
  const arm = fx.result.platforms.find((p) => p.arch === 'arm64')!;
  config = (await layout.readJson<ImageConfig>((await layout.readJson<ImageManifest>(arm.manifest.digest)).config.digest)).config;
  prefix = mkdtempSync(join(tmpdir(), 'lucid-pi-root-'));
  execFileSync('sh', [join(ROOT, 'image/pi/install.sh'), '--arch', 'arm64', '--prefix', prefix, fx.result.archive!], { stdio: 'pipe' });
}, 20 * 60_000);
afterAll(() => {
  if (prefix) rmSync(prefix, { recursive: true, force: true });
});

describe('Raspberry Pi host integration', () => {
  it('install.sh unpacks the arm64 image into a slot, points current at it and prepares /data', () => {
    const lucid = join(prefix, 'var/lib/lucid');
    expect(readlinkSync(join(lucid, 'current'))).toBe(`slots/${fx.result.version}-arm64`);
    const rootfs = join(lucid, 'current/rootfs');
    expect(elfMachineOf(readFileSync(join(rootfs, 'usr/local/bin/node')))).toBe(183);
    expect(statSync(join(rootfs, 'app/dist/entries/supervisor.mjs')).isFile()).toBe(true);
    const data = statSync(join(lucid, 'data'));
    expect([data.uid, data.gid, data.mode & 0o777]).toEqual([65532, 65532, 0o700]);
    expect(readFileSync(join(prefix, 'etc/systemd/system/lucid-appliance.service'), 'utf8')).toBe(UNIT);
    expect(readFileSync(join(prefix, 'etc/udev/rules.d/99-lucid-appliance.rules'), 'utf8')).toBe(RULES);
    expect(readFileSync(join(prefix, 'etc/lucid/appliance.env'), 'utf8')).toContain('LUCID_WATCHDOG_DEVICE');
    // Installing again (an update) swaps the slot in place and leaves nothing behind.
    execFileSync('sh', [join(ROOT, 'image/pi/install.sh'), '--arch', 'arm64', '--prefix', prefix, fx.result.archive!], { stdio: 'pipe' });
    expect(readdirSync(join(lucid, 'slots'))).toEqual([`${fx.result.version}-arm64`]);
  }, 120_000);

  it('the unit runs the image\'s entrypoint, env, working dir and user, inside the installed rootfs', () => {
    const s = service(UNIT);
    expect(s.get('ExecStart')).toEqual([config.Entrypoint!.join(' ')]);
    expect(s.get('Environment')!.sort()).toEqual([...config.Env!].sort());
    expect(s.get('WorkingDirectory')).toEqual([config.WorkingDir]);
    expect(`${s.get('User')![0]}:${s.get('Group')![0]}`).toBe(config.User);
    expect(s.get('RootDirectory')).toEqual(['/var/lib/lucid/current/rootfs']);
    expect(s.get('BindPaths')).toEqual(['/var/lib/lucid/data:/data']);
    expect(Object.keys(config.Volumes!)).toEqual(['/data']);
  });

  it('carries the hardening: notify + watchdog, no new privileges, read-only system, private /tmp, device allow list', () => {
    const s = service(UNIT);
    expect(s.get('Type')).toEqual(['notify']);
    expect(s.get('NotifyAccess')).toEqual(['main']);
    expect(s.get('WatchdogSec')).toEqual(['30s']);
    expect(s.get('NoNewPrivileges')).toEqual(['yes']);
    expect(s.get('ProtectSystem')).toEqual(['strict']);
    expect(s.get('PrivateTmp')).toEqual(['yes']);
    expect(s.get('DevicePolicy')).toEqual(['closed']);
    expect(s.get('DeviceAllow')!.sort()).toEqual(['/dev/watchdog rw', 'char-gpiochip rw', 'char-hidraw rw', 'char-watchdog rw']);
    expect(s.get('CapabilityBoundingSet')).toEqual(['']);
    expect(s.has('MemoryDenyWriteExecute')).toBe(false); // V8's JIT
  });

  it('passes systemd-analyze verify and scores OK in systemd-analyze security', () => {
    // systemd-analyze checks ExecStart under --root without applying RootDirectory=, so the
    // binary is linked there too; the targets the unit orders against come from this host.
    mkdirSync(join(prefix, 'usr/local/bin'), { recursive: true });
    rmSync(join(prefix, 'usr/local/bin/node'), { force: true });
    linkSync(join(prefix, 'var/lib/lucid/current/rootfs/usr/local/bin/node'), join(prefix, 'usr/local/bin/node'));
    mkdirSync(join(prefix, 'lib/systemd/system'), { recursive: true });
    for (const t of ['network-online.target', 'time-sync.target', 'multi-user.target', 'sysinit.target', 'basic.target', 'shutdown.target']) {
      copyFileSync(join('/lib/systemd/system', t), join(prefix, 'lib/systemd/system', t));
    }
    const verify = spawnSync('systemd-analyze', ['verify', `--root=${prefix}`, 'lucid-appliance.service'], { encoding: 'utf8' });
    expect(`${verify.stdout}${verify.stderr}`.trim()).toBe('');
    expect(verify.status).toBe(0);
    const security = spawnSync('systemd-analyze', ['security', '--offline=true', `--root=${prefix}`, '--no-pager', 'lucid-appliance.service'], { encoding: 'utf8' });
    const level = /Overall exposure level for lucid-appliance\.service: ([0-9.]+)/.exec(security.stdout);
    expect(level, security.stdout + security.stderr).not.toBeNull();
    expect(Number(level![1])).toBeLessThanOrEqual(2.5);
    for (const good of ['NoNewPrivileges=', 'PrivateTmp=', 'ProtectSystem=', 'CapabilityBoundingSet=~CAP_SYS_ADMIN']) {
      expect(security.stdout).toMatch(new RegExp(`✓ ${good.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    }
  });

  it('the udev rules give group lucid exactly the LEDs, GPIO, watchdog and hidraw', () => {
    const rules = RULES.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
    expect(rules.length).toBe(6);
    for (const rule of rules) {
      // Every rule is a list of KEY{attr}op"value" pairs.
      expect(rule).toMatch(/^([A-Z_]+(\{[a-zA-Z_]+\})?(==|\+=|=)"[^"]*"(, |$))+$/);
      expect(rule).toMatch(/GROUP="lucid"|chgrp lucid/);
    }
    const subsystems = new Set(rules.map((r) => /SUBSYSTEM=="([a-z]+)"/.exec(r)?.[1] ?? /KERNEL=="([a-z]+)/.exec(r)?.[1]));
    expect([...subsystems].sort()).toEqual(['gpio', 'hidraw', 'leds', 'watchdog']);
  });
});
