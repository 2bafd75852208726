// `./build.sh release …` as a release manager runs it (the CLI through tsx, as build.sh does):
// init with a 2-of-3 root, sign an image (pushed to a real docker-registry), refresh the
// timestamp, rotate keys (root included), publish to a folder, write an offline bundle — and a
// device verifies what came out, online and from the bundle.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../helpers/appliance.js';
import { applianceLayers, makeTestImage, type TestImage } from '../../helpers/ota-layout.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { startStaticServer, type StaticServer } from '../../helpers/static-server.js';
import { checkRelease } from '../../../ota/client/trust/tuf-check.js';
import { bundleSource, httpSource } from '../../../ota/client/trust/bundle-fetcher.js';
import { TimeFloor } from '../../../ota/client/trust/time-floor.js';
import { BundleReader } from '../../../ota/shared/release/bundle-format.js';
import { RegistryClient } from '../../../ota/shared/oci/index.js';

let work: string;
let image: TestImage;
let registry: TestRegistry;
let server: StaticServer;
const repo = (): string => join(work, 'repo');
const cli = (...args: string[]): string => execFileSync(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'ota/release/cli.ts'), ...args, '--repo', repo()], { encoding: 'utf8', cwd: ROOT });

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'lucid-release-cli-'));
  image = await makeTestImage({ version: '1.2.0', layers: applianceLayers('1.2.0'), dir: join(work, 'image') });
  registry = await startRegistry();
  server = await startStaticServer(join(work, 'www'));
});
afterAll(async () => {
  await server.stop();
  await registry.stop();
  rmSync(work, { recursive: true, force: true });
});

const device = (name: string, source = httpSource(server.url)): Parameters<typeof checkRelease>[0] => ({
  dir: join(work, name, 'tuf'), shippedRoot: readFileSync(join(repo(), 'metadata/1.root.json')), floor: new TimeFloor(join(work, name, 'floor.json'), 0), channel: 'stable', source,
});

describe('./build.sh release', () => {
  it('init, sign, publish: a device verifies the release and finds the image in the registry', async () => {
    expect(cli('init', '--root-keys', '3', '--root-threshold', '2', '--expires', 'timestamp=2d')).toMatch(/root 2 of 3/);
    expect(readdirSync(join(repo(), 'keys/root'))).toHaveLength(3);
    for (const f of readdirSync(join(repo(), 'keys/root'))) expect(statSync(join(repo(), 'keys/root', f)).mode & 0o777).toBe(0o600);
    const signed = cli('sign', '--image', image.dir, '--channel', 'stable', '--min-version', '1.0.0', '--registry', registry.url, '--repository', 'lucid/appliance', '--notes', 'first');
    expect(signed).toMatch(/signed stable 1\.2\.0 \(from 1\.0\.0\)/);
    expect(cli('publish', '--out', join(work, 'www'))).toMatch(/published \d+ files/);
    expect(existsSync(join(work, 'www/keys'))).toBe(false);
    const r = await checkRelease(device('d1'));
    expect(r.doc).toMatchObject({ version: '1.2.0', minVersion: '1.0.0', notes: 'first', source: { registry: registry.url, repository: 'lucid/appliance' } });
    const client = new RegistryClient({ registry: registry.url, repository: 'lucid/appliance' });
    expect((await client.getManifest(r.doc.image.digest)).digest).toBe(image.index.digest);
    expect(r.doc.platforms.map((p) => p.architecture).sort()).toEqual(['amd64', 'arm64']);
  });

  it('timestamp and rotate (timestamp key, then root): devices follow', async () => {
    const before = JSON.parse(readFileSync(join(repo(), 'metadata/timestamp.json'), 'utf8')).signed.version as number;
    expect(cli('timestamp', '--expires', '12h')).toMatch(new RegExp(`timestamp version ${before + 1}`));
    expect(cli('rotate', '--role', 'timestamp')).toMatch(/rotated timestamp/);
    expect(cli('rotate', '--role', 'root', '--key-count', '2', '--threshold', '2')).toMatch(/root version 3/);
    expect(readdirSync(join(repo(), 'keys/retired/root'))).toHaveLength(3);
    cli('publish', '--out', join(work, 'www'));
    expect((await checkRelease(device('d1'))).rootVersion).toBe(3);
    expect((await checkRelease(device('d2'))).rootVersion).toBe(3);
    expect(cli('status')).toMatch(/root +v3[\s\S]*target stable\/release\.json: 1\.2\.0/);
  });

  it('bundle: one file with the metadata and one platform\'s blobs, verified offline', async () => {
    const out = join(work, 'offline.lucid-bundle');
    expect(cli('bundle', '--image', image.dir, '--platform', 'arm64', '--out', out)).toMatch(/1\.2\.0 for arm64/);
    const bundle = await BundleReader.open(out);
    expect(bundle.names().filter((n) => n.startsWith('metadata/')).sort()).toEqual(expect.arrayContaining(['metadata/1.root.json', 'metadata/2.root.json', 'metadata/3.root.json', 'metadata/timestamp.json']));
    expect(bundle.has(`blobs/sha256/${image.layers['arm64']![3]!.digest.slice(7)}`)).toBe(true);
    expect(bundle.has(`blobs/sha256/${image.layers['amd64']![1]!.digest.slice(7)}`)).toBe(false);
    // A device that has only the shipped root walks the root chain inside the bundle.
    const r = await checkRelease(device('offline', bundleSource(bundle)));
    expect(r.doc.version).toBe('1.2.0');
    expect(r.rootVersion).toBe(3);
  });

  it('refuses a threshold that cannot be met, and a second init', () => {
    expect(() => execFileSync(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'ota/release/cli.ts'), 'init', '--repo', join(work, 'bad'), '--root-keys', '1', '--root-threshold', '2'], { stdio: 'pipe' })).toThrow(/threshold 2 of 1/);
    expect(() => execFileSync(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'ota/release/cli.ts'), 'init', '--repo', repo()], { stdio: 'pipe' })).toThrow(/already holds a repository/);
  });
});
