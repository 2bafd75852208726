// The payout process's walls on a real Debian 12 with systemd (the full guest of tests/vm): the
// .deb installs lucid-payout.service (its own user, its own state folder, a socket only group
// lucid may use, IPAddressDeny=any + the TRON node's addresses, Node's permission model) beside
// the appliance, which runs with LUCID_PAYOUT=external and connects to that socket. Then code run
// as core — uid 65532 in the appliance's own mount namespace and root — and code run as payout —
// its uid, its mount namespace, its cgroup (where systemd's IP filter sits) — try what an
// attacker would. Every refusal has a control beside it that succeeds, so a wall that is not
// there fails the test (services/payout/README.md "Isolation").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basename } from 'node:path';
import { debBuild, type DebFixture } from '../helpers/deb-build.js';
import { FullGuest, guestBase } from './harness/index.js';
import { waitUnitActive } from './harness/systemd.js';

const SOCKET = '/run/lucid-payout/payout.sock';
const PASSPHRASE = 'correct horse battery staple';
let fx: DebFixture;
let g: FullGuest;
let ip = '';

const pidOf = async (unit: string): Promise<string> => (await g.run(`systemctl show -p MainPID --value ${unit}`)).trim();
const b64 = (s: string): string => Buffer.from(s).toString('base64');
/** Runs a Node script with the image's node as core: uid/gid 65532, in the appliance's mount namespace and root. */
const asCore = async (script: string): Promise<{ code: number; stdout: string; stderr: string }> => {
  const pid = await pidOf('lucid-appliance.service');
  return g.exec(`nsenter -t ${pid} -m -r -w -S 65532 -G 65532 /usr/local/bin/node -e "$(echo ${b64(script)} | base64 -d)"`);
};
/** Runs a shell command as payout: its uid, in its cgroup (systemd's IP filter), on the host's file system. */
const intoPayoutCgroup = (rootCmd: string): Promise<{ code: number; stdout: string; stderr: string }> =>
  g.exec(`sh -c 'echo $$ > /sys/fs/cgroup/system.slice/lucid-payout.service/cgroup.procs && exec sh -c "$(echo ${b64(rootCmd)} | base64 -d)"'`);
const inPayoutCgroup = (cmd: string): Promise<{ code: number; stdout: string; stderr: string }> =>
  intoPayoutCgroup(`exec setpriv --reuid=lucid-payout --regid=lucid-payout --init-groups sh -c "$(echo ${b64(cmd)} | base64 -d)"`);
/** A TCP connect; prints `connected`, or bash's error, then `rc=<exit>` (124: no answer within 8 s — a dropped SYN). */
const tcp = (host: string, port: number): string => `timeout 8 bash -c 'exec 3<>/dev/tcp/${host}/${port} && echo connected' 2>&1; echo rc=$?`;
const refusedConnect = (out: string): void => {
  expect(out).not.toContain('connected');
  // systemd's filter drops the packets (the connect then waits) or the kernel answers EPERM.
  expect(/rc=124|Operation not permitted/.test(out), out).toBe(true);
};

// One NDJSON exchange over the payout socket, one message at a time, answers in order.
const CLIENT = `
const net = require('node:net'); const { randomUUID } = require('node:crypto');
const s = net.connect(${JSON.stringify(SOCKET)}); let buf = ''; const next = [];
s.on('data', (d) => { buf += d; let i; while ((i = buf.indexOf('\\n')) >= 0) { const line = buf.slice(0, i); buf = buf.slice(i + 1); next.shift()?.(JSON.parse(line)); } });
s.on('error', (e) => { console.log(JSON.stringify({ connectError: e.code })); process.exit(0); });
const send = (m) => new Promise((r) => { next.push(r); s.write(JSON.stringify(m) + '\\n'); });
const msg = (op, args, extra = {}) => ({ v: 1, id: randomUUID(), at: Date.now(), op, args, ...extra });
`;

beforeAll(async () => {
  fx = await debBuild();
  await guestBase();
  g = await FullGuest.create({ name: 'payout', share: fx.dir });
  await g.boot();
  ip = g.address;
  expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  // Site settings before the install: core connects to the payout unit's socket; the payout's
  // "TRON node" is this guest's own address (the appliance's port answers there), so a
  // connection it may make and one it may not can be told apart on one machine.
  await g.run([
    'mkdir -p /etc/lucid',
    `printf 'LUCID_HEARTBEAT_MS=10000\\nLUCID_PAYOUT=external\\nLUCID_PAYOUT_SOCKET=${SOCKET}\\n' > /etc/lucid/appliance.env`,
    `printf 'LUCID_TRON_URL=http://${ip}:8080\\nLUCID_HEARTBEAT_MS=10000\\n' > /etc/lucid/payout.env`,
  ].join(' && '));
  await g.run(`DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Options::=--force-confold /mnt/host/${basename(fx.debs.amd64.file)} 2>&1`, 900_000);
  await g.waitHealthy(300_000);
  await g.run('systemctl enable --now lucid-payout.service');
  await waitUnitActive(g, 'lucid-payout.service', 300_000);
  // Active is not listening yet: wait for the socket (Node under emulation starts slowly).
  for (let i = 0; i < 300 && (await g.exec(`test -S ${SOCKET}`)).code !== 0; i++) await new Promise((r) => setTimeout(r, 1000));
}, 60 * 60_000);

afterAll(async () => {
  await g?.dispose();
});

describe.sequential('payout process walls on Debian 12 with systemd (VM)', () => {
  it('runs as its own user with its own 0700 state folder; the socket is lucid-payout:lucid 0660; the network step allowed only the node', async () => {
    const pid = await pidOf('lucid-payout.service');
    const uids = (await g.run(`awk '/^Uid:/ { print $2, $3 }' /proc/${pid}/status; id -u lucid-payout; id -u lucid`)).trim().split('\n');
    expect(uids[0]).toBe(`${uids[1]} ${uids[1]}`); // real and effective: lucid-payout's
    expect(uids[1]).not.toBe(uids[2]);
    expect((await g.run(`tr '\\0' ' ' < /proc/${pid}/cmdline`))).toContain('--permission');
    expect((await g.run('stat -c "%U %a" /var/lib/lucid-payout')).trim()).toBe('lucid-payout 700');
    expect((await g.run(`stat -c "%U %G %a" ${SOCKET}`)).trim()).toBe('lucid-payout lucid 660');
    const deny = (await g.run('systemctl show -p IPAddressDeny --value lucid-payout.service')).trim();
    const allow = (await g.run('systemctl show -p IPAddressAllow --value lucid-payout.service')).trim();
    expect(deny).toMatch(/0\.0\.0\.0\/0|any/);
    expect(allow.split(/\s+/).map((a) => a.replace(/\/32$/, ''))).toEqual([ip]);
  }, 300_000);

  it('code run as core talks to the payout process only through the protocol: a forged approval and replayed or stale messages are refused', async () => {
    const r = await asCore(`${CLIENT}
(async () => {
  const out = {};
  const status = msg('status', {});
  out.status = (await send(status)).ok;
  const created = await send(msg('keystore.create', { passphrase: ${JSON.stringify(PASSPHRASE)} }));
  out.address = created.ok ? created.result.address : created.error.code;
  // Forged: an approver enrolled with a signature its key never made.
  out.forged = (await send(msg('approver.enroll', { approver: out.address, name: 'mallory', version: 1, signatures: ['0x' + '1b'.repeat(65)] }))).error?.code;
  out.replayed = (await send(status)).error?.code;                                    // the same id again
  out.stale = (await send(msg('status', {}, { at: Date.now() - 10 * 60_000 }))).error?.code;
  out.version = (await send(msg('status', {}, { v: 2 }))).error?.code;
  out.extraField = (await send({ ...msg('status', {}), sudo: true })).error?.code;
  const after = await send(msg('status', {}));
  out.approvers = after.result.approvers.length;
  console.log(JSON.stringify(out)); s.end();
})();`);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
    expect(out).toEqual({
      status: true, address: expect.stringMatching(/^T[1-9A-HJ-NP-Za-km-z]{33}$/),
      forged: 'PAYOUT_ERR_APPROVAL_INVALID', replayed: 'PAYOUT_ERR_IPC_REPLAY', stale: 'PAYOUT_ERR_IPC_REPLAY',
      version: 'PAYOUT_ERR_IPC_VERSION', extraField: 'PAYOUT_ERR_IPC_SCHEMA', approvers: 0,
    });
  }, 300_000);

  it('code run as core cannot read the keystore: not in its mount namespace, and EACCES as uid 65532 on the host', async () => {
    // The control: the keystore exists and root reads it.
    expect(await g.run('cat /var/lib/lucid-payout/keystore.json')).toContain('xchacha20-poly1305');
    const inCore = await asCore(`try { require('node:fs').readFileSync('/var/lib/lucid-payout/keystore.json'); console.log('read'); } catch (e) { console.log(e.code); }`);
    expect(inCore.stdout.trim()).toBe('ENOENT');
    const onHost = await g.exec('setpriv --reuid=65532 --regid=65532 --init-groups cat /var/lib/lucid-payout/keystore.json');
    expect(onHost.code).not.toBe(0);
    expect(onHost.stderr).toContain('Permission denied');
    const list = await g.exec('setpriv --reuid=65532 --regid=65532 --init-groups ls /var/lib/lucid-payout');
    expect(list.stderr).toContain('Permission denied');
  }, 300_000);

  it('code run as payout reaches its TRON node and nothing else: core\'s API on 127.0.0.1 is refused by the unit\'s IP filter', async () => {
    // Controls: the same port answers root, and the payout user outside the unit's cgroup.
    expect(await g.run(tcp('127.0.0.1', 8080))).toContain('connected');
    expect((await g.exec(`setpriv --reuid=lucid-payout --regid=lucid-payout --init-groups ${tcp('127.0.0.1', 8080)}`)).stdout).toContain('connected');
    const allowed = await inPayoutCgroup(tcp(ip, 8080));
    expect(allowed.stdout).toContain('connected');
    refusedConnect((await inPayoutCgroup(tcp('127.0.0.1', 8080))).stdout);
    // The guest's address on another port is the node's address: allowed (per address, not port).
    // The payout process itself: its node answers, the appliance's loopback port does not.
    const pid = await pidOf('lucid-payout.service');
    const probe = (url: string): string => `nsenter -t ${pid} -m -r -w -S $(id -u lucid-payout) -G $(id -g lucid-payout) /usr/local/bin/node -e "fetch('${url}', { signal: AbortSignal.timeout(8000) }).then((r) => console.log('status', r.status), (e) => console.log('error', e.cause?.code ?? e.name))"`;
    const viaNode = async (url: string): Promise<string> => (await intoPayoutCgroup(probe(url))).stdout.trim();
    expect(await viaNode(`http://${ip}:8080/healthz`)).toBe('status 200');
    expect(await viaNode('http://127.0.0.1:8080/healthz')).toMatch(/^error (TimeoutError|EPERM|UND_ERR_CONNECT_TIMEOUT)/);
  }, 300_000);

  it('code run as payout cannot read the master key, the store or session data', async () => {
    expect((await g.run('ls /var/lib/lucid/data'))).toContain('keys'); // the control: they exist
    const host = await g.exec('setpriv --reuid=lucid-payout --regid=lucid-payout --init-groups cat /var/lib/lucid/data/keys/master.key');
    expect(host.code).not.toBe(0);
    expect(host.stderr).toContain('Permission denied');
    // In its own namespace the appliance's data is not even there: /data is the payout's folder.
    const pid = await pidOf('lucid-payout.service');
    const ns = await g.exec(`nsenter -t ${pid} -m -r -w -S $(id -u lucid-payout) -G $(id -g lucid-payout) /usr/local/bin/node -e "const fs=require('node:fs');console.log(JSON.stringify({data:fs.readdirSync('/data').sort(),lucid:fs.existsSync('/var/lib/lucid')}))"`);
    expect(JSON.parse(ns.stdout.trim())).toEqual({ data: expect.arrayContaining(['keystore.json']), lucid: false });
    expect(JSON.parse(ns.stdout.trim()).data).not.toContain('keys');
  }, 300_000);
});
