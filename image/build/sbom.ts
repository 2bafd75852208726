// The SBOM of one platform's image, as CycloneDX 1.5 JSON: every Debian package of the base layer
// (version, licences from its copyright file, the .deb's sha256), the Node runtime, every npm
// package in /app/node_modules and every npm package bundled into /app/dist (from esbuild's
// metafile). CycloneDX rather than SPDX because Debian's licence names ("GPL-2+", "public-domain")
// are not all SPDX ids: CycloneDX keeps them as names without inventing LicenseRef-s.
// Deterministic: sorted components, a serial number derived from the image digest, time = created.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { UnpackedDeb } from './debs.js';
import type { NpmPackage } from './modules.js';
import { DEBIAN_DISTRO, IMAGE, type PlatformRecipe } from './recipe.js';

export const SBOM_MEDIA_TYPE = 'application/vnd.cyclonedx+json';

export interface SbomInput {
  readonly platform: PlatformRecipe;
  readonly version: string;
  readonly revision: string;
  readonly created: string;
  readonly manifestDigest: string;
  readonly debs: ReadonlyArray<Omit<UnpackedDeb, 'root'>>;
  readonly node: { readonly version: string; readonly npmPackage: string; readonly integrity: string };
  readonly modules: readonly NpmPackage[];
  readonly bundled: readonly NpmPackage[];
  readonly builderVersion: string;
}

/** SPDX ids we are sure of; anything else is given as a licence name. */
const SPDX_IDS = new Set([
  'MIT', 'ISC', 'Apache-2.0', 'BSD-2-Clause', 'BSD-3-Clause', 'MPL-2.0', '0BSD', 'Zlib', 'CC0-1.0', 'Unlicense', 'BlueOak-1.0.0',
  'GPL-2.0-only', 'GPL-2.0-or-later', 'GPL-3.0-only', 'GPL-3.0-or-later', 'LGPL-2.1-only', 'LGPL-2.1-or-later', 'LGPL-3.0-only', 'LGPL-3.0-or-later',
]);

export function purlNpm(name: string, version: string): string {
  const [scope, bare] = name.startsWith('@') ? name.split('/') as [string, string] : [null, name];
  return `pkg:npm/${scope ? `${encodeURIComponent(scope)}/` : ''}${encodeURIComponent(bare)}@${encodeURIComponent(version)}`;
}

export function purlDeb(name: string, version: string, arch: string): string {
  return `pkg:deb/debian/${encodeURIComponent(name)}@${encodeURIComponent(version)}?arch=${arch}&distro=${DEBIAN_DISTRO}`;
}

function licenseList(names: readonly string[]): object[] {
  return names.map((n) => (SPDX_IDS.has(n) ? { license: { id: n } } : { license: { name: n } }));
}

function npmLicense(license: string | null): object[] {
  if (!license) return [];
  return SPDX_IDS.has(license) ? [{ license: { id: license } }] : [{ expression: license }];
}

function npmComponent(pkg: NpmPackage, layer: string, delivery: string): Record<string, unknown> {
  const purl = purlNpm(pkg.name, pkg.version);
  return {
    type: 'library', 'bom-ref': `${purl}#${delivery}`, name: pkg.name, version: pkg.version, purl,
    licenses: npmLicense(pkg.license),
    properties: [
      { name: 'lucid:layer', value: layer },
      { name: 'lucid:delivery', value: delivery },
      ...(pkg.native ? [{ name: 'lucid:native', value: pkg.native }] : []),
      delivery === 'bundled'
        ? { name: 'lucid:bundled-from', value: pkg.path }
        : { name: 'lucid:path', value: `${IMAGE.appDir}/${pkg.path}` },
    ],
  };
}

export function cycloneDx(input: SbomInput): Record<string, unknown> {
  const { platform: p } = input;
  const components: Array<Record<string, unknown>> = [];
  for (const deb of input.debs) {
    const purl = purlDeb(deb.name, deb.version, deb.architecture);
    components.push({
      type: 'library', 'bom-ref': purl, name: deb.name, version: deb.version, purl,
      hashes: [{ alg: 'SHA-256', content: deb.sha256 }],
      licenses: licenseList(deb.licenses),
      ...(deb.homepage ? { externalReferences: [{ type: 'website', url: deb.homepage }] } : {}),
      properties: [
        { name: 'lucid:layer', value: 'base' },
        { name: 'debian:source', value: `${deb.source} ${deb.sourceVersion}` },
        ...(deb.copyrightPath ? [{ name: 'debian:copyright', value: deb.copyrightPath }] : []),
      ],
    });
  }
  const nodePurl = purlNpm(input.node.npmPackage, input.node.version);
  components.push({
    type: 'application', 'bom-ref': nodePurl, name: 'node', version: input.node.version, purl: nodePurl,
    description: `Node.js ${input.node.version} (official binary, from npm ${input.node.npmPackage}; debug symbols stripped)`,
    hashes: [{ alg: 'SHA-512', content: Buffer.from(input.node.integrity.replace(/^sha512-/, ''), 'base64').toString('hex') }],
    licenses: [{ license: { id: 'MIT' } }],
    properties: [{ name: 'lucid:layer', value: 'runtime' }, { name: 'lucid:path', value: IMAGE.nodePath }],
  });
  for (const pkg of input.modules) components.push(npmComponent(pkg, 'modules', 'node_modules'));
  for (const pkg of input.bundled) components.push(npmComponent(pkg, 'app', 'bundled'));
  components.sort((a, b) => (String(a['bom-ref']) < String(b['bom-ref']) ? -1 : 1));

  const serial = createHash('sha256').update(`lucid-sbom:${input.manifestDigest}`).digest('hex');
  const uuid = `${serial.slice(0, 8)}-${serial.slice(8, 12)}-5${serial.slice(13, 16)}-${((parseInt(serial.slice(16, 17), 16) & 0x3) | 0x8).toString(16)}${serial.slice(17, 20)}-${serial.slice(20, 32)}`;
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${uuid}`,
    version: 1,
    metadata: {
      timestamp: input.created,
      tools: { components: [{ type: 'application', name: 'lucid-image-builder', version: input.builderVersion }] },
      component: {
        type: 'container', 'bom-ref': 'image', name: IMAGE.name, version: input.version,
        purl: `pkg:oci/${IMAGE.name}@${encodeURIComponent(input.manifestDigest)}?arch=${p.arch}`,
        properties: [
          { name: 'oci:platform', value: [p.platform.os, p.platform.architecture, p.platform.variant].filter(Boolean).join('/') },
          { name: 'oci:manifest-digest', value: input.manifestDigest },
          { name: 'vcs:revision', value: input.revision },
        ],
      },
    },
    components,
  };
}

/**
 * npm packages esbuild bundled into dist/: each input under node_modules belongs to the package
 * whose folder is the last `node_modules/<name>` (or `<@scope/name>`) in its path.
 */
export async function bundledPackages(repo: string, inputs: readonly string[]): Promise<NpmPackage[]> {
  const dirs = new Set<string>();
  for (const input of inputs) {
    const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m) dirs.add(m[1]!);
  }
  const out: NpmPackage[] = [];
  for (const dir of [...dirs].sort()) {
    const pkg = JSON.parse(await readFile(join(repo, dir, 'package.json'), 'utf8')) as { name: string; version: string; license?: unknown };
    out.push({ name: pkg.name, version: pkg.version, license: typeof pkg.license === 'string' ? pkg.license : null, path: dir, native: null });
  }
  return out;
}
