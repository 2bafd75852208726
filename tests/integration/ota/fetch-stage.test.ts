// Fetching and staging a release on a device (the agent's steps, without a process tree): only
// the missing blobs come over the network (Range resume included), everything is checked against
// the signed release, and the attacks of issue 21 §4 on the image side — a layer whose digest
// does not match, an oversized blob, a release for another architecture or above the device's
// reach, a tar that escapes its slot, a bundle whose metadata is fine but whose layers are not —
// are refused before anything can boot.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, statSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { BlobStore } from '../../../ota/client/fetch/blob-store.js';
import { fetchImage } from '../../../ota/client/fetch/fetch-image.js';
import { bundleImageSource, registrySource } from '../../../ota/client/fetch/sources.js';
import { SlotStore } from '../../../ota/client/slots/slot-store.js';
import { stageSlot } from '../../../ota/client/slots/stage.js';
import { describeImage, signRelease } from '../../../ota/release/release-build.js';
import { ReleaseRepo } from '../../../ota/release/repo.js';
import { currentRelease, writeBundle } from '../../../ota/release/bundle-writer.js';
import { BundleReader } from '../../../ota/shared/release/bundle-format.js';
import { platformFor, type ReleaseDoc } from '../../../ota/shared/release/release-doc.js';
import { OciLayout, digestHex, type ImageConfig } from '../../../ota/shared/oci/index.js';
import { applianceLayers, makeTestImage, type TestImage } from '../../helpers/ota-layout.js';
import { startStaticServer, type StaticServer } from '../../helpers/static-server.js';

const REPO_NAME = 'lucid/appliance';
let work: string;
let server: StaticServer;
let v1: TestImage;
let v2: TestImage;
let repo: ReleaseRepo;

/** A layout served the way a registry answers GETs by digest (what the device asks for). */
function serveAsRegistry(image: TestImage): void {
  for (const kind of ['manifests', 'blobs']) mkdirSync(join(work, 'www/v2', REPO_NAME, kind), { recursive: true });
  for (const name of readdirSync(join(image.dir, 'blobs/sha256'))) {
    for (const kind of ['manifests', 'blobs']) {
      const to = join(work, 'www/v2', REPO_NAME, kind, `sha256:${name}`);
      if (!existsSync(to)) linkSync(join(image.dir, 'blobs/sha256', name), to);
    }
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'lucid-fetch-'));
  v1 = await makeTestImage({ version: '1.0.0', layers: applianceLayers('1.0.0'), dir: join(work, 'v1') });
  // Incompressible content, so the app layer is big enough to be cut in the middle.
  const big = randomBytes(300_000).toString('base64');
  v2 = await makeTestImage({ version: '2.0.0', layers: applianceLayers('2.0.0', { appFiles: { 'app/dist/big.bin': big } }), dir: join(work, 'v2') });
  serveAsRegistry(v1);
  serveAsRegistry(v2);
  server = await startStaticServer(join(work, 'www'));
  repo = await ReleaseRepo.init(join(work, 'repo'));
});
afterAll(async () => {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
});

interface Device { dir: string; store: BlobStore; slots: SlotStore }
let device: Device;
beforeEach(async () => {
  server.intercept = null;
  const dir = mkdtempSync(join(work, 'device-'));
  device = { dir, store: new BlobStore(join(dir, 'data/ota/blobs')), slots: new SlotStore(join(dir, 'host')) };
  // v1 installed in slot a, its blobs in the store (as the installer leaves them).
  const doc = await describeImage(v1.dir);
  const platform = doc.platforms.find((p) => p.architecture === 'amd64')!;
  await device.store.init();
  const layout = new OciLayout(v1.dir);
  for (const d of [doc.index.digest, platform.manifest.digest, platform.config.digest, ...platform.layers.map((l) => l.digest)]) {
    writeFileSync(device.store.path(d), readFileSync(layout.blobPath(d)));
  }
  await stageSlot(device.slots, 'a', device.store, { id: 'install', version: '1.0.0', index: doc.index.digest, platform, config: await layout.readJson<ImageConfig>(platform.config.digest) });
});

async function sign(image: TestImage, version: string, extra: { minVersion?: string } = {}): Promise<ReleaseDoc> {
  return signRelease(repo, { layoutDir: image.dir, channel: 'stable', version, source: { registry: server.url, repository: REPO_NAME }, ...extra });
}

async function fetchAndStage(doc: ReleaseDoc, source = registrySource(doc.source!), slot: 'a' | 'b' = 'b') {
  const platform = platformFor(doc, 'amd64');
  const fetched = await fetchImage(device.store, source, doc, platform, { reserveBytes: 0 });
  const staged = await stageSlot(device.slots, slot, device.store, { id: `job-${doc.version}`, version: doc.version, index: doc.image.digest, platform, config: fetched.config });
  return { fetched, staged };
}

describe('fetch and stage', () => {
  it('downloads only the changed layer, and the next update into the other slot keeps the shared layers', async () => {
    const doc = await sign(v2, '2.0.0');
    const { fetched, staged } = await fetchAndStage(doc);
    const app = v2.layers['amd64']!.at(-1)!;
    expect(fetched.skipped).toBe(3);
    expect(fetched.transferred).toBeLessThanOrEqual(1.1 * app.size + 4096);
    expect(fetched.transferred).toBeGreaterThanOrEqual(app.size);
    expect(staged).toEqual({ kept: 0, applied: 4 }); // slot b was empty
    expect(readFileSync(join(device.slots.rootfs('b'), 'app/dist/version.txt'), 'utf8')).toBe('2.0.0\n');
    expect(await device.slots.readyId('b')).toBe('job-2.0.0');
    // v3 into slot a (which holds v1): base, runtime and modules stay, only the app layer is redone.
    const v3 = await makeTestImage({ version: '3.0.0', layers: applianceLayers('3.0.0'), dir: join(work, 'v3') });
    serveAsRegistry(v3);
    const third = await fetchAndStage(await sign(v3, '3.0.0'), undefined, 'a');
    expect(third.staged).toEqual({ kept: 3, applied: 1 });
    expect(readFileSync(join(device.slots.rootfs('a'), 'app/dist/version.txt'), 'utf8')).toBe('3.0.0\n');
    expect(existsSync(join(device.slots.rootfs('a'), 'app/dist/big.bin'))).toBe(false);
  });

  it('stages with the image\'s modes whatever the umask (the unit runs the agent with UMask=0077)', async () => {
    const before = process.umask(0o077);
    try {
      await fetchAndStage(await sign(v2, '2.0.0'));
    } finally {
      process.umask(before);
    }
    const rootfs = device.slots.rootfs('b');
    expect(statSync(rootfs).mode & 0o7777).toBe(0o755); // the slot's `/`: uid 65532 must resolve paths in it once root owns it
    expect(statSync(join(rootfs, 'app/dist')).mode & 0o7777).toBe(0o755);
    expect(statSync(join(rootfs, 'app/dist/version.txt')).mode & 0o7777).toBe(0o644);
  });

  it('resumes an interrupted layer download with Range', async () => {
    const doc = await sign(v2, '2.0.0');
    const app = v2.layers['amd64']!.at(-1)!;
    let cut = true;
    server.intercept = (p) => {
      if (cut && p.endsWith(`/blobs/${app.digest}`)) {
        cut = false;
        return readFileSync(new OciLayout(v2.dir).blobPath(app.digest)).subarray(0, Math.floor(app.size / 2)); // a short body: connection "dropped"
      }
      return undefined;
    };
    await expect(fetchAndStage(doc)).rejects.toMatchObject({ code: 'OCI_ERR_SIZE_MISMATCH' });
    server.requests.length = 0;
    const again = await fetchAndStage(doc);
    expect(again.fetched.transferred).toBeLessThan(app.size * 0.6);
    expect(server.requests.some((r) => r.includes(app.digest))).toBe(true);
    expect(readFileSync(join(device.slots.rootfs('b'), 'app/dist/big.bin'), 'utf8')).toHaveLength(400_000);
  });

  it('refuses a layer whose digest does not match, and stages nothing', async () => {
    const doc = await sign(v2, '2.0.0');
    const app = v2.layers['amd64']!.at(-1)!;
    const bytes = Buffer.from(readFileSync(new OciLayout(v2.dir).blobPath(app.digest)));
    bytes[bytes.length - 10]! ^= 0xff;
    server.intercept = (p) => (p.endsWith(`/blobs/${app.digest}`) ? bytes : undefined);
    await expect(fetchAndStage(doc)).rejects.toMatchObject({ code: 'OCI_ERR_DIGEST_MISMATCH' });
    expect(await device.store.has(app.digest, app.size)).toBe(false);
    expect(await device.slots.readyId('b')).toBeNull();
  });

  it('refuses an oversized blob: never more bytes than the signed size', async () => {
    const doc = await sign(v2, '2.0.0');
    const app = v2.layers['amd64']!.at(-1)!;
    const huge = Buffer.concat([readFileSync(new OciLayout(v2.dir).blobPath(app.digest)), Buffer.alloc(5 * 1024 * 1024)]);
    server.intercept = (p) => (p.endsWith(`/blobs/${app.digest}`) ? huge : undefined);
    await expect(fetchAndStage(doc)).rejects.toMatchObject({ code: 'OCI_ERR_SIZE_MISMATCH' });
    expect(await device.store.partial(app.digest)).toBeLessThanOrEqual(app.size);
  });

  it('checks free space before the first byte', async () => {
    const doc = await sign(v2, '2.0.0');
    server.requests.length = 0;
    await expect(fetchImage(device.store, registrySource(doc.source!), doc, platformFor(doc, 'amd64'), { reserveBytes: Number.MAX_SAFE_INTEGER / 2 }))
      .rejects.toMatchObject({ code: 'OTA_ERR_NO_SPACE' });
    expect(server.requests.filter((r) => r.includes('/blobs/'))).toEqual([]);
  });

  it('refuses a release for another architecture, and an image whose config lies about its architecture', async () => {
    const arm = await makeTestImage({ version: '4.0.0', architectures: ['arm64'], layers: applianceLayers('4.0.0'), dir: join(work, 'arm') });
    serveAsRegistry(arm);
    const doc = await sign(arm, '4.0.0');
    expect(() => platformFor(doc, 'amd64')).toThrow(expect.objectContaining({ code: 'OTA_ERR_NO_PLATFORM' }));
    const liar = await makeTestImage({ version: '5.0.0', architectures: ['amd64'], layers: applianceLayers('5.0.0'), configArch: () => 'arm64', dir: join(work, 'liar') });
    serveAsRegistry(liar);
    const lying = await sign(liar, '5.0.0');
    await expect(fetchImage(device.store, registrySource(lying.source!), lying, lying.platforms[0]!, { reserveBytes: 0 })).rejects.toMatchObject({ code: 'OTA_ERR_NO_PLATFORM' });
  });

  it('refuses a signed layer whose tar escapes its slot, writing nothing outside', async () => {
    const outside = join(device.dir, 'outside');
    mkdirSync(outside);
    const evil = await makeTestImage({
      version: '6.0.0', architectures: ['amd64'], dir: join(work, 'evil'),
      layers: (a) => [...applianceLayers('6.0.0')(a).slice(0, 3), { name: 'app', entries: [{ path: 'app/x', type: 'symlink', linkname: '../../../../outside' }, { path: 'app/x/pwned', data: Buffer.from('!') }] }],
    });
    serveAsRegistry(evil);
    await expect(fetchAndStage(await sign(evil, '6.0.0'))).rejects.toMatchObject({ code: 'OTA_ERR_TAR_ESCAPE' });
    expect(readdirSync(outside)).toEqual([]);
    expect(await device.slots.readyId('b')).toBeNull();
    expect((await device.slots.read('b')).state).toBe('empty');
  });

  it('a bundle whose metadata is fine but whose layer is not is refused at the digest check', async () => {
    await sign(v2, '2.0.0');
    const file = join(device.dir, 'v2.lucid-bundle');
    await writeBundle(repo, { channel: 'stable', layoutDir: v2.dir, out: file, architectures: ['amd64'] });
    const app = v2.layers['amd64']!.at(-1)!;
    // Flip one byte inside the app layer's entry (the metadata and every other entry untouched).
    const reader = await BundleReader.open(file);
    const raw = readFileSync(file);
    const entry = `blobs/sha256/${digestHex(app.digest)}`;
    const at = raw.indexOf(Buffer.from(entry)) + 512 + 200;
    raw[at]! ^= 0x01;
    writeFileSync(file, raw);
    expect(reader.has(entry)).toBe(true);
    const { doc: release } = await currentRelease(repo, 'stable');
    await expect(fetchAndStage(release, bundleImageSource(await BundleReader.open(file)))).rejects.toMatchObject({ code: 'OCI_ERR_DIGEST_MISMATCH' });
    expect(await device.slots.readyId('b')).toBeNull();
  });
});
