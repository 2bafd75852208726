// The base layer: the shared libraries, certificates, time zones and /etc files of the unpacked
// Debian packages, minus everything a distroless image must not have (programs, docs, locales,
// gconv modules, maintainer tooling), plus the few files a package's maintainer script or a
// base system would normally generate (passwd/group, the CA bundle, nsswitch.conf).
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { IMAGE, NONROOT, type PlatformRecipe } from './recipe.js';
import type { UnpackedDeb } from './debs.js';
import { Tree, type HostFilter } from './tree.js';

/** Folders dropped whole from the .debs. */
function dropDirs(triplet: string): string[] {
  return [
    'bin', 'sbin', 'usr/bin', 'usr/sbin', 'usr/libexec', 'usr/games', 'var', 'run',
    'usr/share/man', 'usr/share/info', 'usr/share/lintian', 'usr/share/locale', 'usr/share/i18n',
    'usr/share/gdb', 'usr/share/gcc', 'usr/share/bug', 'usr/share/doc-base',
    `usr/lib/${triplet}/gconv`, `usr/lib/${triplet}/audit`,
    // Leap-second ("right/") zones: no program here asks for them; 600+ files.
    'usr/share/zoneinfo/right',
    'etc/ca-certificates',
  ];
}

const KEEP_FILES: readonly RegExp[] = [
  /^(lib|lib64|usr\/lib)\/.*\.so(\.[0-9][0-9.]*)?$/, // shared libraries and the dynamic loader
  /^etc\/(ld\.so\.conf\.d\/[^/]+|protocols|services|rpc|ethertypes)$/,
  /^usr\/share\/zoneinfo\//,
  /^usr\/share\/ca-certificates\/.+\.crt$/,
  /^usr\/share\/doc\/[^/]+\/copyright$/, // licence texts stay with the binaries
  /^usr\/share\/doc\/[^/]+$/, // a symlinked doc folder (libstdc++6 → gcc-12-base)
];

export function baseFilter(triplet: string): HostFilter {
  const drops = dropDirs(triplet);
  return (rel, isDir) => {
    if (drops.some((d) => rel === d || rel.startsWith(`${d}/`))) return false;
    if (isDir) return !(rel.startsWith('usr/share/doc/') && rel.split('/').length > 4);
    return KEEP_FILES.some((re) => re.test(rel));
  };
}

export async function baseTree(debs: readonly UnpackedDeb[], p: PlatformRecipe): Promise<Tree> {
  const tree = new Tree();
  const filter = baseFilter(p.triplet);
  for (const deb of debs) await tree.addHost(deb.root, '', filter);

  // What dpkg's maintainer scripts and base-files would have made.
  tree.file('etc/passwd', [
    'root:x:0:0:root:/root:/sbin/nologin',
    `${NONROOT.name}:x:${NONROOT.uid}:${NONROOT.gid}:${NONROOT.name}:${IMAGE.dataDir}:/sbin/nologin`,
    'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin',
    '',
  ].join('\n'));
  tree.file('etc/group', ['root:x:0:', `${NONROOT.name}:x:${NONROOT.gid}:`, 'nogroup:x:65534:', ''].join('\n'));
  tree.file('etc/nsswitch.conf', 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n');
  tree.file('etc/hosts', '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n');
  // Empty mount point: the host (systemd BindReadOnlyPaths, a container runtime) supplies it.
  tree.file('etc/resolv.conf', '');
  tree.file('etc/os-release', [
    'PRETTY_NAME="Lucid appliance (distroless, Debian 12 libraries)"',
    'NAME="Lucid appliance"',
    'ID=lucid',
    'ID_LIKE=debian',
    'VERSION_CODENAME=bookworm',
    'HOME_URL="https://www.debian.org/"',
    '',
  ].join('\n'));
  const ca = debs.find((d) => d.name === 'ca-certificates');
  if (ca) tree.file('etc/ssl/certs/ca-certificates.crt', await caBundle(join(ca.root, 'usr/share/ca-certificates')));

  // Mount points and the one writable place. /tmp is a mount point for a tmpfs (sticky, like
  // any /tmp); on a read-only root nothing can write there without one. /var/tmp too: systemd's
  // PrivateTmp= mounts over both, and on a device the slot is mounted read-only, so systemd
  // cannot create the mount point itself (the unit fails at step NAMESPACE without it).
  for (const dir of ['proc', 'sys', 'dev', 'run']) tree.dir(dir, 0o755);
  tree.dir('tmp', 0o1777);
  tree.dir('var', 0o755);
  tree.dir('var/tmp', 0o1777);
  tree.dir(IMAGE.dataDir, 0o700, { uid: NONROOT.uid, gid: NONROOT.gid });
  return tree;
}

/** update-ca-certificates' output: every certificate PEM concatenated, in sorted path order. */
async function caBundle(dir: string): Promise<string> {
  const files: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const entry of (await readdir(join(dir, rel), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith('.crt')) files.push(path);
    }
  };
  await walk('');
  const parts: string[] = [];
  for (const f of files) {
    const pem = await readFile(join(dir, f), 'utf8');
    parts.push(pem.endsWith('\n') ? pem : `${pem}\n`);
  }
  return parts.join('');
}
