// The SBOM artifacts: one CycloneDX document per platform, attached to its image manifest as an
// OCI 1.1 referrer (`subject`), listing every Debian package, the Node runtime, every package in
// /app/node_modules and every npm package bundled into /app/dist — each cross-checked against
// what the layers really contain.
import { beforeAll, describe, expect, it } from 'vitest';
import { imageBuild, type ImageFixture } from '../helpers/image-build.js';
import { EMPTY_DIGEST, MEDIA_TYPE, OciLayout, type ImageManifest } from '../../ota/shared/oci/index.js';
import { mergedRootfs, readLayers, type LayerContent } from '../../image/build/inspect.js';
import { DEBIAN_PACKAGES, NODE, PLATFORMS } from '../../image/build/recipe.js';
import { purlDeb, purlNpm } from '../../image/build/sbom.js';

interface Component { type: string; name: string; version: string; purl: string; licenses?: unknown[]; properties?: Array<{ name: string; value: string }> }
interface Bom { bomFormat: string; specVersion: string; serialNumber: string; metadata: { timestamp: string; component: { properties: Array<{ name: string; value: string }> } }; components: Component[] }

let fx: ImageFixture;
let layout: OciLayout;
const layers = new Map<string, LayerContent[]>();
const boms = new Map<string, Bom>();
beforeAll(async () => {
  fx = await imageBuild();
  layout = new OciLayout(fx.result.layoutDir);
  for (const p of fx.result.platforms) {
    layers.set(p.arch, await readLayers(layout, p.manifest.digest));
    const artifact = await layout.readJson<ImageManifest>(p.sbomManifest.digest);
    boms.set(p.arch, JSON.parse((await layout.readBlob(artifact.layers[0]!.digest)).toString('utf8')) as Bom);
  }
}, 20 * 60_000);

const prop = (c: Component, name: string): string | undefined => c.properties?.find((p) => p.name === name)?.value;

describe.each(PLATFORMS.map((p) => [p.arch] as const))('SBOM: %s', (arch) => {
  it('is an OCI artifact whose subject is the platform image, listed in index.json', async () => {
    const built = fx.result.platforms.find((p) => p.arch === arch)!;
    const artifact = await layout.readJson<ImageManifest>(built.sbomManifest.digest);
    expect(artifact.artifactType).toBe('application/vnd.cyclonedx+json');
    expect(artifact.config).toEqual({ mediaType: MEDIA_TYPE.empty, digest: EMPTY_DIGEST, size: 2 });
    expect(artifact.subject).toEqual({ mediaType: MEDIA_TYPE.manifest, digest: built.manifest.digest, size: built.manifest.size });
    expect(artifact.layers[0]!.mediaType).toBe('application/vnd.cyclonedx+json');
    expect((await layout.readIndex()).manifests.some((d) => d.digest === built.sbomManifest.digest && d.artifactType === artifact.artifactType)).toBe(true);
    const bom = boms.get(arch)!;
    expect(bom.bomFormat).toBe('CycloneDX');
    expect(bom.specVersion).toBe('1.5');
    expect(bom.serialNumber).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(bom.metadata.timestamp).toBe(fx.result.created);
    expect(bom.metadata.component.properties).toContainEqual({ name: 'oci:manifest-digest', value: built.manifest.digest });
  });

  it('lists every Debian package of the base layer with its version, .deb hash and licences', () => {
    const bom = boms.get(arch)!;
    const built = fx.result.platforms.find((p) => p.arch === arch)!;
    const fs = mergedRootfs(layers.get(arch)!);
    expect(built.debs.map((d) => d.name).sort()).toEqual([...DEBIAN_PACKAGES].sort());
    for (const deb of built.debs) {
      const c = bom.components.find((x) => x.purl === purlDeb(deb.name, deb.version, deb.architecture));
      expect(c, deb.name).toBeDefined();
      expect(c!.version).toBe(deb.version);
      expect(c!.licenses!.length, `${deb.name} licences`).toBeGreaterThan(0);
      // The licence text the SBOM points to ships in the image.
      const copyright = prop(c!, 'debian:copyright');
      expect(copyright, deb.name).toBeDefined();
      expect(fs.get(copyright!.slice(1))?.type, copyright).toBe('file');
    }
    const libc = bom.components.find((c) => c.name === 'libc6')!;
    expect(JSON.stringify(libc.licenses)).toContain('LGPL-2.1');
    expect(JSON.stringify(bom.components.find((c) => c.name === 'tzdata')!.licenses)).toContain('public-domain');
  });

  it('lists the Node runtime and every package in /app/node_modules with its version and licence', () => {
    const bom = boms.get(arch)!;
    const node = bom.components.find((c) => c.name === 'node')!;
    expect(node.version).toBe(NODE.version);
    const modules = layers.get(arch)!.find((l) => l.name === 'modules')!;
    const manifests = modules.entries.filter((e) => /^app\/node_modules\/(@[^/]+\/)?[^/]+(\/node_modules\/(@[^/]+\/)?[^/]+)*\/package\.json$/.test(e.path));
    expect(manifests.length).toBeGreaterThanOrEqual(10);
    for (const m of manifests) {
      const pkg = JSON.parse(m.data.toString('utf8')) as { name: string; version: string; license?: string };
      const c = bom.components.find((x) => x.purl === purlNpm(pkg.name, pkg.version) && prop(x, 'lucid:delivery') === 'node_modules');
      expect(c, `${pkg.name}@${pkg.version}`).toBeDefined();
      expect(prop(c!, 'lucid:path')).toBe(`/${m.path.replace(/\/package\.json$/, '')}`);
      if (pkg.license) expect(JSON.stringify(c!.licenses)).toContain(pkg.license);
    }
  });

  it('lists every npm package bundled into dist (each one esbuild marked in the bundle)', () => {
    const bom = boms.get(arch)!;
    const app = layers.get(arch)!.find((l) => l.name === 'app')!;
    const bundledDirs = new Set<string>();
    for (const e of app.entries.filter((x) => x.path.endsWith('.mjs'))) {
      // esbuild heads each module of a non-minified bundle with `// <path>` relative to the repo.
      for (const m of e.data.toString('utf8').matchAll(/^\/\/ (.*node_modules\/(?:@[^/]+\/)?[^/]+)\//gm)) bundledDirs.add(m[1]!);
    }
    expect(bundledDirs.size).toBeGreaterThan(20);
    const listed = new Set(bom.components.filter((c) => prop(c, 'lucid:delivery') === 'bundled').map((c) => prop(c, 'lucid:bundled-from')));
    expect([...bundledDirs].filter((d) => !listed.has(d))).toEqual([]);
    expect(bom.components.some((c) => c.name === 'fastify' && prop(c, 'lucid:delivery') === 'bundled')).toBe(true);
  });
});
