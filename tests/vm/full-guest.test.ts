// The .deb on a real Debian 12 with systemd and udev (the full guest of tests/vm), one boot
// shared by the whole file, in order: apt installs it, systemd runs the image from the slot with
// the sandbox (READY=1 and WATCHDOG=1 reach systemd from inside RootDirectory=), the web UI
// loads in Chromium over HTTPS through the forwarded 8443 with the appliance's key pinned (plain
// HTTP from the LAN refuses the login), the status LED (the guest kernel's own LED) is
// written under ProtectSystem=strict, the Ledger's USB node is the one thing udev and the unit
// let the appliance open, restarts, a crash, a reboot and an incomplete slot come back
// healthy with the data intact, and apt remove/purge keep the data unless told otherwise.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basename } from 'node:path';
import { TEST_ADMIN } from '../helpers/appliance.js';
import { launchBrowser, loginVia, openPage } from '../helpers/browser.js';
import { debBuild, type DebFixture } from '../helpers/deb-build.js';
import { FullGuest, guestBase, spkiPin, type PinnedHttps } from './harness/index.js';
import { getJson, guestAdminToken, postJson } from './harness/appliance-api.js';
import { plugLedgerGadget, type PluggedLedger } from './harness/usb-gadget.js';
import { props, saveJournal, timedPhase, unitActive, waitUnitActive } from './harness/systemd.js';

const UNIT = 'lucid-appliance.service';
let fx: DebFixture;
let g: FullGuest;
let led = '';
let nodeId = '';
let ledger: PluggedLedger;
const times: Record<string, number> = {};
const seconds = (since: number): number => Math.round((performance.now() - since) / 100) / 10;

// Site settings written before the install, as an image builder would: the guest's keyboard
// LED as the status LED (real drivers: LUCID_HAL=pi), and a heartbeat for emulation, which runs
// Node ~8× slower than this machine (tests/vm/README.md).
const siteEnv = (): string => `LUCID_HAL=pi\nLUCID_LED_SYSFS=${led}\nLUCID_HEARTBEAT_MS=10000\n`;
const setupCode = async (): Promise<string | null> => {
  const r = await g.exec('cat /var/lib/lucid/data/setup-code');
  return r.code === 0 ? r.stdout.trim() : null;
};
const install = async (): Promise<void> => {
  const started = performance.now();
  const out = await g.run(`DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Options::=--force-confold /mnt/host/${basename(fx.debs.amd64.file)} 2>&1`, 900_000);
  times['installS'] = seconds(started);
  expect(out).toContain('lucid-slot: installed');
};
// The forwards arrive on the guest's LAN address: the API over HTTPS, the appliance's certificate pinned.
const https = (): PinnedHttps => g.https!;
const node = async (): Promise<string> => (await getJson<{ id: string }>(https(), '/api/v1/node')).body.id;
/**
 * Restarts the unit without waiting in systemctl (a start that times out is retried by systemd).
 * The unit reboots the board after more than 5 starts in 90 min (StartLimitAction=reboot): the
 * deliberate restarts here reset that count first, so only the test's own reboot reboots.
 */
const restart = async (label: string): Promise<number> => {
  const { InvocationID: before } = await props(g, UNIT, ['InvocationID']);
  await g.run(`systemctl reset-failed ${UNIT}; systemctl restart --no-block ${UNIT}`);
  return healthyAgain(label, before ?? '');
};
/**
 * Waits for a new start of the unit (its InvocationID changes: no fixed sleep, and never the old
 * process's last "active"), then READY=1 and /healthz; a slow or failed wait prints the unit's
 * restarts, state and journal tail (harness/systemd.ts timedPhase).
 */
const healthyAgain = (label: string, before: string, slowS = 90): Promise<number> => timedPhase(g, UNIT, label, slowS, async () => {
  if (before !== '') await g.run(`for i in $(seq 1 1800); do [ "$(systemctl show -p InvocationID --value ${UNIT})" != '${before}' ] && exit 0; sleep 0.5; done; exit 1`, 960_000);
  await waitUnitActive(g, UNIT, 900_000);
  await g.waitHealthy(300_000);
});
const walletAnswer = async (): Promise<string> => {
  const token = await guestAdminToken(https(), setupCode);
  const r = await getJson<{ code?: string; message?: string }>(https(), '/api/v1/wallet/device', token);
  return `${r.status} ${r.body.code ?? ''} ${r.body.message ?? ''}`;
};

beforeAll(async () => {
  fx = await debBuild();
  const base = await guestBase();
  times[base.built ? 'diskBuildS' : 'diskCachedS'] = base.seconds;
  g = await FullGuest.create({ name: 'full', share: fx.dir });
  times['bootToAgentS'] = (await g.boot()).agent;
  led = (await g.run('ls /sys/class/leds | grep -m1 capslock')).trim();
}, 40 * 60_000);

afterAll(async () => {
  console.log(`[vm full] ${JSON.stringify(times)}`);
  if (g) console.log(`[vm full] guest journal: ${await saveJournal(g, 'full', 'end')}`);
  await g?.powerCut().catch(() => undefined); // the overlay is thrown away: no clean shutdown to wait for
  await g?.dispose();
});

describe.sequential('lucid-appliance .deb on Debian 12 with systemd and udev (VM)', () => {
  it('apt installs it: lucid 65532, the image in slot a, the data folder, units, udev rules, site settings kept, started', async () => {
    expect(await g.run(`cat /sys/class/leds/${led}/trigger`)).toContain('[kbd-capslock]'); // before: the kernel's
    await g.run(`mkdir -p /etc/lucid && printf '${siteEnv()}' > /etc/lucid/appliance.env`);
    await install();
    expect((await g.run('getent passwd lucid; getent group lucid')).trim().split('\n')).toEqual([
      'lucid:x:65532:65532:Lucid appliance:/nonexistent:/usr/sbin/nologin', 'lucid:x:65532:']);
    // udevd parsed our rules with group lucid known (preinst makes it before the rules land).
    expect(await g.run('journalctl -b -q -o cat -u systemd-udevd --no-pager | grep -i lucid || true')).toBe('');
    expect((await g.run('readlink /var/lib/lucid/active')).trim()).toBe('slots/a');
    expect(await g.run('cat /var/lib/lucid/slots/a/slot.env')).toContain(`LUCID_SLOT_MANIFEST=${fx.debs.amd64.manifest}`);
    expect((await g.run('stat -c "%u %g %a" /var/lib/lucid/data')).trim()).toBe('65532 65532 700');
    expect((await g.run('systemctl is-enabled lucid-appliance.service')).trim()).toBe('enabled');
    expect(await g.run("dpkg-query -W -f='${Conffiles}' lucid-appliance")).toContain('/etc/lucid/appliance.env');
    expect(await g.run('cat /etc/lucid/appliance.env')).toBe(siteEnv());
    expect((await g.exec('mountpoint -q /var/lib/lucid/root')).code).toBe(0);
  }, 20 * 60_000);

  it('runs under systemd: READY=1 and STATUS= from inside RootDirectory=, the watchdog pinged, /healthz 200 within TimeoutStartSec', async () => {
    // postinst's `systemctl start` returns once READY=1 came (or the start failed).
    times['healthyAfterInstallS'] = await healthyAgain('install → healthy', '', 30);
    const p = await props(g, UNIT, ['Type', 'NotifyAccess', 'ActiveState', 'SubState', 'StatusText', 'WatchdogUSec', 'MainPID', 'ExecMainStartTimestampMonotonic', 'TimeoutStartUSec']);
    expect(p).toMatchObject({ Type: 'notify', NotifyAccess: 'main', ActiveState: 'active', SubState: 'running', StatusText: 'ready', WatchdogUSec: '30s', TimeoutStartUSec: '5min' });
    // The main process is the supervisor, as 65532, with the mounted slot as its root.
    expect(await g.run(`stat -L -c %d:%i /proc/${p['MainPID']}/root /var/lib/lucid/slots/a/rootfs | uniq | wc -l`)).toBe('1\n');
    expect(await g.run(`cat /proc/${p['MainPID']}/root/etc/os-release`)).toContain('NAME="Lucid appliance"');
    expect(await g.run(`grep -E '^(Uid|Gid):' /proc/${p['MainPID']}/status`)).toMatch(/Uid:\s+65532\s+65532\s+65532\s+65532\s*\nGid:\s+65532/);
    expect(await g.run(`tr '\\0' ' ' < /proc/${p['MainPID']}/cmdline`)).toBe('/usr/local/bin/node /app/dist/entries/supervisor.mjs ');
    // WATCHDOG=1 every 15 s: systemd records the last one after the start.
    const start = Number(p['ExecMainStartTimestampMonotonic']);
    const until = Date.now() + 60_000;
    let last = 0;
    while (Date.now() < until && !(last > start)) {
      last = Number((await props(g, UNIT, ['WatchdogTimestampMonotonic']))['WatchdogTimestampMonotonic']);
      if (!(last > start)) await new Promise((r) => setTimeout(r, 2000));
    }
    expect(last).toBeGreaterThan(start);
    nodeId = await node();
    expect(nodeId).toMatch(/^[0-9a-f]{40}$/);
  }, 1200_000);

  it('the web UI loads in Chromium over HTTPS (the appliance\'s key pinned) through the forwarded port, and the first admin logs in; plain HTTP refuses the login', async () => {
    // The LAN path: plain HTTP redirects the page and refuses a login with a code, never reads it.
    const plain = await postJson(g.url(), '/api/v1/auth/login', TEST_ADMIN);
    expect(plain.status).toBe(403);
    expect(await plain.json()).toMatchObject({ code: 'API_ERR_HTTPS_REQUIRED' });
    const page0 = await fetch(`${g.url()}/`, { redirect: 'manual' });
    expect([page0.status, page0.headers.get('location')]).toEqual([308, 'https://127.0.0.1:8443/']);
    await guestAdminToken(https(), setupCode); // setup with the code from the guest's data folder
    // Chromium trusts exactly the appliance's public key (SPKI read from the guest), nothing else ignored.
    const browser = await launchBrowser([`--ignore-certificate-errors-spki-list=${spkiPin(await https().certificate())}`]);
    try {
      const { page, errors } = await openPage(browser);
      await page.goto(`${g.httpsUrl()}/`, { timeout: 120_000 });
      expect(page.url().startsWith(`${g.httpsUrl()}/`)).toBe(true); // served over HTTPS, not redirected away (the UI adds #/login)
      await loginVia(page, TEST_ADMIN);
      expect(await page.locator('[data-testid="whoami"]').textContent()).toContain(TEST_ADMIN.username);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 300_000);

  it('writes the status LED — the guest kernel\'s own LED class device — under ProtectSystem=strict', async () => {
    expect((await props(g, UNIT, ['ProtectSystem']))['ProtectSystem']).toBe('strict');
    const l = `/sys/class/leds/${led}`;
    // udev gave group lucid the attributes; the appliance took the LED over and shows "ready" (solid on).
    expect((await g.run(`stat -c '%G %A' ${l}/brightness ${l}/trigger`)).trim().split('\n')).toEqual(['lucid -rw-rw-r--', 'lucid -rw-rw-r--']);
    expect(await g.run(`cat ${l}/trigger`)).toContain('[none]');
    // Ready is solid on; any other state blinks, so look for "on" over a few seconds.
    expect((await g.exec(`for i in $(seq 1 50); do [ "$(cat ${l}/brightness)" != 0 ] && exit 0; sleep 0.2; done; exit 1`)).code).toBe(0);
  }, 120_000);

  it('systemd-analyze security: the exposure is reported and at most 1.5', async () => {
    const out = await g.run(`systemd-analyze security ${UNIT} --no-pager`);
    const level = /Overall exposure level for lucid-appliance\.service: ([0-9.]+)/.exec(out);
    console.log(`[vm full] systemd-analyze security: ${level?.[1]}\n${out.split('\n').filter((l) => l.startsWith('✗')).join('\n')}`);
    times['exposure'] = Number(level?.[1]);
    expect(Number(level?.[1])).toBeLessThanOrEqual(1.5);
    for (const good of ['PrivateUsers=', 'SystemCallFilter=~@privileged', 'SystemCallFilter=~@resources', 'NoNewPrivileges=', 'ProtectSystem=']) expect(out).toContain(`✓ ${good}`);
  }, 120_000);

  it('the Ledger: udev gives group lucid its USB device node (not its hidraw), and the sandboxed appliance opens it', async () => {
    ledger = await plugLedgerGadget(g);
    expect((await g.run(`stat -c '%U %G %a' ${ledger.usbNode} ${ledger.hidrawNode}`)).trim().split('\n')).toEqual(['root lucid 660', 'root root 600']);
    // Opened: the gadget has no vendor-class interface, which is the next thing usb-ledger.ts checks.
    expect(await walletAnswer()).toMatch(/^503 HAL_ERR_UNAVAILABLE .*no vendor-class interface/);
    // Without the udev rule's group the open itself fails.
    await g.run(`chgrp root ${ledger.usbNode}`);
    expect(await walletAnswer()).toMatch(/^503 HAL_ERR_UNAVAILABLE .*permission denied \(errno 13\)/); // EACCES
    await g.run(`chgrp lucid ${ledger.usbNode}`);
  }, 300_000);

  it('restart into slot b with DeviceAllow= lacking char-usb_device: b is mounted, the device cgroup refuses the Ledger', async () => {
    // A second slot (a copy of a), made active; and a drop-in with the old device list. The .deb
    // already made an empty slots/b for the OTA agent (65532's), so a's contents go into it.
    await g.run('cp -al /var/lib/lucid/slots/a/. /var/lib/lucid/slots/b && /usr/libexec/lucid-appliance/lucid-slot activate b', 300_000);
    await g.run(`mkdir -p /run/systemd/system/${UNIT}.d && printf '[Service]\\nDeviceAllow=\\nDeviceAllow=char-gpiochip rw\\nDeviceAllow=char-watchdog rw\\n' > /run/systemd/system/${UNIT}.d/no-usb.conf && systemctl daemon-reload`);
    times['restartSlotBS'] = await restart('restart into slot b → healthy');
    expect(await g.run('/usr/libexec/lucid-appliance/lucid-slot status')).toMatch(/^active: b\nmounted: b\n/);
    expect(await walletAnswer()).toMatch(/^503 HAL_ERR_UNAVAILABLE .*\(errno 1\)/); // EPERM from the device cgroup
    expect(await node()).toBe(nodeId);
  }, 1200_000);

  it('systemctl restart after slot b lost its marker: falls back to a by itself, healthy, data intact, the Ledger opens again', async () => {
    // b loses slot.env (an interrupted update); the drop-in goes: the unit as shipped again.
    await g.run(`rm /var/lib/lucid/slots/b/slot.env && rm -r /run/systemd/system/${UNIT}.d && systemctl daemon-reload`);
    times['restartToHealthyS'] = await restart('restart (fallback to a) → healthy');
    expect(await g.run('/usr/libexec/lucid-appliance/lucid-slot status')).toMatch(/^active: a\nmounted: a\n/);
    expect(await g.run('journalctl -u lucid-appliance-slot --no-pager -o cat')).toContain("active slot 'b' is not complete; switching to slot a");
    expect(await node()).toBe(nodeId);
    expect((await g.exec('test -e /var/lib/lucid/data/setup-code')).code).not.toBe(0);
    expect(await walletAnswer()).toMatch(/no vendor-class interface/); // the admin logs in; the Ledger opens again
  }, 1200_000);

  it('a crash of the supervisor: systemd starts it again, after the slot step', async () => {
    const before = Number((await g.run('journalctl -u lucid-appliance-slot --no-pager -o cat | grep -c "^starting slot"')).trim());
    // The shipped RestartSec=30s is what a Pi needs (restart-policy tests check the unit); this
    // test checks that systemd restarts at all, so a runtime drop-in shortens only the wait.
    await g.run(`mkdir -p /run/systemd/system/${UNIT}.d && printf '[Service]\\nRestartSec=2s\\n' > /run/systemd/system/${UNIT}.d/fast-restart.conf && systemctl daemon-reload`);
    const { MainPID: pid, InvocationID: inv } = await props(g, UNIT, ['MainPID', 'InvocationID']);
    await g.run(`systemctl reset-failed ${UNIT}; kill -KILL ${pid}`); // RestartSec, then the slot step and the start
    times['crashToHealthyS'] = await healthyAgain('crash → healthy', inv ?? '');
    await g.run(`rm -r /run/systemd/system/${UNIT}.d && systemctl daemon-reload`);
    expect(Number((await g.run('journalctl -u lucid-appliance-slot --no-pager -o cat | grep -c "^starting slot"')).trim())).toBeGreaterThanOrEqual(before + 1);
    expect(Number((await props(g, UNIT, ['NRestarts']))['NRestarts'])).toBeGreaterThanOrEqual(1);
  }, 1200_000);

  it('a guest reboot comes back healthy: same node, same admin, the LED shown again', async () => {
    console.log(`[vm full] guest journal before the reboot: ${await saveJournal(g, 'full', 'before-reboot')}`);
    times['rebootToAgentS'] = await g.reboot();
    times['rebootAgentToHealthyS'] = await healthyAgain('reboot: agent → healthy', '');
    expect(await node()).toBe(nodeId);
    await guestAdminToken(https(), async () => null);
    expect(await g.run(`cat /sys/class/leds/${led}/trigger`)).toContain('[none]');
    expect(await unitActive(g, 'lucid-appliance-slot.service')).toBe('inactive'); // a oneshot: it ran and ended
  }, 1500_000);

  it('apt remove stops it and keeps the data; purge keeps the data too, byte for byte', async () => {
    // The node's identity and the rest of the data: the same bytes after remove and purge (a
    // reinstall would find the same node; it costs a second slot unpack and start, ~2–4 min under
    // TCG, and adds nothing the restart and reboot tests do not already show).
    const sums = 'cd /var/lib/lucid/data && find keys -type f | sort | xargs sha256sum';
    const before = await g.run(sums);
    expect(before).toContain('node-ed25519.pem');
    await g.run('DEBIAN_FRONTEND=noninteractive apt-get remove -y -q lucid-appliance 2>&1', 300_000);
    expect((await unitActive(g, UNIT))).not.toBe('active');
    expect(await g.run('ls /var/lib/lucid; ls /var/lib/lucid/data/keys')).toMatch(/^data\n[\s\S]*node-ed25519\.pem/);
    expect((await g.exec('mountpoint -q /var/lib/lucid/root')).code).not.toBe(0);
    expect(await g.run('cat /etc/lucid/appliance.env')).toBe(siteEnv()); // a conffile: kept on remove
    const purge = await g.run('DEBIAN_FRONTEND=noninteractive apt-get purge -y -q lucid-appliance 2>&1', 300_000);
    expect(purge).toContain('kept the data folder /var/lib/lucid/data');
    expect((await g.exec('test -e /etc/lucid/appliance.env')).code).not.toBe(0);
    expect((await g.run('ls /var/lib/lucid; getent passwd lucid | cut -d: -f3')).trim()).toBe('data\n65532');
    expect(await g.run(sums)).toBe(before);
  }, 900_000);

  it('purge with LUCID_PURGE_DATA=yes removes the data folder and the lucid user as well', async () => {
    // The package back on disk without configuring it (no slot unpack, no start: postrm does not
    // depend on them), then the purge that is told to take the data.
    await g.run(`dpkg --unpack /mnt/host/${basename(fx.debs.amd64.file)} 2>&1`, 300_000);
    expect((await g.run("dpkg-query -W -f='${Status}' lucid-appliance")).trim()).toBe('install ok unpacked');
    const out = await g.run('LUCID_PURGE_DATA=yes dpkg --purge lucid-appliance 2>&1', 300_000);
    expect(out).toContain('removed /var/lib/lucid with the data folder');
    expect((await g.exec('test -e /var/lib/lucid')).code).not.toBe(0);
    expect((await g.exec('getent passwd lucid')).code).not.toBe(0);
    expect((await g.exec('getent group lucid')).code).not.toBe(0);
    expect((await g.exec('systemctl cat lucid-appliance.service')).code).not.toBe(0);
  }, 300_000);
});
