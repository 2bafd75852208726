// The OCI distribution client (ota/shared/oci) against a real docker-registry on loopback: the
// upload flavours, manifests and indexes by tag and digest, digest checks, and resumable blob
// downloads. One node:http stand-in covers what the real registry never does (ignore a Range).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { freePort } from '../helpers/appliance.js';
import { MEDIA_TYPE, RegistryClient, canonicalJson, sha256Digest, type ImageIndex, type ImageManifest } from '../../ota/shared/oci/index.js';
import { isLucidError } from '../../services/common/errors.js';

let registry: TestRegistry;
let client: RegistryClient;
const dir = mkdtempSync(join(tmpdir(), 'lucid-oci-client-'));
const blob = randomBytes(3 * 1024 * 1024 + 17);
const blobDigest = sha256Digest(blob);

beforeAll(async () => {
  registry = await startRegistry();
  client = new RegistryClient({ registry: registry.url, repository: 'test/ota' });
});
afterAll(async () => {
  await registry?.stop();
});

async function pushImage(tag: string, arch: string): Promise<{ digest: string; size: number }> {
  const config = Buffer.from(canonicalJson({ architecture: arch, os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  await client.pushBlob(sha256Digest(config), config);
  await client.pushBlob(blobDigest, blob);
  const manifest: ImageManifest = {
    schemaVersion: 2, mediaType: MEDIA_TYPE.manifest,
    config: { mediaType: MEDIA_TYPE.config, digest: sha256Digest(config), size: config.length },
    layers: [{ mediaType: MEDIA_TYPE.layerGzip, digest: blobDigest, size: blob.length }],
  };
  const bytes = Buffer.from(canonicalJson(manifest));
  return { digest: await client.pushManifest(tag, bytes, MEDIA_TYPE.manifest), size: bytes.length };
}

describe('RegistryClient against docker-registry', () => {
  it('pings, then pushes a blob with POST + PUT ?digest= and skips it the second time', async () => {
    await client.ping();
    expect(await client.blobSize(blobDigest)).toBeNull();
    expect(await client.pushBlob(blobDigest, blob)).toBe('uploaded');
    expect(await client.blobSize(blobDigest)).toBe(blob.length);
    expect(await client.pushBlob(blobDigest, blob)).toBe('exists');
    expect((await client.getBlob(blobDigest)).equals(blob)).toBe(true);
  });

  it('uploads in PATCH chunks from a file (the resumable flavour)', async () => {
    const data = randomBytes(1_000_003);
    const file = join(dir, 'chunked.bin');
    writeFileSync(file, data);
    const digest = sha256Digest(data);
    expect(await client.pushBlob(digest, { path: file }, { chunkSize: 256 * 1024 })).toBe('uploaded');
    expect((await client.getBlob(digest)).equals(data)).toBe(true);
  });

  it('mounts a blob from another repository without uploading it', async () => {
    const other = new RegistryClient({ registry: registry.url, repository: 'test/other' });
    expect(await other.mountBlob(blobDigest, 'test/ota')).toBe(true);
    expect(await other.blobSize(blobDigest)).toBe(blob.length);
  });

  it('pushes manifests and an index (children first) and reads them back by tag and digest', async () => {
    const amd = await pushImage('1.0.0-amd64', 'amd64');
    const arm = await pushImage('1.0.0-arm64', 'arm64');
    const index: ImageIndex = {
      schemaVersion: 2, mediaType: MEDIA_TYPE.index,
      manifests: [
        { mediaType: MEDIA_TYPE.manifest, ...amd, platform: { architecture: 'amd64', os: 'linux' } },
        { mediaType: MEDIA_TYPE.manifest, ...arm, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
      ],
    };
    const bytes = Buffer.from(canonicalJson(index));
    const digest = await client.pushManifest('1.0.0', bytes, MEDIA_TYPE.index);
    expect(digest).toBe(sha256Digest(bytes));
    // By digest too: the registry needs the index type in Accept even then (the client sends it).
    for (const ref of ['1.0.0', digest]) {
      const got = await client.getManifest(ref);
      expect(got.digest).toBe(digest);
      expect(got.mediaType).toBe(MEDIA_TYPE.index);
      expect(got.bytes.equals(bytes)).toBe(true);
    }
    expect((await client.tags()).sort()).toEqual(['1.0.0', '1.0.0-amd64', '1.0.0-arm64']);
  });

  it('refuses an index naming a manifest the registry does not have', async () => {
    const index = Buffer.from(canonicalJson({
      schemaVersion: 2, mediaType: MEDIA_TYPE.index,
      manifests: [{ mediaType: MEDIA_TYPE.manifest, digest: sha256Digest('missing'), size: 7, platform: { architecture: 'amd64', os: 'linux' } }],
    }));
    const err = await client.pushManifest('broken', index, MEDIA_TYPE.index).catch((e: unknown) => e);
    expect(isLucidError(err, 'OCI_ERR_HTTP')).toBe(true);
    expect(String((err as { details: { body: string } }).details.body)).toContain('MANIFEST_BLOB_UNKNOWN');
  });

  it('reports unknown manifests as OCI_ERR_NOT_FOUND and checks digests it is given', async () => {
    const missing = await client.getManifest(sha256Digest('nope')).catch((e: unknown) => e);
    expect(isLucidError(missing, 'OCI_ERR_NOT_FOUND')).toBe(true);
    const bytes = Buffer.from('{"schemaVersion":2}');
    const wrong = await client.pushManifest(sha256Digest('other bytes'), bytes, MEDIA_TYPE.manifest).catch((e: unknown) => e);
    expect(isLucidError(wrong, 'OCI_ERR_DIGEST_MISMATCH')).toBe(true);
    const bad = await client.getBlob('sha256:xyz').catch((e: unknown) => e);
    expect(isLucidError(bad, 'OCI_ERR_BAD_DIGEST')).toBe(true);
  });

  it('downloads a blob durably and resumes a partial download with Range + If-Range', async () => {
    const dest = join(dir, 'whole.bin');
    const first = await client.downloadBlob(blobDigest, blob.length, dest);
    expect(first.resumedFrom).toBe(0);
    expect(readFileSync(dest).equals(blob)).toBe(true);

    const resumed = join(dir, 'resumed.bin');
    writeFileSync(`${resumed}.part`, blob.subarray(0, 1_000_000));
    const progress: number[] = [];
    const second = await client.downloadBlob(blobDigest, blob.length, resumed, { onProgress: (n) => progress.push(n) });
    expect(second.resumedFrom).toBe(1_000_000);
    expect(progress[0]).toBeGreaterThan(1_000_000);
    expect(readFileSync(resumed).equals(blob)).toBe(true);
    expect(existsSync(`${resumed}.part`)).toBe(false);
  });

  it('never asks past the end: a complete .part is verified without a request, a longer one restarts', async () => {
    const complete = join(dir, 'complete.bin');
    writeFileSync(`${complete}.part`, blob);
    expect((await client.downloadBlob(blobDigest, blob.length, complete)).resumedFrom).toBe(blob.length);
    const longer = join(dir, 'longer.bin');
    writeFileSync(`${longer}.part`, Buffer.concat([blob, Buffer.from('extra')]));
    expect((await client.downloadBlob(blobDigest, blob.length, longer)).resumedFrom).toBe(0);
    expect(readFileSync(longer).equals(blob)).toBe(true);
  });

  it('rejects a partial file with wrong bytes, keeps nothing, and succeeds on the next try', async () => {
    const dest = join(dir, 'corrupt.bin');
    const part = Buffer.from(blob.subarray(0, 500_000));
    part[1234] = part[1234]! ^ 0xff;
    writeFileSync(`${dest}.part`, part);
    const err = await client.downloadBlob(blobDigest, blob.length, dest).catch((e: unknown) => e);
    expect(isLucidError(err, 'OCI_ERR_DIGEST_MISMATCH')).toBe(true);
    expect(existsSync(dest)).toBe(false);
    expect(statSync(`${dest}.part`).size).toBe(0);
    await client.downloadBlob(blobDigest, blob.length, dest);
    expect(readFileSync(dest).equals(blob)).toBe(true);
  });
});

describe('RegistryClient against a server that ignores Range', () => {
  let server: Server;
  let url: string;
  const data = randomBytes(200_000);
  const digest = sha256Digest(data);
  const ranges: Array<string | undefined> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      ranges.push(req.headers.range);
      if (req.url === `/v2/x/blobs/${digest}`) {
        res.writeHead(200, { 'content-length': String(data.length) });
        res.end(data);
      } else if (req.url === `/v2/x/blobs/${sha256Digest('short')}`) {
        res.writeHead(200, { 'content-length': '10' });
        res.end(data.subarray(0, 10));
      } else {
        res.writeHead(404).end();
      }
    });
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    url = `http://127.0.0.1:${port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('starts over when a resume request gets the whole blob (200) instead of 206', async () => {
    const c = new RegistryClient({ registry: url, repository: 'x' });
    const dest = join(dir, 'norange.bin');
    writeFileSync(`${dest}.part`, data.subarray(0, 50_000));
    await c.downloadBlob(digest, data.length, dest);
    expect(ranges.at(-1)).toBe('bytes=50000-');
    expect(readFileSync(dest).equals(data)).toBe(true);
  });

  it('fails with OCI_ERR_SIZE_MISMATCH when the body is shorter than the descriptor says', async () => {
    const c = new RegistryClient({ registry: url, repository: 'x' });
    const err = await c.downloadBlob(sha256Digest('short'), 100, join(dir, 'short.bin')).catch((e: unknown) => e);
    expect(isLucidError(err, 'OCI_ERR_SIZE_MISMATCH')).toBe(true);
  });
});
