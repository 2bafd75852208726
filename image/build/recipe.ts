// What goes into the appliance image, in one place: platforms, the Node runtime, the Debian
// packages of the base layer, the native addons of the app, the image config. Changing a value
// here changes the image; the builder code only carries it out.

import nodePin from './node-runtime.json' with { type: 'json' };

export type Arch = 'amd64' | 'arm64';

export interface PlatformRecipe {
  readonly arch: Arch;
  /** OCI platform fields. */
  readonly platform: { readonly architecture: Arch; readonly os: 'linux'; readonly variant?: 'v8' };
  /** npm's --cpu / node-gyp's --arch. */
  readonly npmCpu: 'x64' | 'arm64';
  /** GNU triplet: Debian multiarch dir and the prefix of the (cross) toolchain. */
  readonly triplet: string;
  /** ELF e_machine of binaries for this arch (62 x86-64, 183 AArch64). */
  readonly elfMachine: number;
}

export const PLATFORMS: readonly PlatformRecipe[] = [
  { arch: 'amd64', platform: { architecture: 'amd64', os: 'linux' }, npmCpu: 'x64', triplet: 'x86_64-linux-gnu', elfMachine: 62 },
  { arch: 'arm64', platform: { architecture: 'arm64', os: 'linux', variant: 'v8' }, npmCpu: 'arm64', triplet: 'aarch64-linux-gnu', elfMachine: 183 },
];

/**
 * Node 24 LTS, the official binaries republished on npm as `node-linux-<cpu>` (the only registry
 * we reach). The version exists for both CPUs; the integrity pins the exact tarball, so a
 * republished package fails the build instead of changing the image. The pin lives in
 * node-runtime.json because build.sh reads it too: the suite and `./build.sh run` run on this
 * same Node, fetched by the host's Node only as a bootstrap.
 */
export const NODE: { readonly version: string; readonly integrity: Readonly<Record<Arch, string>> } = nodePin;

/**
 * The base layer: glibc, the C++ runtime, CA certificates, time zones and /etc/services. Nothing
 * else: no shell, no package manager (libc-bin and dpkg are not here). gcc-12-base carries only
 * the copyright file that libgcc-s1 and libstdc++6 point to. node-hid (libusb, libudev) is not a
 * dependency yet; add `libusb-1.0-0` and `libudev1` here when it becomes one.
 */
export const DEBIAN_PACKAGES: readonly string[] = ['libc6', 'libgcc-s1', 'libstdc++6', 'gcc-12-base', 'ca-certificates', 'tzdata', 'netbase'];

/** Debian release the base is taken from (recorded in the SBOM's purls). */
export const DEBIAN_DISTRO = 'debian-12';

/**
 * Packages of the app's node_modules (everything else is bundled into dist/ by image/bundle.mjs,
 * whose EXTERNAL list this must match), and how each native one gets its binary for the target.
 */
export const NATIVE_ADDONS: Readonly<Record<string, 'prebuilt' | 'compile'>> = {
  'classic-level': 'prebuilt', // prebuilds/linux-<cpu>/ in its tarball
  epoll: 'compile', // onoff's dependency; NAN, so compiled against the Node 24 headers
  'lucid-sd-notify': 'compile', // our N-API addon (hal/system/sd-notify/native)
  usb: 'prebuilt', // napi-rs: the @node-usb/usb-linux-<cpu>-gnu optional dependency (hal/wallet)
};

/** Addons whose binary ships in a per-platform package (napi-rs) rather than their own folder. */
export const BINARY_PACKAGE_PREFIX: Readonly<Record<string, string>> = { usb: '@node-usb/usb-linux-' };

/** Needed to compile, never at run time. */
export const BUILD_ONLY_PACKAGES: readonly string[] = ['nan'];

export const NONROOT = { uid: 65532, gid: 65532, name: 'nonroot' } as const;

export const IMAGE = {
  name: 'lucid-appliance',
  title: 'Lucid appliance runtime',
  description: 'Supervisor, core services and web UI of the Lucid appliance (distroless: glibc + Node 24, no shell).',
  /** Where things live inside the image. */
  appDir: '/app',
  dataDir: '/data',
  nodePath: '/usr/local/bin/node',
  entrypoint: ['/usr/local/bin/node', '/app/dist/entries/supervisor.mjs'],
  env: [
    'PATH=/usr/local/bin',
    'NODE_ENV=production',
    'LUCID_PROFILE=device',
    'LUCID_DATA_DIR=/data',
    'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt',
  ],
  /** LUCID_PORT (plain HTTP: health, metrics, redirects) and LUCID_HTTPS_PORT (the API and web UI). */
  ports: [8080, 8443],
} as const;

/** Layers bottom to top: what changes least sits lowest, so an update downloads only the top. */
export const LAYER_ORDER = ['base', 'runtime', 'modules', 'app'] as const;
export type LayerName = (typeof LAYER_ORDER)[number];
