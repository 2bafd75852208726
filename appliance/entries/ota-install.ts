// `node ota-install.mjs --archive IMAGE.oci.tar [--arch A] [--host-dir D] [--data-dir D] [--slot a]`
// The first install of a device, by the same code the OTA agent stages updates with: this
// platform's blobs from the image archive (`./build.sh image` → out/image/*.oci.tar) or an OCI
// layout (--layout DIR) into the agent's blob store, then the image unpacked into the slot with
// its layer records — so the first update downloads only the layers that changed. The host's
// installer (the .deb) runs it with the image's own node, then `lucid-ota-boot.sh init a`.
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { join, resolve } from 'node:path';
import { BlobStore } from '../../ota/client/fetch/blob-store.js';
import { SlotStore, type SlotName } from '../../ota/client/slots/slot-store.js';
import { stageSlot } from '../../ota/client/slots/stage.js';
import { BundleReader } from '../../ota/shared/release/bundle-format.js';
import { ociArch } from '../../ota/shared/release/release-doc.js';
import { MEDIA_TYPE, OciLayout, digestHex, type ImageConfig, type ImageIndex, type ImageManifest } from '../../ota/shared/oci/index.js';

function args(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i]!;
    if (!k.startsWith('--') || argv[i + 1] === undefined) throw new Error(`bad argument ${k} (see the header of ota-install)`);
    out.set(k.slice(2), argv[i + 1]!);
  }
  return out;
}

async function main(): Promise<void> {
  const a = args(process.argv.slice(2));
  const arch = a.get('arch') ?? ociArch();
  const hostDir = resolve(a.get('host-dir') ?? '/var/lib/lucid');
  const dataDir = resolve(a.get('data-dir') ?? join(hostDir, 'data'));
  const slot = (a.get('slot') ?? 'a') as SlotName;
  if (slot !== 'a' && slot !== 'b') throw new Error('--slot must be a or b');
  const archive = a.get('archive');
  const layoutDir = a.get('layout');
  if (!archive === !layoutDir) throw new Error('give --archive FILE.oci.tar or --layout DIR');
  const tar = archive ? await BundleReader.open(resolve(archive), { maxEntries: 100_000 }) : null;
  const layout = layoutDir ? new OciLayout(resolve(layoutDir)) : null;
  const readJson = async <T>(path: string): Promise<T> => {
    const bytes = tar ? await tar.read(path, 16 * 1024 * 1024) : await readFile(join(layout!.dir, path));
    if (!bytes) throw new Error(`${path} is not in the image`);
    return JSON.parse(bytes.toString('utf8')) as T;
  };
  const blob = (digest: string): string => `blobs/sha256/${digestHex(digest)}`;

  const top = await readJson<ImageIndex>('index.json');
  const indexDesc = top.manifests.find((d) => d.mediaType === MEDIA_TYPE.index);
  if (!indexDesc) throw new Error('the image has no image index');
  const index = await readJson<ImageIndex>(blob(indexDesc.digest));
  const mDesc = index.manifests.find((d) => d.platform?.architecture === arch && d.platform.os === 'linux');
  if (!mDesc) throw new Error(`the image has no linux/${arch} manifest`);
  const manifest = await readJson<ImageManifest>(blob(mDesc.digest));
  const config = await readJson<ImageConfig>(blob(manifest.config.digest));
  const version = index.annotations?.['org.opencontainers.image.version'] ?? config.config.Labels?.['org.opencontainers.image.version'] ?? '0.0.0';

  const store = new BlobStore(join(dataDir, 'ota', 'blobs'));
  await store.init();
  for (const d of [indexDesc, mDesc, manifest.config, ...manifest.layers]) {
    if (await store.has(d.digest, d.size)) continue;
    if (tar) await pipeline(tar.stream(blob(d.digest))!, createWriteStream(store.path(d.digest)));
    else await copyFile(layout!.blobPath(d.digest), store.path(d.digest));
    await store.readVerified(d.digest, d.size).catch(async (err: unknown) => { throw new Error(`blob ${d.digest} does not verify: ${String(err)}`); });
  }
  await mkdir(join(hostDir, 'slots', slot), { recursive: true });
  const platform = {
    architecture: arch, os: 'linux', manifest: { digest: mDesc.digest, size: mDesc.size }, config: { digest: manifest.config.digest, size: manifest.config.size },
    layers: manifest.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })),
    downloadBytes: manifest.layers.reduce((s, l) => s + l.size, 0), unpackedBytes: Number.MAX_SAFE_INTEGER,
  };
  const r = await stageSlot(new SlotStore(hostDir), slot, store, { id: `install-${version}`, version, index: indexDesc.digest, platform, config });
  process.stdout.write(`${JSON.stringify({ installed: version, arch, slot, hostDir, layers: r.applied + r.kept })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`ota-install: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
