// The .deb for Debian-based hosts (Raspberry Pi OS Lite arm64 first, any Debian 12 amd64/arm64):
// one platform's image from the OCI layout the image build wrote, as an OCI layout again
// (/usr/lib/lucid-appliance/image — the maintainer scripts unpack it into a slot, and the OTA
// can count its layers as already held), plus the host side from image/pi/ (the systemd unit,
// udev rules, site settings; lucid-slot and pi-config in /usr/libexec/lucid-appliance) and the maintainer scripts in debian/.
// dpkg-deb builds it; no debhelper, no Docker. Same image and epoch → same .deb bytes.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createGunzip, gzipSync } from 'node:zlib';
import { dirname, join, relative } from 'node:path';
import { ANNOTATION, MEDIA_TYPE, OciLayout, canonicalJson, type Descriptor, type ImageIndex, type ImageManifest } from '../../ota/shared/oci/index.js';
import { run } from '../build/exec.js';
import { IMAGE, type Arch } from '../build/recipe.js';
import { isoTime } from '../build/source-info.js';

export const PACKAGE = IMAGE.name; // lucid-appliance
export const LIB_DIR = `usr/lib/${PACKAGE}`;
export const LIBEXEC_DIR = `usr/libexec/${PACKAGE}`;

export interface DebOptions {
  readonly repo: string;
  /** The OCI layout of `./build.sh image` (out/image/oci). */
  readonly layoutDir: string;
  readonly version: string;
  readonly revision: string;
  readonly sourceDateEpoch: number;
  readonly arch: Arch;
  readonly outDir: string;
  /** Scratch folder for the package tree (removed afterwards). */
  readonly workDir: string;
  readonly maintainer?: string;
}

export interface DebResult {
  readonly arch: Arch;
  readonly file: string;
  readonly size: number;
  readonly sha256: string;
  readonly manifest: string;
  readonly installedSizeKiB: number;
}

/** The appliance, its slot step, and the payout process with its network step (services/payout/README.md). */
export const UNITS = ['lucid-appliance.service', 'lucid-appliance-slot.service', 'lucid-payout.service', 'lucid-payout-net.service'] as const;

const DEFAULT_MAINTAINER = 'Lucid appliance maintainers <appliance@lucid.invalid>';

/** The platform manifest of `arch` and the SBOM artifact that refers to it. */
async function platformImage(layout: OciLayout, version: string, arch: Arch): Promise<{ manifest: Descriptor; sbom: Descriptor | null }> {
  const manifest = await layout.resolve(`${version}-${arch}`);
  let sbom: Descriptor | null = null;
  for (const d of (await layout.readIndex()).manifests) {
    if (d.artifactType !== MEDIA_TYPE.cyclonedx) continue;
    if ((await layout.readJson<ImageManifest>(d.digest)).subject?.digest === manifest.digest) sbom = d;
  }
  return { manifest, sbom };
}

/**
 * Copies the blobs of one image and its SBOM into a new layout. Copies, not hard links: dpkg-deb's
 * tar fails with "file changed as we read it" when the inode's ctime moves under it, which any
 * other link to the same blob does (the image group's OTA releases link the image's blobs into
 * their layouts while the package is built beside them — a clean-clone run failed there).
 */
async function writeImageDir(from: OciLayout, dir: string, version: string, arch: Arch): Promise<{ manifest: Descriptor; layers: string[] }> {
  const { manifest, sbom } = await platformImage(from, version, arch);
  const to = new OciLayout(dir);
  await to.init();
  const digests = new Set<string>();
  const image = await from.readJson<ImageManifest>(manifest.digest);
  for (const d of [manifest, image.config, ...image.layers]) digests.add(d.digest);
  if (sbom) {
    const artifact = await from.readJson<ImageManifest>(sbom.digest);
    for (const d of [sbom, artifact.config, ...artifact.layers]) digests.add(d.digest);
  }
  for (const digest of [...digests].sort()) {
    await from.verifyBlobFile(digest);
    await copyFile(from.blobPath(digest), to.blobPath(digest), constants.COPYFILE_FICLONE);
  }
  const index: ImageIndex = {
    schemaVersion: 2, mediaType: MEDIA_TYPE.index,
    manifests: [{ ...manifest, annotations: { ...manifest.annotations, [ANNOTATION.refName]: version } }, ...(sbom ? [sbom] : [])],
  };
  await writeFile(join(dir, 'index.json'), canonicalJson(index));
  const layers = image.layers.map((l) => {
    if (l.mediaType !== MEDIA_TYPE.layerGzip) throw new Error(`layer ${l.digest} is ${l.mediaType}; lucid-slot unpacks gzip layers only`);
    return l.digest;
  });
  // What lucid-slot reads (it has a shell, not a JSON parser).
  await writeFile(join(dir, 'image.env'), [
    `LUCID_IMAGE_VERSION=${version}`, `LUCID_IMAGE_ARCH=${arch}`, `LUCID_IMAGE_MANIFEST=${manifest.digest}`,
    `LUCID_IMAGE_LAYERS="${layers.join(' ')}"`, '',
  ].join('\n'));
  return { manifest, layers };
}

/** Bytes a gzip file inflates to (the layers' tar sizes: what the slot will take). */
async function inflatedSize(file: string): Promise<number> {
  let n = 0;
  for await (const chunk of createReadStream(file).pipe(createGunzip())) n += (chunk as Buffer).length;
  return n;
}

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) if (e.isFile()) out.push(relative(dir, join(e.parentPath, e.name)));
  return out.sort();
}

async function put(root: string, path: string, content: string | Buffer, mode = 0o644): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), content);
  await chmod(join(root, path), mode);
}

function rfc2822(epoch: number): string {
  return new Date(epoch * 1000).toUTCString().replace('GMT', '+0000');
}

export function control(o: { version: string; arch: Arch; maintainer: string; installedSizeKiB: number }): string {
  return [
    `Package: ${PACKAGE}`,
    `Version: ${o.version}`,
    `Architecture: ${o.arch}`,
    `Maintainer: ${o.maintainer}`,
    `Installed-Size: ${o.installedSizeKiB}`,
    'Depends: systemd, udev, init-system-helpers (>= 1.52), passwd, mount',
    'Section: misc',
    'Priority: optional',
    'Description: Lucid appliance runtime (supervisor, core services, web UI)',
    ' A plug-in appliance that records session streams as encrypted, Merkle-rooted',
    ' chunks, anchors them on a small BFT chain and serves a LAN web UI and API on',
    ' port 8080.',
    ' .',
    ' The package carries the appliance\'s distroless OCI image (glibc, Node.js and',
    ' the app; no shell) and unpacks it into slot a of /var/lib/lucid/slots. systemd',
    ' runs it from there with RootDirectory=, as the lucid user (65532), sandboxed,',
    ' with /var/lib/lucid/data as its only writable folder. On a Raspberry Pi it also',
    ' enables the push button\'s pull-up in config.txt.',
    ' .',
    ' Payouts (USDT on TRON) run apart, as lucid-payout.service under their own',
    ' user with a network allow-list; installed, not enabled.',
    '',
  ].join('\n');
}

export async function buildDeb(o: DebOptions): Promise<DebResult> {
  const maintainer = o.maintainer ?? DEFAULT_MAINTAINER;
  const pi = join(o.repo, 'image/pi');
  const debian = join(o.repo, 'image/deb/debian');
  const root = join(o.workDir, `${PACKAGE}_${o.arch}`);
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });

  const image = await writeImageDir(new OciLayout(o.layoutDir), join(root, LIB_DIR, 'image'), o.version, o.arch);
  await put(root, `${LIBEXEC_DIR}/lucid-slot`, await readFile(join(pi, 'lucid-slot')), 0o755);
  await put(root, `${LIBEXEC_DIR}/pi-config`, await readFile(join(pi, 'pi-config')), 0o755);
  // The OTA's host side (ota/README.md): the step lucid-slot runs first, the unit's drop-in, the watch timer.
  const ota = join(o.repo, 'ota/host');
  await put(root, `${LIBEXEC_DIR}/lucid-ota-boot`, await readFile(join(ota, 'lucid-ota-boot.sh')), 0o755);
  await put(root, 'lib/systemd/system/lucid-appliance.service.d/ota.conf', await readFile(join(ota, 'lucid-appliance-ota.conf')));
  for (const unit of ['lucid-ota-watch.service', 'lucid-ota-watch.timer']) await put(root, `lib/systemd/system/${unit}`, await readFile(join(ota, unit)));
  await put(root, `${LIBEXEC_DIR}/payout-net`, await readFile(join(pi, 'payout-net')), 0o755);
  for (const unit of UNITS) await put(root, `lib/systemd/system/${unit}`, await readFile(join(pi, unit)));
  await put(root, 'usr/lib/tmpfiles.d/lucid-payout.conf', await readFile(join(pi, 'lucid-payout.tmpfiles')));
  await put(root, 'lib/udev/rules.d/60-lucid-appliance.rules', await readFile(join(pi, '60-lucid-appliance.rules')));
  await put(root, 'etc/lucid/appliance.env', await readFile(join(pi, 'appliance.env')));
  const doc = `usr/share/doc/${PACKAGE}`;
  await put(root, `${doc}/README.host`, await readFile(join(debian, 'README.host')));
  await put(root, `${doc}/copyright`, (await readFile(join(debian, 'copyright'), 'utf8')).replaceAll('@YEAR@', String(new Date(o.sourceDateEpoch * 1000).getUTCFullYear())));
  const changelog = [
    `${PACKAGE} (${o.version}) unstable; urgency=medium`, '',
    `  * Built from revision ${o.revision.slice(0, 12)} (${isoTime(o.sourceDateEpoch)}).`,
    `  * Image manifest ${image.manifest.digest.slice(0, 19)}… (${o.arch}).`, '',
    ` -- ${maintainer}  ${rfc2822(o.sourceDateEpoch)}`, '',
  ].join('\n');
  await put(root, `${doc}/changelog.gz`, gzipSync(changelog, { level: 9 })); // node's gzip: no name, mtime 0
  await put(root, `usr/share/lintian/overrides/${PACKAGE}`, await readFile(join(debian, 'lintian-overrides')));

  // Installed-Size as dpkg-gencontrol counts it (KiB per file, rounded up), plus the slot that
  // postinst unpacks (apt checks the free space against it).
  const payload = await files(root);
  let installedSizeKiB = 0;
  for (const digest of image.layers) installedSizeKiB += Math.ceil((await inflatedSize(join(root, LIB_DIR, 'image/blobs/sha256', digest.slice(7)))) / 1024);
  const sums: string[] = [];
  for (const f of payload) {
    const bytes = await readFile(join(root, f));
    installedSizeKiB += Math.ceil(bytes.length / 1024) || 1;
    sums.push(`${createHash('md5').update(bytes).digest('hex')}  ${f}`);
  }
  const DEBIAN = join(root, 'DEBIAN');
  await put(root, 'DEBIAN/control', control({ version: o.version, arch: o.arch, maintainer, installedSizeKiB }));
  await put(root, 'DEBIAN/conffiles', '/etc/lucid/appliance.env\n');
  await put(root, 'DEBIAN/md5sums', `${sums.join('\n')}\n`);
  for (const script of ['preinst', 'postinst', 'prerm', 'postrm']) await put(root, `DEBIAN/${script}`, await readFile(join(debian, script)), 0o755);

  // Fixed times and modes: dpkg-deb takes both from the tree.
  for (const e of await readdir(root, { recursive: true, withFileTypes: true })) {
    const p = join(e.parentPath, e.name);
    if (e.isDirectory()) await chmod(p, 0o755);
    else if (e.isFile() && !((await stat(p)).mode & 0o100)) await chmod(p, 0o644);
    await utimes(p, o.sourceDateEpoch, o.sourceDateEpoch);
  }
  await chmod(DEBIAN, 0o755);
  await utimes(root, o.sourceDateEpoch, o.sourceDateEpoch);

  await mkdir(o.outDir, { recursive: true });
  const file = join(o.outDir, `${PACKAGE}_${o.version}_${o.arch}.deb`);
  // The layers are gzip already: xz over them would cost a minute and save ~2 %.
  await run('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z6', '--build', root, file], { env: { SOURCE_DATE_EPOCH: String(o.sourceDateEpoch) } });
  await rm(root, { recursive: true, force: true });
  const bytes = await readFile(file);
  return { arch: o.arch, file, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), manifest: image.manifest.digest, installedSizeKiB };
}
