// The image build: for each platform four layers (base < runtime < modules < app), the image
// config and manifest, and an SBOM artifact referring to the manifest; then the index over both
// platforms, the layout's index.json, an OCI archive and build.json. No Docker, no base image:
// Debian .debs, npm's node-linux-<cpu>, the production node_modules and the bundled dist/.
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { bundle, EXTERNAL } from '../bundle.mjs';
import {
  ANNOTATION, EMPTY_DIGEST, EMPTY_JSON, MEDIA_TYPE, OciLayout,
  type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest,
} from '../../ota/shared/oci/index.js';
import { baseTree } from './base.js';
import { fetchDeb, resolveDebs, unpackDebs, type DebPackage, type UnpackedDeb } from './debs.js';
import { run } from './exec.js';
import { writeLayer, type BuiltLayer } from './layer.js';
import { LayerCache, cacheKey, hashFiles } from './layer-cache.js';
import { installModules, modulesTree, type NpmPackage } from './modules.js';
import { DEBIAN_PACKAGES, IMAGE, LAYER_ORDER, NATIVE_ADDONS, NODE, NONROOT, PLATFORMS, type Arch, type LayerName, type PlatformRecipe } from './recipe.js';
import { prepareNode, runtimeTree, type NodeRuntime } from './runtime.js';
import { SBOM_MEDIA_TYPE, bundledPackages, cycloneDx } from './sbom.js';
import { LAYER_INPUTS, isoTime, sourceInfo, type SourceInfo } from './source-info.js';
import { tarStream } from './tar.js';
import { Tree } from './tree.js';

export const BUILDER_VERSION = '2';

export interface BuildOptions {
  readonly repo: string;
  /** Receives oci/ (the layout), the .oci.tar archive, sbom-<arch>.cdx.json and build.json. */
  readonly outDir: string;
  /** Downloads (.debs, node tarballs, npm cache) and the layer cache. */
  readonly cacheDir: string;
  /** Scratch space for this build (unpacked debs, node, node_modules staging, dist). */
  readonly workDir: string;
  readonly platforms?: readonly Arch[];
  /** Reuse base/runtime/modules layers built from identical inputs. Default true. */
  readonly layerCache?: boolean;
  /**
   * Layers built from scratch even when the cache has them (the reproducibility test): a layer
   * name for every platform, or `<arch>/<name>` for one.
   */
  readonly rebuild?: readonly string[];
  /** Write the OCI archive tar. Default true. */
  readonly archive?: boolean;
  readonly log?: (message: string) => void;
  readonly env?: NodeJS.ProcessEnv;
}

export interface LayerResult extends BuiltLayer {
  readonly mtime: number;
  readonly cached: boolean;
}

export interface PlatformResult {
  readonly arch: Arch;
  readonly platform: PlatformRecipe['platform'];
  readonly manifest: Descriptor;
  readonly config: Descriptor;
  readonly sbom: Descriptor;
  readonly sbomManifest: Descriptor;
  readonly layers: readonly LayerResult[];
  readonly debs: ReadonlyArray<Omit<UnpackedDeb, 'root'>>;
  readonly modules: readonly NpmPackage[];
}

export interface BuildResult {
  readonly version: string;
  readonly revision: string;
  readonly dirty: boolean;
  readonly created: string;
  readonly source: string;
  readonly layoutDir: string;
  readonly archive: string | null;
  readonly index: Descriptor;
  readonly platforms: readonly PlatformResult[];
  readonly node: { readonly version: string; readonly integrity: Readonly<Record<Arch, string>> };
  readonly bundled: readonly NpmPackage[];
  readonly seconds: number;
}

interface Context {
  readonly options: BuildOptions;
  readonly info: SourceInfo;
  readonly layout: OciLayout;
  readonly cache: LayerCache;
  readonly distDir: string;
  readonly bundled: readonly NpmPackage[];
  readonly candidates: Awaited<ReturnType<typeof resolveDebs>>;
  readonly log: (message: string) => void;
}

/** Files under `paths` (folders expanded, build output skipped), for cache keys. */
async function expand(repo: string, paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const st = await stat(join(repo, p)).catch(() => null);
    if (!st?.isDirectory()) { out.push(p); continue; }
    for (const entry of await readdir(join(repo, p), { recursive: true, withFileTypes: true })) {
      const rel = relative(repo, join(entry.parentPath, entry.name));
      if (entry.isFile() && !/(^|\/)(build|node_modules)\//.test(rel)) out.push(rel);
    }
  }
  return out.sort();
}

async function layer(ctx: Context, name: LayerName, p: PlatformRecipe, keyParts: object | null, make: () => Promise<{ tree: Tree; meta: unknown }>): Promise<{ layer: LayerResult; meta: unknown }> {
  const mtime = ctx.info.layerEpochs[name];
  const key = keyParts ? cacheKey({ name, arch: p.arch, mtime, builder: BUILDER_VERSION, ...keyParts }) : null;
  const forced = ctx.options.rebuild?.some((r) => r === name || r === `${p.arch}/${name}`) ?? false;
  const hit = key && !forced ? await ctx.cache.restore<unknown>(key, ctx.layout) : null;
  if (hit) {
    ctx.log(`${p.arch} ${name}: cached ${hit.layer.descriptor.digest.slice(7, 19)}`);
    return { layer: { ...hit.layer, mtime, cached: true }, meta: hit.meta };
  }
  const started = performance.now();
  const { tree, meta } = await make();
  const built = await writeLayer(ctx.layout, name, tree, mtime);
  if (key) await ctx.cache.store(key, ctx.layout, built, meta);
  ctx.log(`${p.arch} ${name}: ${built.descriptor.digest.slice(7, 19)} ${(built.descriptor.size / 1048576).toFixed(1)} MiB in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { layer: { ...built, mtime, cached: false }, meta };
}

async function buildPlatform(ctx: Context, p: PlatformRecipe): Promise<PlatformResult> {
  const { repo, cacheDir } = ctx.options;
  const work = join(ctx.options.workDir, p.arch);
  await mkdir(work, { recursive: true });

  const fetched: DebPackage[] = [];
  for (const candidate of ctx.candidates.filter((c) => c.arch === p.arch)) fetched.push(await fetchDeb(candidate, cacheDir));
  // Unpacked only when the layer is built; a cached layer brings the licences in its metadata.
  const base = await layer(ctx, 'base', p, { debs: fetched.map((d) => [d.name, d.version, d.sha256]), files: await hashFiles(repo, LAYER_INPUTS.base) },
    async () => {
      const unpacked: UnpackedDeb[] = await unpackDebs(fetched, join(work, 'debs'));
      return { tree: await baseTree(unpacked, p), meta: unpacked.map(({ root: _root, ...rest }) => rest) };
    });
  const debs = base.meta as Array<Omit<UnpackedDeb, 'root'>>;

  let node: NodeRuntime | null = null;
  const getNode = async (): Promise<NodeRuntime> => (node ??= await prepareNode(p, cacheDir, work));
  const strip = (await run(`${p.triplet}-strip`, ['--version'])).split('\n')[0];
  const runtime = await layer(ctx, 'runtime', p, { node: NODE.integrity[p.arch], strip, files: await hashFiles(repo, LAYER_INPUTS.runtime) },
    async () => ({ tree: await runtimeTree(await getNode()), meta: null }));

  const compiler = (await run(`${p.triplet}-g++`, ['--version'])).split('\n')[0];
  const npmVersion = (await run('npm', ['--version'])).trim();
  const modules = await layer(ctx, 'modules', p, {
    node: NODE.integrity[p.arch], compiler, npmVersion, external: EXTERNAL, natives: NATIVE_ADDONS,
    files: await hashFiles(repo, await expand(repo, LAYER_INPUTS.modules)),
  }, async () => {
    const installed = await installModules(repo, p, await getNode(), EXTERNAL, work, cacheDir);
    return { tree: await modulesTree(installed, p, IMAGE.appDir.slice(1)), meta: installed.packages };
  });

  const app = await layer(ctx, 'app', p, null, async () => ({ tree: await new Tree().addHost(ctx.distDir, `${IMAGE.appDir.slice(1)}/dist`), meta: null }));

  const layers = [base.layer, runtime.layer, modules.layer, app.layer];
  const createdBy: Record<LayerName, string> = {
    base: `lucid image builder: Debian bookworm ${debs.map((d) => `${d.name}=${d.version}`).join(' ')} (libraries, certificates, zoneinfo only), /etc/passwd with ${NONROOT.name} ${NONROOT.uid}`,
    runtime: `lucid image builder: node ${NODE.version} from npm node-linux-${p.npmCpu} (stripped) at ${IMAGE.nodePath}`,
    modules: `lucid image builder: ${IMAGE.appDir}/node_modules for linux/${p.npmCpu} (${(modules.meta as NpmPackage[]).map((m) => m.name).join(', ')})`,
    app: `lucid image builder: ${IMAGE.appDir}/dist (esbuild bundle of appliance/entries and the web UI)`,
  };
  const labels = {
    [ANNOTATION.title]: IMAGE.title,
    [ANNOTATION.description]: IMAGE.description,
    [ANNOTATION.version]: ctx.info.version,
    [ANNOTATION.revision]: ctx.info.revision,
    [ANNOTATION.source]: ctx.info.source,
    [ANNOTATION.created]: isoTime(ctx.info.sourceDateEpoch),
  };
  const config: ImageConfig = {
    architecture: p.platform.architecture,
    os: p.platform.os,
    ...(p.platform.variant ? { variant: p.platform.variant } : {}),
    created: isoTime(ctx.info.sourceDateEpoch),
    config: {
      User: `${NONROOT.uid}:${NONROOT.gid}`,
      Env: [...IMAGE.env],
      Entrypoint: [...IMAGE.entrypoint],
      WorkingDir: IMAGE.appDir,
      ExposedPorts: Object.fromEntries(IMAGE.ports.map((p) => [`${p}/tcp`, {}])),
      Volumes: { [IMAGE.dataDir]: {} },
      StopSignal: 'SIGTERM',
      Labels: labels,
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: LAYER_ORDER.map((name, i) => ({ created: isoTime(layers[i]!.mtime), created_by: createdBy[name], comment: `layer ${name}` })),
  };
  const configDesc = await ctx.layout.writeJson(config, MEDIA_TYPE.config);
  const manifest: ImageManifest = {
    schemaVersion: 2, mediaType: MEDIA_TYPE.manifest, config: configDesc,
    layers: layers.map((l) => l.descriptor), annotations: labels,
  };
  const manifestDesc = await ctx.layout.writeJson(manifest, MEDIA_TYPE.manifest, { platform: p.platform });

  const debInfo = debs;
  const sbomDoc = cycloneDx({
    platform: p, version: ctx.info.version, revision: ctx.info.revision, created: isoTime(ctx.info.sourceDateEpoch),
    manifestDigest: manifestDesc.digest, debs: debInfo,
    node: { version: NODE.version, npmPackage: `node-linux-${p.npmCpu}`, integrity: NODE.integrity[p.arch] },
    modules: modules.meta as NpmPackage[], bundled: ctx.bundled, builderVersion: BUILDER_VERSION,
  });
  const sbomBytes = `${JSON.stringify(sbomDoc, null, 2)}\n`;
  const sbomDesc = await ctx.layout.writeBlob(sbomBytes, SBOM_MEDIA_TYPE, { annotations: { [ANNOTATION.title]: `sbom-${p.arch}.cdx.json` } });
  await writeFile(join(ctx.options.outDir, `sbom-${p.arch}.cdx.json`), sbomBytes);
  await ctx.layout.writeBlob(EMPTY_JSON, MEDIA_TYPE.empty);
  const sbomManifest: ImageManifest = {
    schemaVersion: 2, mediaType: MEDIA_TYPE.manifest, artifactType: SBOM_MEDIA_TYPE,
    config: { mediaType: MEDIA_TYPE.empty, digest: EMPTY_DIGEST, size: 2 },
    layers: [sbomDesc],
    subject: { mediaType: MEDIA_TYPE.manifest, digest: manifestDesc.digest, size: manifestDesc.size },
    annotations: { [ANNOTATION.created]: isoTime(ctx.info.sourceDateEpoch), 'org.opencontainers.image.description': `CycloneDX SBOM of ${IMAGE.name} ${ctx.info.version} for ${p.arch}` },
  };
  const sbomManifestDesc = await ctx.layout.writeJson(sbomManifest, MEDIA_TYPE.manifest, { artifactType: SBOM_MEDIA_TYPE });
  return {
    arch: p.arch, platform: p.platform, manifest: manifestDesc, config: configDesc, sbom: sbomDesc, sbomManifest: sbomManifestDesc,
    layers, debs: debInfo, modules: modules.meta as NpmPackage[],
  };
}

export async function buildImage(options: BuildOptions): Promise<BuildResult> {
  const started = performance.now();
  const log = options.log ?? (() => {});
  const info = await sourceInfo(options.repo, options.env);
  if (info.dirty) log(`warning: uncommitted changes; the image is labelled with ${info.revision.slice(0, 12)} but built from the working tree`);
  await mkdir(options.outDir, { recursive: true });
  const layout = new OciLayout(join(options.outDir, 'oci'));
  await rm(layout.dir, { recursive: true, force: true });
  await layout.init();
  await mkdir(options.workDir, { recursive: true });
  const distDir = join(options.workDir, 'dist');
  await rm(distDir, { recursive: true, force: true });
  const bundled = await bundle({ outDir: distDir, quiet: true, sourcemap: false, sourceDateEpoch: info.sourceDateEpoch, metafile: true });
  const arches = PLATFORMS.filter((x) => !options.platforms || options.platforms.includes(x.arch));
  const ctx: Context = {
    options, info, layout, log, distDir,
    candidates: await resolveDebs(DEBIAN_PACKAGES, arches.map((p) => p.arch), options.cacheDir),
    cache: new LayerCache(join(options.cacheDir, 'layers'), options.layerCache ?? true),
    bundled: await bundledPackages(options.repo, bundled.inputs),
  };

  const platforms: PlatformResult[] = [];
  for (const p of arches) platforms.push(await buildPlatform(ctx, p));
  await ctx.cache.prune();

  const annotations = {
    [ANNOTATION.version]: info.version, [ANNOTATION.revision]: info.revision,
    [ANNOTATION.source]: info.source, [ANNOTATION.created]: isoTime(info.sourceDateEpoch), [ANNOTATION.title]: IMAGE.title,
  };
  const index: ImageIndex = { schemaVersion: 2, mediaType: MEDIA_TYPE.index, manifests: platforms.map((r) => r.manifest), annotations };
  const indexDesc = await layout.writeJson(index, MEDIA_TYPE.index);
  // index.json: the image index under its version; each platform's manifest under
  // `<version>-<arch>` too (umoci cannot pick a platform out of an index: "tag is ambiguous"),
  // and the SBOMs as referrers without a name, the way `oras attach` records artifacts.
  const created = isoTime(info.sourceDateEpoch);
  await layout.writeIndex({
    schemaVersion: 2, mediaType: MEDIA_TYPE.index,
    manifests: [
      { ...indexDesc, annotations: { [ANNOTATION.refName]: info.version, [ANNOTATION.created]: created } },
      ...platforms.map((r) => ({ ...r.manifest, annotations: { [ANNOTATION.refName]: `${info.version}-${r.arch}`, [ANNOTATION.created]: created } })),
      ...platforms.map((r) => r.sbomManifest),
    ],
  });

  let archive: string | null = null;
  if (options.archive ?? true) {
    archive = join(options.outDir, `${IMAGE.name}-${info.version}.oci.tar`);
    await writeArchive(layout, archive, info.sourceDateEpoch);
  }
  const result: BuildResult = {
    version: info.version, revision: info.revision, dirty: info.dirty, created: isoTime(info.sourceDateEpoch), source: info.source,
    layoutDir: layout.dir, archive, index: indexDesc, platforms,
    node: { version: NODE.version, integrity: NODE.integrity }, bundled: ctx.bundled,
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
  await writeFile(join(options.outDir, 'build.json'), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

/** The layout as one uncompressed tar (`oci-archive:` for skopeo), deterministic like the layers. */
async function writeArchive(layout: OciLayout, file: string, mtime: number): Promise<void> {
  const tree = await new Tree().addHost(layout.dir, '');
  await pipeline(Readable.from(tarStream(tree, mtime)), createWriteStream(file));
}
