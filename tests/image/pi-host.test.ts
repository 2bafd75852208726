// The host side of a device (image/pi/, shipped in the .deb): the systemd units pass systemd's
// own verifier and security review as the package installs them, the appliance's unit mirrors
// the image config and carries the promised hardening, and the unit, the udev rules and the
// Ledger driver agree on the one USB device class. (That systemd really runs it this way is
// tests/vm/full-guest.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debBuild, type DebFixture } from '../helpers/deb-build.js';
import { ROOT } from '../helpers/appliance.js';
import { OciLayout, type ImageConfig, type ImageManifest } from '../../ota/shared/oci/index.js';

const UNIT = readFileSync(join(ROOT, 'image/pi/lucid-appliance.service'), 'utf8');
const SLOT_UNIT = readFileSync(join(ROOT, 'image/pi/lucid-appliance-slot.service'), 'utf8');
const RULES = readFileSync(join(ROOT, 'image/pi/60-lucid-appliance.rules'), 'utf8');
const USB_LEDGER = readFileSync(join(ROOT, 'hal/wallet/usb-ledger.ts'), 'utf8');

/** A section of a unit as key → values (a key may repeat). */
function section(unit: string, name: string): Map<string, string[]> {
  const body = unit.split(new RegExp(`^\\[${name}\\]$`, 'm'))[1]!.split(/^\[/m)[0]!;
  const out = new Map<string, string[]>();
  for (const line of body.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

let fx: DebFixture;
let prefix: string;
let config: ImageConfig['config'];
beforeAll(async () => {
  fx = await debBuild();
  const layout = new OciLayout(fx.image.result.layoutDir);
  const arm = fx.image.result.platforms.find((p) => p.arch === 'arm64')!;
  config = (await layout.readJson<ImageConfig>((await layout.readJson<ImageManifest>(arm.manifest.digest)).config.digest)).config;
  // The arm64 package's files as dpkg would put them on a Pi, for systemd-analyze --root.
  prefix = mkdtempSync(join(tmpdir(), 'lucid-pi-root-'));
  execFileSync('dpkg-deb', ['-x', fx.debs.arm64.file, prefix]);
}, 20 * 60_000);
afterAll(() => {
  if (prefix) rmSync(prefix, { recursive: true, force: true });
});

describe('host units, udev rules and the image', () => {
  it('the package installs exactly these units and rules', () => {
    expect(readFileSync(join(prefix, 'lib/systemd/system/lucid-appliance.service'), 'utf8')).toBe(UNIT);
    expect(readFileSync(join(prefix, 'lib/systemd/system/lucid-appliance-slot.service'), 'utf8')).toBe(SLOT_UNIT);
    expect(readFileSync(join(prefix, 'lib/udev/rules.d/60-lucid-appliance.rules'), 'utf8')).toBe(RULES);
  });

  it('runs the image\'s entrypoint, env, working dir and user inside the mounted slot, after the slot step', () => {
    const s = section(UNIT, 'Service');
    expect(s.get('ExecStart')).toEqual([config.Entrypoint!.join(' ')]);
    expect(s.get('Environment')!.sort()).toEqual([...config.Env!].sort());
    expect(s.get('WorkingDirectory')).toEqual([config.WorkingDir]);
    expect(`${s.get('User')![0]}:${s.get('Group')![0]}`).toBe(config.User);
    // Not a path through the `active` symlink: systemd 252 fails such a RootDirectory= (EBUSY).
    expect(s.get('RootDirectory')).toEqual(['/var/lib/lucid/root']);
    // The data volume, and the payout process's socket folder when it exists (lucid-payout.service).
    expect(s.get('BindPaths')).toEqual(['/var/lib/lucid/data:/data', '-/run/lucid-payout']);
    expect(Object.keys(config.Volumes!)).toEqual(['/data']);
    expect(s.has('ExecStartPre')).toBe(false); // it would run inside RootDirectory=, where there is no shell
    const u = section(UNIT, 'Unit');
    expect(u.get('Requires')).toEqual(['lucid-appliance-slot.service']);
    expect(u.get('After')).toContain('lucid-appliance-slot.service');
    const slot = section(SLOT_UNIT, 'Service');
    expect(slot.get('Type')).toEqual(['oneshot']);
    expect(slot.has('RemainAfterExit')).toBe(false); // so that every start of the appliance runs it again
    expect(slot.get('ExecStart')).toEqual(['/usr/libexec/lucid-appliance/lucid-slot prestart']);
  });

  it('carries the hardening: notify + watchdog, no new privileges, read-only system, private users and /tmp, syscall filter, device allow list', () => {
    const s = section(UNIT, 'Service');
    expect(s.get('Type')).toEqual(['notify']);
    expect(s.get('NotifyAccess')).toEqual(['main']);
    expect(s.get('WatchdogSec')).toEqual(['30s']);
    expect(s.get('NoNewPrivileges')).toEqual(['yes']);
    expect(s.get('ProtectSystem')).toEqual(['strict']);
    expect(s.get('PrivateTmp')).toEqual(['yes']);
    expect(s.get('PrivateUsers')).toEqual(['yes']);
    expect(s.get('SystemCallFilter')).toEqual(['@system-service', '~@privileged @resources']);
    expect(s.get('DevicePolicy')).toEqual(['closed']);
    expect(s.get('DeviceAllow')!.sort()).toEqual(['/dev/watchdog rw', 'char-gpiochip rw', 'char-usb_device rw', 'char-watchdog rw']);
    expect(s.get('CapabilityBoundingSet')).toEqual(['']);
    expect(s.has('MemoryDenyWriteExecute')).toBe(false); // V8's JIT
  });

  it('passes systemd-analyze verify and scores at most 1.5 offline in systemd-analyze security', () => {
    // verify checks ExecStart= paths under --root without applying RootDirectory=, so a stand-in
    // for the image's node goes there; the targets the units order against come from this host.
    mkdirSync(join(prefix, 'usr/local/bin'), { recursive: true });
    writeFileSync(join(prefix, 'usr/local/bin/node'), '#!/bin/sh\n');
    chmodSync(join(prefix, 'usr/local/bin/node'), 0o755);
    for (const t of ['network-online.target', 'time-sync.target', 'multi-user.target', 'sysinit.target', 'basic.target', 'shutdown.target', 'local-fs.target']) {
      copyFileSync(join('/lib/systemd/system', t), join(prefix, 'lib/systemd/system', t));
    }
    const verify = spawnSync('systemd-analyze', ['verify', `--root=${prefix}`, 'lucid-appliance.service', 'lucid-appliance-slot.service', 'lucid-payout.service', 'lucid-payout-net.service'], { encoding: 'utf8' });
    expect(`${verify.stdout}${verify.stderr}`.trim()).toBe('');
    expect(verify.status).toBe(0);
    const security = spawnSync('systemd-analyze', ['security', '--offline=true', `--root=${prefix}`, '--no-pager', 'lucid-appliance.service'], { encoding: 'utf8' });
    const level = /Overall exposure level for lucid-appliance\.service: ([0-9.]+)/.exec(security.stdout);
    expect(level, security.stdout + security.stderr).not.toBeNull();
    expect(Number(level![1])).toBeLessThanOrEqual(1.5);
    // The payout process: the same bar, with its own user and an IP deny-all on top.
    const payout = spawnSync('systemd-analyze', ['security', '--offline=true', `--root=${prefix}`, '--no-pager', 'lucid-payout.service'], { encoding: 'utf8' });
    const payoutLevel = /Overall exposure level for lucid-payout\.service: ([0-9.]+)/.exec(payout.stdout);
    expect(payoutLevel, payout.stdout + payout.stderr).not.toBeNull();
    expect(Number(payoutLevel![1])).toBeLessThanOrEqual(1.5);
    for (const good of ['NoNewPrivileges=', 'PrivateTmp=', 'PrivateUsers=', 'ProtectSystem=', 'CapabilityBoundingSet=~CAP_SYS_ADMIN', 'SystemCallFilter=~@privileged']) {
      expect(security.stdout).toMatch(new RegExp(`✓ ${good.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    }
  });

  it('the udev rules give group lucid the LEDs, GPIO, the watchdog and the Ledger\'s USB device node — the driver\'s one way in', () => {
    const rules = RULES.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
    expect(rules.length).toBe(6);
    for (const rule of rules) {
      expect(rule).toMatch(/^([A-Z_]+(\{[a-zA-Z_]+\})?(==|\+=|=)"[^"]*"(, |$))+$/);
      expect(rule).toMatch(/GROUP="lucid"|chgrp lucid/);
    }
    const subsystems = new Set(rules.map((r) => /SUBSYSTEM=="([a-z]+)"/.exec(r)?.[1] ?? /KERNEL=="([a-z]+)/.exec(r)?.[1]));
    expect([...subsystems].sort()).toEqual(['gpio', 'leds', 'usb', 'watchdog']);
    // The driver opens the USB device node through usb@3 (libusb), never hidraw: the rule and the
    // unit name that node class and the Ledger's vendor id, and nothing grants hidraw.
    expect(USB_LEDGER).toMatch(/export const LEDGER_VENDOR_ID = 0x2c97;/);
    expect(USB_LEDGER).toMatch(/import\('usb'\)/);
    expect(rules.filter((r) => /SUBSYSTEM=="usb"/.test(r))).toEqual(['SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="2c97", GROUP="lucid", MODE="0660"']);
    expect(RULES).not.toMatch(/^[^#]*hidraw/m);
    expect(UNIT).not.toMatch(/^DeviceAllow=.*hidraw/m);
  });
});
