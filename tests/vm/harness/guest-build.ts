// The Debian 12 amd64 guest, built from Debian packages with mmdebstrap (minbase + the kernel,
// systemd, udev, busybox) and customised by tests/vm/guest/customize-full.sh; cached under
// .cache/vm/debian12-<key>/ and rebuilt only when the recipe below or that script changes.
// One build yields both guests' parts:
//   disk.raw               the full guest's root file system (ext4, made with mkfs.ext4 -d: no
//                          loop device or mount needed); tests boot copy-on-write overlays of it
//   vmlinuz, initrd.img    Debian's kernel and a small initramfs (virtio + ext4 only)
//   lean/                  what the lean guest adds to its own initramfs: busybox (static) and
//                          the kernel modules for virtio disks, ext4 and the network, in load order
import { copyFile, mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../../image/build/exec.js';
import { REPO, cached, recipeKey, type Cached } from './cache.js';

export const GUEST_RECIPE = {
  suite: 'bookworm',
  variant: 'minbase',
  packages: ['systemd-sysv', 'udev', 'dbus', 'linux-image-amd64', 'kmod', 'iproute2', 'util-linux', 'busybox-static', 'e2fsprogs'],
  // Drivers no qemu guest of ours has: ~200 MB less disk to write and copy.
  excludePaths: [
    '/usr/share/man/*', '/usr/share/locale/*',
    ...['gpu', 'media', 'net/wireless', 'net/ethernet', 'infiniband', 'staging', 'isdn', 'iio', 'bluetooth', 'comedi', 'video', 'scsi/qla2xxx', 'scsi/lpfc', 'mtd']
      .map((d) => `/lib/modules/*/kernel/drivers/${d}/*`),
    '/lib/modules/*/kernel/sound/*',
  ],
  diskSize: '3G',
  leanModules: ['virtio_pci', 'virtio_blk', 'crc32c_generic', 'crc32c-intel', 'ext4', 'virtio_net', 'virtio-rng'],
} as const;

const CUSTOMIZE = join(REPO, 'tests/vm/guest/customize-full.sh');
const AGENT = join(REPO, 'tests/vm/guest/agent.sh');

export interface GuestBase {
  readonly kernelVersion: string;
  readonly disk: string;
  readonly kernel: string;
  readonly initrd: string;
  /** Lean guest parts: busybox and modules (paths relative to the build dir). */
  readonly leanModules: readonly string[];
  readonly seconds: { readonly mmdebstrap: number; readonly mkfs: number; readonly total: number };
}

/** The Debian mirror the host's own apt uses (so CI machines use their configured mirror). */
export function debianMirror(): string {
  if (process.env['LUCID_VM_MIRROR']) return process.env['LUCID_VM_MIRROR'];
  const texts: string[] = [];
  for (const dir of ['/etc/apt/sources.list.d']) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) if (/\.(sources|list)$/.test(f)) texts.push(readFileSync(join(dir, f), 'utf8'));
  }
  if (existsSync('/etc/apt/sources.list')) texts.push(readFileSync('/etc/apt/sources.list', 'utf8'));
  for (const t of texts) {
    // deb822: a stanza whose Suites include bookworm; one-line: "deb URI bookworm main".
    for (const stanza of t.split(/\n\s*\n/)) {
      const uri = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
      if (uri && /^Suites:.*\bbookworm\b(?!-)/m.test(stanza) && !/security/.test(uri)) return uri;
    }
    const line = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(t)?.[1];
    if (line && !/security/.test(line)) return line;
  }
  return 'http://deb.debian.org/debian';
}

/** Modules and their dependencies, dependencies first (from the kernel's modules.dep). */
function moduleOrder(modulesDir: string, names: readonly string[]): string[] {
  const deps = new Map<string, string[]>();
  for (const line of readFileSync(join(modulesDir, 'modules.dep'), 'utf8').split('\n')) {
    const [mod, rest] = line.split(':');
    if (mod) deps.set(mod, (rest ?? '').trim().split(/\s+/).filter(Boolean));
  }
  const byName = new Map([...deps.keys()].map((p) => [p.split('/').pop()!.replace(/\.ko(\.\w+)?$/, ''), p]));
  const order: string[] = [];
  const visit = (path: string): void => {
    if (order.includes(path)) return;
    for (const d of deps.get(path) ?? []) visit(d);
    order.push(path);
  };
  for (const n of names) {
    const path = byName.get(n);
    if (!path) throw new Error(`kernel module ${n} is not in ${modulesDir}/modules.dep`);
    visit(path);
  }
  return order;
}

async function buildBase(dir: string, log: (m: string) => void): Promise<GuestBase> {
  const started = performance.now();
  const rootfs = join(dir, 'rootfs');
  const mirror = debianMirror();
  const mode = process.getuid?.() === 0 ? 'root' : 'unshare';
  log(`mmdebstrap ${GUEST_RECIPE.suite} (${mode} mode) from ${mirror}`);
  await run('mmdebstrap', [
    `--variant=${GUEST_RECIPE.variant}`, `--mode=${mode}`, `--include=${GUEST_RECIPE.packages.join(',')}`,
    ...GUEST_RECIPE.excludePaths.map((p) => `--dpkgopt=path-exclude=${p}`),
    `--customize-hook=sh ${CUSTOMIZE} "$1"`,
    GUEST_RECIPE.suite, rootfs, mirror,
  ]);
  const debootstrapped = performance.now();
  const kernelVersion = (await readdir(join(rootfs, 'lib/modules')))[0]!;
  await copyFile(join(rootfs, `boot/vmlinuz-${kernelVersion}`), join(dir, 'vmlinuz'));
  await copyFile(join(rootfs, `boot/initrd.img-${kernelVersion}`), join(dir, 'initrd.img'));
  const modulesDir = join(rootfs, 'lib/modules', kernelVersion);
  const order = moduleOrder(modulesDir, GUEST_RECIPE.leanModules);
  await mkdir(join(dir, 'lean/modules'), { recursive: true });
  for (const m of order) await copyFile(join(modulesDir, m), join(dir, 'lean/modules', m.split('/').pop()!));
  await copyFile(join(rootfs, 'bin/busybox'), join(dir, 'lean/busybox'));
  const mkfsStart = performance.now();
  await run('mkfs.ext4', ['-q', '-F', '-L', 'root', '-d', rootfs, join(dir, 'disk.raw'), GUEST_RECIPE.diskSize]);
  const done = performance.now();
  await rm(rootfs, { recursive: true, force: true });
  const s = (a: number, b: number): number => Math.round((b - a) / 100) / 10;
  return {
    kernelVersion, disk: 'disk.raw', kernel: 'vmlinuz', initrd: 'initrd.img', leanModules: order.map((m) => m.split('/').pop()!),
    seconds: { mmdebstrap: s(started, debootstrapped), mkfs: s(mkfsStart, done), total: s(started, done) },
  };
}

let memo: Promise<Cached<GuestBase>> | null = null;

/** The guest's disk, kernel and lean parts for the current recipe (built on first use). */
export function guestBase(log: (m: string) => void = (m) => process.stderr.write(`[vm] ${m}\n`)): Promise<Cached<GuestBase>> {
  memo ??= (async () => {
    const key = recipeKey(GUEST_RECIPE, await readFile(CUSTOMIZE), await readFile(AGENT), await run('mmdebstrap', ['--version']));
    return cached('debian12', key, (dir) => buildBase(dir, log));
  })();
  return memo;
}

export function basePath(base: Cached<GuestBase>, file: string): string {
  return join(base.dir, file);
}
