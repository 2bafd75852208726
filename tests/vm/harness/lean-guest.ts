// The lean guest, for loops of power cuts: Debian's kernel, an uncompressed initramfs holding
// the image's amd64 root file system plus busybox, a few modules and tests/vm/guest/lean-init.sh
// as /init, and the appliance's data on its own virtio disk (ext4). No systemd, no package: the
// kernel reaches /init in ~2 s of guest time and the appliance starts at once, so a
// cut-and-reboot cycle costs the appliance's own start-up, not a distribution's boot.
// The initramfs is cached per image manifest under .cache/vm/lean-<key>/.
import { mkdtempSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../image/build/exec.js';
import { OciLayout, type ImageConfig, type ImageManifest } from '../../../ota/shared/oci/index.js';
import { freePort } from '../../helpers/appliance.js';
import { REPO, cached, recipeKey, type Cached } from './cache.js';
import { basePath, guestBase } from './guest-build.js';
import { QemuVm } from './qemu.js';
import type { ExecResult } from './agent.js';
import { PinnedHttps } from './guest-https.js';

const INIT = join(REPO, 'tests/vm/guest/lean-init.sh');
const AGENT = join(REPO, 'tests/vm/guest/agent.sh');
const BUSYBOX_APPLETS = ['sh', 'mount', 'umount', 'insmod', 'sed', 'cat', 'cut', 'base64', 'stty', 'setsid', 'su', 'ip', 'hostname', 'sleep', 'chown', 'chmod', 'mkdir', 'ls', 'ps', 'kill', 'sync', 'poweroff', 'reboot', 'printf', 'echo', 'grep', 'tail', 'head', 'wc', 'find', 'stat', 'rm', 'cp', 'mv', 'df', 'du', 'uptime', 'wget', 'dd', 'od', 'sha256sum', 'tr', 'test', '[', 'env', 'true', 'false', 'timeout', 'blockdev', 'xargs', 'awk', 'date', 'touch', 'dmesg', 'pidof'];

/** One platform's image in an OCI layout (the test fixture image by default). */
export interface LeanImage {
  readonly layoutDir: string;
  /** Ref name in the layout's index.json, e.g. `0.1.0-amd64`. */
  readonly ref: string;
}

export interface LeanInitrd {
  readonly initrd: string;
  readonly kernel: string;
  readonly manifest: string;
  readonly sizeBytes: number;
}

async function buildInitrd(dir: string, image: LeanImage): Promise<LeanInitrd> {
  const base = await guestBase();
  const layout = new OciLayout(image.layoutDir);
  const desc = await layout.resolve(image.ref);
  const manifest = await layout.readJson<ImageManifest>(desc.digest);
  const config = await layout.readJson<ImageConfig>(manifest.config.digest);
  const root = join(dir, 'root');
  await mkdir(root, { recursive: true });
  for (const l of manifest.layers) await run('tar', ['-xzf', layout.blobPath(l.digest), '-C', root, '--numeric-owner']);
  const lv = join(root, 'lucid-vm');
  await mkdir(join(lv, 'bin'), { recursive: true });
  await mkdir(join(lv, 'modules'), { recursive: true });
  await copyFile(basePath(base, 'lean/busybox'), join(lv, 'bin/busybox'));
  await chmod(join(lv, 'bin/busybox'), 0o755);
  for (const a of BUSYBOX_APPLETS) await symlink('busybox', join(lv, 'bin', a));
  for (const m of base.info.leanModules) await copyFile(basePath(base, `lean/modules/${m}`), join(lv, 'modules', m));
  await writeFile(join(lv, 'modules.order'), `${base.info.leanModules.join('\n')}\n`);
  // The image's own environment (as the unit sets it), then the lean guest's defaults.
  const env = [...(config.config.Env ?? []), 'LUCID_HAL=sim', 'HOME=/data'].map((kv) => {
    const i = kv.indexOf('=');
    return `${kv.slice(0, i)}=${shellQuote(kv.slice(i + 1))}`;
  });
  await writeFile(join(lv, 'image.env'), `${env.join('\n')}\n`);
  await copyFile(AGENT, join(lv, 'agent.sh'));
  await copyFile(INIT, join(root, 'init'));
  await chmod(join(root, 'init'), 0o755);
  // newc cpio, uncompressed: the kernel copies it instead of inflating ~120 MB under emulation.
  await run('sh', ['-c', 'cd "$1" && find . | LC_ALL=C sort | cpio --quiet -o -H newc --reproducible > "$2"', 'sh', root, join(dir, 'initrd.cpio')]);
  await run('rm', ['-rf', root]);
  const size = (await readFile(join(dir, 'initrd.cpio'))).length;
  return { initrd: 'initrd.cpio', kernel: basePath(base, base.info.kernel), manifest: desc.digest, sizeBytes: size };
}

export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The lean guest's initramfs for `image` (built once per image manifest and recipe). */
export async function leanInitrd(image: LeanImage): Promise<Cached<LeanInitrd>> {
  const base = await guestBase();
  const desc = await new OciLayout(image.layoutDir).resolve(image.ref);
  const key = recipeKey(base.dir, desc.digest, await readFile(INIT), await readFile(AGENT), BUSYBOX_APPLETS);
  return cached('lean', key, (dir) => buildInitrd(dir, image));
}

/** A fresh ext4 data disk (sparse file), owned by 65532 like /var/lib/lucid/data. */
export async function createDataDisk(file: string, sizeMiB = 1024): Promise<string> {
  await run('mkfs.ext4', ['-q', '-F', '-E', 'root_owner=65532:65532', file, `${sizeMiB}M`]);
  return file;
}

export interface LeanGuestOptions {
  readonly image: LeanImage;
  /** The data disk (createDataDisk); the same file across boots is the point. */
  readonly dataDisk: string;
  /** Settings for the appliance (LUCID_*), on top of the image's. */
  readonly env?: Readonly<Record<string, string>>;
  /** false: boot without starting the appliance. */
  readonly autostart?: boolean;
  readonly name?: string;
  readonly memoryMiB?: number;
  /** More qemu arguments (e.g. a QMP socket, harness/qmp.ts). */
  readonly extraArgs?: readonly string[];
  /** More host → guest forwards, beside the appliance's two. */
  readonly forwards?: ReadonlyArray<{ readonly host: number; readonly guest: number }>;
  /** Guest address:port → a host command per connection (harness/qemu.ts). */
  readonly guestForwards?: ReadonlyArray<{ readonly addr: string; readonly port: number; readonly cmd: string }>;
}

export interface LeanGuest {
  readonly vm: QemuVm;
  /** http://127.0.0.1:<forwarded port> → the guest's 8080 (plain: /healthz, /metrics only). */
  readonly url: string;
  /** HTTPS through the forward to the guest's 8443, the certificate read from /data and pinned. */
  readonly https: PinnedHttps;
  readonly bootId: string;
  exec(script: string, timeoutMs?: number): Promise<ExecResult>;
  run(script: string, timeoutMs?: number): Promise<string>;
  /** Polls /healthz from the host until 200; returns the seconds since qemu started. */
  waitHealthy(timeoutMs?: number): Promise<number>;
  /** SIGKILL qemu: the power cut. */
  powerCut(): Promise<void>;
}

export async function bootLeanGuest(o: LeanGuestOptions): Promise<LeanGuest> {
  const initrd = await leanInitrd(o.image);
  const port = await freePort();
  const httpsPort = await freePort();
  const env = Object.entries({ LUCID_PORT: '8080', LUCID_HTTPS_PORT: '8443', ...o.env }).map(([k, v]) => `${k}=${shellQuote(v)}`).join('\n');
  const dir = mkdtempSync(join(tmpdir(), 'lucid-lean-'));
  const vm = new QemuVm({
    name: o.name ?? 'lean', dir, memoryMiB: o.memoryMiB ?? 1024,
    kernel: initrd.info.kernel, initrd: join(initrd.dir, initrd.info.initrd),
    append: `console=ttyS0 quiet panic=-1 lucid.env=${Buffer.from(`${env}\n`).toString('base64')}${o.autostart === false ? ' lucid.autostart=0' : ''}`,
    drives: [{ file: o.dataDisk, format: 'raw' }],
    forwards: [{ host: port, guest: 8080 }, { host: httpsPort, guest: 8443 }, ...(o.forwards ?? [])],
    ...(o.guestForwards ? { guestForwards: o.guestForwards } : {}),
    ...(o.extraArgs ? { extraArgs: o.extraArgs } : {}),
  });
  // ~6 s to init on an idle machine; under TCG a loaded 2-core machine (load 20–30 seen here)
  // stretches the quiet kernel's boot past 120 s with nothing on the console. A hang still fails.
  const bootId = await vm.agent.ready(300_000);
  const url = `http://127.0.0.1:${port}`;
  const https = new PinnedHttps(`https://127.0.0.1:${httpsPort}`, () => vm.agent.run('cat /data/keys/tls-cert.pem'));
  return {
    vm, url, https, bootId,
    exec: (script, timeoutMs) => vm.agent.exec(script, timeoutMs),
    run: (script, timeoutMs) => vm.agent.run(script, timeoutMs),
    waitHealthy: (timeoutMs = 120_000) => waitHealthy(vm, url, timeoutMs),
    powerCut: async () => { await vm.powerCut(); await https.close(); },
  };
}

/** GET /healthz through the forward until it answers 200. */
export async function waitHealthy(vm: QemuVm, url: string, timeoutMs: number): Promise<number> {
  const until = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < until) {
    if (!vm.alive) throw new Error(`qemu exited before /healthz answered\n${vm.consoleTail()}`);
    try {
      const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(3000) });
      if (r.status === 200) return vm.seconds();
      last = `${r.status} ${await r.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`/healthz not 200 within ${timeoutMs} ms (last: ${last})\n${vm.consoleTail(60)}`);
}
